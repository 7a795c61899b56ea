/**
 * Token and position embedding of one position of every sequence, for the decode step of batched sampling
 * (nn/sampler.ts): x[b] = wte[tokens[b, pos]] + wpe[pos], reading column `pos` of the sequences [B, T] in place, so
 * the sampler never copies a column out. The same sum as the training embedding (kernels/embedding.ts), so a decode
 * step sees bitwise the embedding a full forward pass sees. A token id ≥ vocab makes its row NaN, as there.
 *
 * One invocation per sequence loops over the C columns (vec4s when C % 4 == 0).
 *
 * @example
 * ```ts
 * embeddingAt(enc, tokens, pos, wte, wpe, x); // tokens u32 [B, T]; x [B, C]
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, Kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

const WG = 64;

function embedKernel(w: 1 | 4): Kernel {
  const F = w === 4 ? "vec4<f32>" : "f32";
  return new Kernel({
    name: `embedding_at${w === 4 ? "_vec4" : ""}`,
    buffers: { tokens: "read:u32", wte: `read:${F}`, wpe: `read:${F}`, x: `rw:${F}` },
    params: { b: "u32", t: "u32", pos: "u32", n: "u32", vocab: "u32" }, // n: terms of the build per row
    code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let r = flat_id(g, nw, ${WG}u);
  if (r >= p.b) { return; }
  let tok = tokens[r * p.t + p.pos];
  let o = r * p.n;
  if (tok >= p.vocab) {
    for (var j = 0u; j < p.n; j++) { x[o + j] = ${F}(bitcast<f32>(0x7fc00000u + (tok & 0u))); }
    return;
  }
  let e = tok * p.n;
  let q = p.pos * p.n;
  for (var j = 0u; j < p.n; j++) { x[o + j] = wte[e + j] + wpe[q + j]; }
}`,
  });
}

const KERNELS = { 1: embedKernel(1), 4: embedKernel(4) } as const;

/** Records x [B, C] = wte[tokens[:, pos]] + wpe[pos] (1 dispatch). tokens u32 [B, T]; wte [V, C]; wpe [ctx, C]. */
export function embeddingAt(enc: StepEncoder, tokens: Tensor, pos: number, wte: Tensor, wpe: Tensor, x: Tensor): void {
  const fn = "embeddingAt";
  if (tokens.dtype !== "u32" || tokens.shape.length !== 2) {
    throw new TypeError(`${fn}: tokens ('${tokens.label}') must be u32 [B, T], got ${tokens.dtype} [${tokens.shape}]`);
  }
  const [b, t] = tokens.shape;
  if (wte.shape.length !== 2) throw new RangeError(`${fn}: wte must be [V, C], got [${wte.shape}]`);
  const [vocab, c] = wte.shape;
  if (wpe.shape.length !== 2 || wpe.shape[1] !== c) {
    throw new RangeError(`${fn}: wpe must be [ctx, C=${c}], got [${wpe.shape}]`);
  }
  if (!Number.isInteger(pos) || pos < 0 || pos >= t || pos >= wpe.shape[0]) {
    throw new RangeError(`${fn}: pos must be an integer in [0, min(T=${t}, ctx=${wpe.shape[0]})), got ${pos}`);
  }
  if (x.shape.length !== 2 || x.shape[0] !== b || x.shape[1] !== c) {
    throw new RangeError(`${fn}: x ('${x.label}') must be [B=${b}, C=${c}], got [${x.shape}]`);
  }
  const w = c % 4 === 0 ? 4 : 1;
  enc.dispatch(KERNELS[w], { tokens, wte, wpe, x }, { b, t, pos, n: c / w, vocab }, grid1d(b, WG));
}

/** CPU reference of {@link embeddingAt}: x [B, C] (f32 sums, as the GPU adds two f32 values). */
export function embeddingAtCpu(
  tokens: ArrayLike<number>,
  t: number,
  pos: number,
  wte: ArrayLike<number>,
  wpe: ArrayLike<number>,
  vocab: number,
  c: number,
): Float32Array {
  const b = tokens.length / t, x = new Float32Array(b * c);
  for (let r = 0; r < b; r++) {
    const tok = tokens[r * t + pos];
    for (let j = 0; j < c; j++) x[r * c + j] = tok < vocab ? Math.fround(wte[tok * c + j] + wpe[pos * c + j]) : NaN;
  }
  return x;
}
