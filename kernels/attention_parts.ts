/**
 * The small kernels of causal attention (kernels/attention.ts puts them together with batched matmuls):
 *
 * - head split / merge: [B, T, P·C] <-> P tensors [B, H, T, hd], the layout a batched matmul over B·H heads needs;
 * - the causal softmax of score rows S [B·H·T, T] in place (row r is query position q = r mod T, which sees keys
 *   0..q; keys after q get probability 0), and its backward dS = P ⊙ (dP − Σ_s P·dP).
 *
 * Each has a vec4 build, used when the row length allows it (hd % 4 == 0 for the heads, T % 4 == 0 for the
 * softmax): a vec4 load pays llvmpipe's per-lane load loop once for four values. Neither build divides an integer
 * per element (llvmpipe divides lane by lane): an invocation owns a whole row.
 *
 * @example
 * ```ts
 * splitHeads(enc, qkv, [q, k, v], heads);     // [B, T, 3C] -> 3 x [B·H, T, hd]
 * causalSoftmax(enc, att);                    // att [B·H, T, T], in place
 * mergeHeads(enc, [yh], y, heads);            // [B·H, T, hd] -> [B, T, C]
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, Kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

const WG = 64;
const cache = new Map<string, Kernel>();

function cached(key: string, make: () => Kernel): Kernel {
  let k = cache.get(key);
  if (!k) cache.set(key, k = make());
  return k;
}

/** split: packed [B, T, P·C] -> P parts [B, H, T, hd]; merge: the reverse. Invocation (t, h, b) moves one row. */
function headsKernel(dir: "split" | "merge", parts: number, w: 1 | 4): Kernel {
  return cached(`${dir}${parts}x${w}`, () => {
    const T = w === 4 ? "vec4<f32>" : "f32";
    const idx = Array.from({ length: parts }, (_, i) => i);
    const buffers: Record<string, string> = {};
    if (dir === "split") buffers.packed = `read:${T}`;
    for (const i of idx) buffers[`h${i}`] = `${dir === "split" ? "rw" : "read"}:${T}`;
    if (dir === "merge") buffers.packed = `rw:${T}`;
    const moves = idx.map((i) =>
      dir === "split" ? `h${i}[o + d] = packed[s + ${i}u * p.c + d];` : `packed[s + ${i}u * p.c + d] = h${i}[o + d];`
    );
    return new Kernel({
      name: `attention_${dir}_heads${parts}${w === 4 ? "_vec4" : ""}`,
      buffers: buffers as Record<string, "read" | "rw">,
      params: { t: "u32", c: "u32", heads: "u32", hd: "u32" }, // c and hd in elements of the build
      code: /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u) {
  let t = g.x; let h = g.y; let b = g.z;
  if (t >= p.t) { return; }
  let s = (b * p.t + t) * ${parts}u * p.c + h * p.hd; // row (b, t), head h, in the packed tensor
  let o = ((b * p.heads + h) * p.t + t) * p.hd; // row (b, h, t) of a part
  for (var d = 0u; d < p.hd; d++) {
    ${moves.join("\n    ")}
  }
}`,
    });
  });
}

/**
 * Forward: one pass for the row max and the sum of exponentials (rescaled when the max grows), one pass writing
 * every probability of the row (0 after the query position). The vec4 build keeps four running (max, sum) pairs
 * and combines them in lane order; lanes past the query hold a finite sentinel, never -inf, so no exp(-inf + inf).
 */
function softmaxKernel(w: 1 | 4): Kernel {
  return cached(`softmax${w}`, () =>
    new Kernel({
      name: `attention_causal_softmax${w === 4 ? "_vec4" : ""}`,
      buffers: { att: w === 4 ? "rw:vec4<f32>" : "rw" },
      params: { rows: "u32", t: "u32" },
      code: FLAT_ID_WGSL + (w === 1
        ? /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let r = flat_id(g, nw, ${WG}u);
  if (r >= p.rows) { return; }
  let base = r * p.t;
  let q = r % p.t; // keys 0..=q are visible
  var m = att[base];
  var sum = 1.0;
  for (var s = 1u; s <= q; s++) {
    let v = att[base + s];
    let mn = max(m, v);
    sum = sum * exp(m - mn) + exp(v - mn);
    m = mn;
  }
  let inv = 1.0 / sum;
  for (var s = 0u; s < p.t; s++) { att[base + s] = select(0.0, exp(att[base + s] - m) * inv, s <= q); }
}`
        : /* wgsl */ `
const LOW: f32 = -3.0e38;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let r = flat_id(g, nw, ${WG}u);
  if (r >= p.rows) { return; }
  let t4 = p.t / 4u;
  let base = r * t4;
  let q = r % p.t;
  let lane = vec4<u32>(0u, 1u, 2u, 3u);
  var m = vec4<f32>(LOW);
  var sum = vec4<f32>(0.0);
  for (var j = 0u; j <= q / 4u; j++) {
    let v = select(vec4<f32>(LOW), att[base + j], 4u * j + lane <= vec4<u32>(q));
    let mn = max(m, v);
    sum = sum * exp(m - mn) + exp(v - mn);
    m = mn;
  }
  let mx = max(max(m.x, m.y), max(m.z, m.w));
  let e = sum * exp(m - vec4<f32>(mx));
  let inv = 1.0 / (e.x + e.y + e.z + e.w);
  for (var j = 0u; j < t4; j++) {
    att[base + j] = select(vec4<f32>(0.0), exp(att[base + j] - vec4<f32>(mx)) * inv, 4u * j + lane <= vec4<u32>(q));
  }
}`),
    }));
}

/**
 * Backward: d = Σ_s P·dP over the visible keys, then dS = P·(dP − d) over the whole row: P is exactly 0 after the
 * query position, so that writes the zeros the next matmuls need without a branch.
 */
function softmaxBackKernel(w: 1 | 4): Kernel {
  const T = w === 4 ? "vec4<f32>" : "f32";
  return cached(`softmaxBack${w}`, () =>
    new Kernel({
      name: `attention_causal_softmax_backward${w === 4 ? "_vec4" : ""}`,
      buffers: { att: `read:${T}`, datt: `rw:${T}` },
      params: { rows: "u32", t: "u32", n: "u32" }, // n: elements of the build per row
      code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let r = flat_id(g, nw, ${WG}u);
  if (r >= p.rows) { return; }
  let base = r * p.n;
  let last = (r % p.t) / ${w}u; // the last element holding a visible key
  var acc = ${T}(0.0);
  for (var j = 0u; j <= last; j++) { acc += att[base + j] * datt[base + j]; }
  let d = ${w === 4 ? "acc.x + acc.y + acc.z + acc.w" : "acc"};
  for (var j = 0u; j < p.n; j++) { datt[base + j] = att[base + j] * (datt[base + j] - ${T}(d)); }
}`,
    }));
}

function heads(enc: StepEncoder, dir: "split" | "merge", packed: Tensor, parts: Tensor[], nHeads: number): void {
  const fn = dir === "split" ? "splitHeads" : "mergeHeads";
  if (packed.shape.length !== 3 || packed.shape[2] % parts.length !== 0) {
    throw new RangeError(
      `${fn}: the packed tensor ('${packed.label}') must be [B, T, ${parts.length}C], got [${packed.shape}]`,
    );
  }
  const [b, t, pc] = packed.shape, c = pc / parts.length;
  if (!Number.isInteger(nHeads) || nHeads < 1 || c % nHeads !== 0 || nHeads > 65535 || b > 65535) {
    throw new RangeError(`${fn}: C (${c}) must be a multiple of heads (${nHeads}); B and heads at most 65535`);
  }
  for (const part of parts) {
    if (part.size !== b * t * c) {
      throw new RangeError(`${fn}: '${part.label}' has ${part.size} values, expected B·T·C = ${b * t * c}`);
    }
  }
  const hd = c / nHeads, w = hd % 4 === 0 ? 4 : 1;
  const bufs: Record<string, Tensor> = { packed };
  parts.forEach((x, i) => bufs[`h${i}`] = x);
  const params = { t, c: c / w, heads: nHeads, hd: hd / w };
  enc.dispatch(headsKernel(dir, parts.length, w), bufs, params, [Math.ceil(t / WG), nHeads, b]);
}

/** parts[i] [B·H, T, hd] = columns [i·C, (i+1)·C) of packed [B, T, P·C], split into heads. */
export function splitHeads(enc: StepEncoder, packed: Tensor, parts: Tensor[], nHeads: number): void {
  heads(enc, "split", packed, parts, nHeads);
}

/** The reverse of {@link splitHeads}: packed [B, T, P·C] from parts [B·H, T, hd]. */
export function mergeHeads(enc: StepEncoder, parts: Tensor[], packed: Tensor, nHeads: number): void {
  heads(enc, "merge", packed, parts, nHeads);
}

function rowsOf(fn: string, att: Tensor): [number, number] {
  const t = att.shape[att.shape.length - 1];
  if (att.shape.length < 2 || att.shape[att.shape.length - 2] !== t) {
    throw new RangeError(`${fn}: '${att.label}' must be [..., T, T], got [${att.shape}]`);
  }
  return [att.size / t, t];
}

/** In place: each row of scores att [..., T, T] becomes the causal softmax of its visible keys. */
export function causalSoftmax(enc: StepEncoder, att: Tensor): void {
  const [rows, t] = rowsOf("causalSoftmax", att);
  const w = t % 4 === 0 ? 4 : 1;
  enc.dispatch(softmaxKernel(w), { att }, { rows, t }, grid1d(rows, WG));
}

/** In place: datt [..., T, T] (∂/∂P) becomes ∂/∂S, given the probabilities att of {@link causalSoftmax}. */
export function causalSoftmaxBackward(enc: StepEncoder, att: Tensor, datt: Tensor): void {
  const [rows, t] = rowsOf("causalSoftmaxBackward", att);
  if (datt.size !== att.size) throw new RangeError(`causalSoftmaxBackward: datt [${datt.shape}] ≠ att [${att.shape}]`);
  const w = t % 4 === 0 ? 4 : 1;
  enc.dispatch(softmaxBackKernel(w), { att, datt }, { rows, t, n: t / w }, grid1d(rows, WG));
}

/** CPU reference of {@link causalSoftmax} (float64): rows of length T, row r sees keys 0..(r mod T). */
export function causalSoftmaxCpu(att: ArrayLike<number>, t: number): Float64Array {
  const out = new Float64Array(att.length);
  for (let base = 0; base < att.length; base += t) {
    const q = (base / t) % t;
    let m = -Infinity, sum = 0;
    for (let s = 0; s <= q; s++) m = Math.max(m, att[base + s]);
    for (let s = 0; s <= q; s++) sum += Math.exp(att[base + s] - m);
    for (let s = 0; s <= q; s++) out[base + s] = Math.exp(att[base + s] - m) / sum;
  }
  return out;
}

/** CPU reference of {@link causalSoftmaxBackward} (float64). */
export function causalSoftmaxBackwardCpu(att: ArrayLike<number>, datt: ArrayLike<number>, t: number): Float64Array {
  const out = new Float64Array(att.length);
  for (let base = 0; base < att.length; base += t) {
    let d = 0;
    for (let s = 0; s < t; s++) d += att[base + s] * datt[base + s];
    for (let s = 0; s < t; s++) out[base + s] = att[base + s] * (datt[base + s] - d);
  }
  return out;
}

/** CPU reference of {@link splitHeads}: the P parts [B, H, T, hd] of packed [B, T, P·C]. */
export function splitHeadsCpu(
  packed: ArrayLike<number>,
  b: number,
  t: number,
  c: number,
  parts: number,
  nHeads: number,
): Float32Array[] {
  const hd = c / nHeads;
  return Array.from({ length: parts }, (_, i) => {
    const out = new Float32Array(b * t * c);
    for (let bi = 0; bi < b; bi++) {
      for (let h = 0; h < nHeads; h++) {
        for (let ti = 0; ti < t; ti++) {
          for (let d = 0; d < hd; d++) {
            out[((bi * nHeads + h) * t + ti) * hd + d] = packed[(bi * t + ti) * parts * c + i * c + h * hd + d];
          }
        }
      }
    }
    return out;
  });
}
