/**
 * Token and position embedding: forward `x[b,t] = wte[tokens[b,t]] + wpe[t]`, and its backward, which accumulates
 * into the gradients of both tables without float atomics.
 *
 * Backward, deterministically (DESIGN.md, "Conventions"): invocation (v, column block) scans all positions in order
 * and adds dx[p] into dwte[v] wherever tokens[p] == v, so every row of dwte has exactly one writer and a fixed
 * summation order (old value, then positions ascending). This reads the tokens V·ceil(C/64) times but moves each
 * dx row once; rows of the token table no position uses are untouched (a vec4 build when C and B·T allow it).
 * dwpe[t] = Σ_b dx[b,t] (b ascending) is done by further invocations of the same dispatch. A token id ≥ vocab makes
 * its row NaN in the forward (reading out of range would silently give another row) and is skipped in the backward.
 *
 * @example
 * ```ts
 * embeddingForward(enc, tokens, wte, wpe, x);          // x [B, T, C]
 * embeddingBackward(enc, tokens, dx, dwte, dwpe);      // dwte [V, C] += ..., dwpe [ctx, C] += ...
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, Kernel, kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

const WG = 256;
/** Columns of dwte one backward invocation owns. */
const COLS = 64;

// One invocation per position (b, t), looping over the C columns: no per-element integer division.
const forwardK = kernel({
  name: "embedding_forward",
  buffers: { tokens: "read:u32", wte: "read", wpe: "read", out: "rw" },
  params: { rows: "u32", t: "u32", c: "u32", vocab: "u32" },
  code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let row = flat_id(g, nw, 64u);
  if (row >= p.rows) { return; }
  let tok = tokens[row];
  let o = row * p.c;
  if (tok >= p.vocab) {
    for (var j = 0u; j < p.c; j++) { out[o + j] = bitcast<f32>(0x7fc00000u + (tok & 0u)); }
    return;
  }
  let e = tok * p.c;
  let q = (row % p.t) * p.c;
  for (var j = 0u; j < p.c; j++) { out[o + j] = wte[e + j] + wpe[q + j]; }
}`,
});

/**
 * Backward builds: w = 4 reads the tokens as vec4<u32> and dx and the gradients as vec4<f32> (when C % 4 == 0 and
 * B·T % 4 == 0), else scalars. Lanes of one SIMD group own different vocabulary rows, so a matched row's add runs
 * masked for the whole group: vec4 adds cut that cost, which dominates the token scan, by four.
 */
function backwardKernel(w: 1 | 4): Kernel {
  const F = w === 4 ? "vec4<f32>" : "f32";
  const scan = w === 4
    ? ["x", "y", "z", "w"].map((k, j) => `if (tk.${k} == v) { add_row(v, 4u * r + ${j}u, c0, c1); }`).join("\n      ")
    : `if (tk == v) { add_row(v, r, c0, c1); }`;
  return new Kernel({
    name: `embedding_backward${w === 4 ? "_vec4" : ""}`,
    buffers: { tokens: w === 4 ? "read:vec4<u32>" : "read:u32", dx: `read:${F}`, dwte: `rw:${F}`, dwpe: `rw:${F}` },
    // c: elements of the build per row; ntok: token elements; block: elements per column block.
    params: { rows: "u32", t: "u32", c: "u32", ntok: "u32", block: "u32", blocks: "u32", nwte: "u32", n: "u32" },
    code: FLAT_ID_WGSL + /* wgsl */ `
fn add_row(v: u32, r: u32, c0: u32, c1: u32) {
  for (var c = c0; c < c1; c++) { dwte[v * p.c + c] += dx[r * p.c + c]; }
}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat_id(g, nw, ${WG}u);
  if (i >= p.n) { return; }
  if (i < p.nwte) {
    // Token-table row v, one column block: one writer, positions in ascending order.
    let v = i / p.blocks;
    let c0 = (i - v * p.blocks) * p.block;
    let c1 = min(c0 + p.block, p.c);
    for (var r = 0u; r < p.ntok; r++) {
      let tk = tokens[r];
      ${scan}
    }
    return;
  }
  // Position-table element (t, c): sum over the batch, b ascending.
  let j = i - p.nwte;
  let pos = j / p.c;
  let col = j - pos * p.c;
  var acc = dwpe[j];
  for (var r = pos; r < p.rows; r += p.t) { acc += dx[r * p.c + col]; }
  dwpe[j] = acc;
}`,
  });
}

const BACKWARD = { 1: backwardKernel(1), 4: backwardKernel(4) } as const;

function check(fn: string, tokens: Tensor, wte: Tensor, wpe: Tensor, x: Tensor): [number, number, number, number] {
  if (tokens.dtype !== "u32" || tokens.shape.length !== 2) {
    throw new TypeError(`${fn}: tokens ('${tokens.label}') must be u32 [B, T], got ${tokens.dtype} [${tokens.shape}]`);
  }
  const [b, t] = tokens.shape;
  if (wte.shape.length !== 2) throw new RangeError(`${fn}: wte must be [V, C], got [${wte.shape}]`);
  const [v, c] = wte.shape;
  if (wpe.shape.length !== 2 || wpe.shape[1] !== c || wpe.shape[0] < t) {
    throw new RangeError(`${fn}: wpe must be [ctx ≥ T=${t}, C=${c}], got [${wpe.shape}]`);
  }
  if (x.size !== b * t * c) throw new RangeError(`${fn}: x must be [B=${b}, T=${t}, C=${c}], got [${x.shape}]`);
  return [b, t, v, c];
}

/** x [B, T, C] = wte[tokens] + wpe[0..T). tokens u32 [B, T], wte [V, C], wpe [ctx, C] with ctx ≥ T. */
export function embeddingForward(enc: StepEncoder, tokens: Tensor, wte: Tensor, wpe: Tensor, x: Tensor): void {
  const [b, t, vocab, c] = check("embeddingForward", tokens, wte, wpe, x);
  enc.dispatch(forwardK, { tokens, wte, wpe, out: x }, { rows: b * t, t, c, vocab }, grid1d(b * t, 64));
}

/** dwte [V, C] += scatter of dx [B, T, C] by tokens; dwpe[0..T) += Σ_b dx[b]. Deterministic. */
export function embeddingBackward(enc: StepEncoder, tokens: Tensor, dx: Tensor, dwte: Tensor, dwpe: Tensor): void {
  const [b, t, vocab, c] = check("embeddingBackward", tokens, dwte, dwpe, dx);
  const w = c % 4 === 0 && (b * t) % 4 === 0 ? 4 : 1;
  const cw = c / w, block = COLS / w, blocks = Math.ceil(cw / block);
  const nwte = vocab * blocks;
  const n = nwte + t * cw;
  const params = { rows: b * t, t, c: cw, ntok: (b * t) / w, block, blocks, nwte, n };
  enc.dispatch(BACKWARD[w], { tokens, dx, dwte, dwpe }, params, grid1d(n, WG));
}

/** CPU reference of {@link embeddingForward} (float64 sums rounded to f32). */
export function embeddingForwardCpu(
  tokens: ArrayLike<number>,
  wte: ArrayLike<number>,
  wpe: ArrayLike<number>,
  t: number,
  vocab: number,
  c: number,
): Float32Array {
  const out = new Float32Array(tokens.length * c);
  for (let r = 0; r < tokens.length; r++) {
    const tok = tokens[r];
    for (let j = 0; j < c; j++) out[r * c + j] = tok < vocab ? wte[tok * c + j] + wpe[(r % t) * c + j] : NaN;
  }
  return out;
}

/** CPU reference of {@link embeddingBackward}: returns the updated [dwte, dwpe]. */
export function embeddingBackwardCpu(
  tokens: ArrayLike<number>,
  dx: ArrayLike<number>,
  dwte: ArrayLike<number>,
  dwpe: ArrayLike<number>,
  t: number,
  c: number,
): [Float64Array, Float64Array] {
  const gte = Float64Array.from(dwte), gpe = Float64Array.from(dwpe);
  for (let r = 0; r < tokens.length; r++) {
    const tok = tokens[r];
    for (let j = 0; j < c; j++) {
      if (tok * c < gte.length) gte[tok * c + j] += dx[r * c + j];
      gpe[(r % t) * c + j] += dx[r * c + j];
    }
  }
  return [gte, gpe];
}
