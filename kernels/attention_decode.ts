/**
 * Causal attention of one new position per sequence against a KV cache: the decode step of batched sampling
 * (nn/sampler.ts). At position `pos` every sequence b appends its key and value (from the QKV projection of that
 * position) to the cache, then its query attends to cache positions 0..pos:
 *
 *   y[b, h] = Σ_{s ≤ pos} softmax_s(q·k_s / sqrt(hd)) · v_s
 *
 * which is row `pos` of the training forward's causal attention (kernels/attention.ts) over the same sequence, so
 * a decode agrees with a full forward pass (the tests check both against `attentionForwardCpu`).
 *
 * Layout: the cache of one layer is [B, H, Tc, hd] (Tc ≥ pos + 1 positions), so the keys one query reads are
 * contiguous. One invocation per (sequence, head) appends the row and then runs an online softmax over the visible
 * keys in ascending order, with q and the accumulators in registers: hd/4 vec4s when hd % 4 == 0, else hd scalars
 * (the code is specialised per head size). The arithmetic is the fused training kernel's (kernels/attention_fused.ts:
 * q scaled first, the same dot order, the same running max and sums), so a decode step's output equals the full
 * forward's bit for bit on the same adapter, as long as the two stay in step; the tests compare within a tolerance
 * and report whether they are equal. Every sum runs in a fixed order, so the result is reproducible; no atomics.
 *
 * @example
 * ```ts
 * // qkv [B, 3C] of position pos; kCache, vCache [B, H, Tc, hd]; y [B, C]
 * attentionDecode(enc, heads, { qkv, kCache, vCache, y }, pos);
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, Kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

const WG = 64;
const kernels = new Map<number, Kernel>();
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The kernel for head size hd: n terms of type vec4 (hd % 4 == 0) or f32 per head row. */
function decodeKernel(hd: number): Kernel {
  let k = kernels.get(hd);
  if (k) return k;
  const vec = hd % 4 === 0, n = vec ? hd / 4 : hd, ty = vec ? "vec4<f32>" : "f32";
  const r = range(n);
  const dot = (i: number) => (vec ? `dot(q${i}, kc[ko + ${i}u])` : `q${i} * kc[ko + ${i}u]`);
  k = new Kernel({
    name: `attention_decode_hd${hd}`,
    buffers: { qkv: `read:${ty}`, kc: `rw:${ty}`, vc: `rw:${ty}`, y: `rw:${ty}` },
    // c: C in terms of the build; tc: cache positions per (b, h); bh: B·H invocations.
    params: { bh: "u32", heads: "u32", c: "u32", tc: "u32", pos: "u32", scale: "f32" },
    code: FLAT_ID_WGSL + /* wgsl */ `
const N: u32 = ${n}u;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat_id(g, nw, ${WG}u);
  if (i >= p.bh) { return; }
  let b = i / p.heads;
  let h = i - b * p.heads;
  let qo = b * 3u * p.c + h * N; // q of (b, h) in the QKV row of b
  let co = i * p.tc * N; // cache row 0 of (b, h)
  let wo = co + p.pos * N; // cache row pos
  ${r.map((j) => `kc[wo + ${j}u] = qkv[qo + p.c + ${j}u];`).join("\n  ")}
  ${r.map((j) => `vc[wo + ${j}u] = qkv[qo + 2u * p.c + ${j}u];`).join("\n  ")}
  ${r.map((j) => `let q${j} = qkv[qo + ${j}u] * p.scale;`).join("\n  ")}
  var m = -3.0e38;
  var l = 0.0;
  ${r.map((j) => `var a${j} = ${ty}(0.0);`).join("\n  ")}
  for (var s = 0u; s <= p.pos; s++) {
    let ko = co + s * N;
    let sc = ${r.map(dot).join(" + ")};
    // Online softmax: rescale the running sums when the maximum grows.
    let mn = max(m, sc);
    let corr = exp(m - mn);
    let e = exp(sc - mn);
    l = l * corr + e;
    ${r.map((j) => `a${j} = a${j} * corr + e * vc[ko + ${j}u];`).join("\n    ")}
    m = mn;
  }
  let inv = 1.0 / l;
  let yo = b * p.c + h * N;
  ${r.map((j) => `y[yo + ${j}u] = a${j} * inv;`).join("\n  ")}
}`,
  });
  kernels.set(hd, k);
  return k;
}

/** Buffers of {@link attentionDecode}. */
export interface AttentionDecodeBuffers {
  /** [B, 3C]: the QKV projection of position `pos` (q, k, v of every head). */
  qkv: Tensor;
  /** [B, H, Tc, hd] each: keys and values of positions 0..pos-1 on entry; row pos is written. */
  kCache: Tensor;
  vCache: Tensor;
  /** [B, C]: the attention output of position pos, heads concatenated. */
  y: Tensor;
}

/** Sizes of a decode step; errors name the operand and the shapes. */
function decodeShape(heads: number, o: AttentionDecodeBuffers, pos: number) {
  const fn = "attentionDecode";
  if (o.qkv.shape.length !== 2 || o.qkv.shape[1] % 3 !== 0) {
    throw new RangeError(`${fn}: qkv ('${o.qkv.label}') must be [B, 3C], got [${o.qkv.shape}]`);
  }
  const [b, c3] = o.qkv.shape, c = c3 / 3;
  if (!Number.isInteger(heads) || heads < 1 || c % heads !== 0) {
    throw new RangeError(`${fn}: C (${c}) must be a positive multiple of heads (${heads})`);
  }
  const hd = c / heads;
  for (const [name, t] of [["kCache", o.kCache], ["vCache", o.vCache]] as const) {
    const [cb, ch, , chd] = t.shape;
    if (t.shape.length !== 4 || cb !== b || ch !== heads || chd !== hd) {
      throw new RangeError(
        `${fn}: ${name} ('${t.label}') must be [B=${b}, H=${heads}, Tc, hd=${hd}], got [${t.shape}]`,
      );
    }
  }
  if (o.kCache.shape[2] !== o.vCache.shape[2]) {
    throw new RangeError(`${fn}: kCache [${o.kCache.shape}] and vCache [${o.vCache.shape}] differ in length`);
  }
  const tc = o.kCache.shape[2];
  if (!Number.isInteger(pos) || pos < 0 || pos >= tc) {
    throw new RangeError(`${fn}: pos must be an integer in [0, Tc=${tc}), got ${pos}`);
  }
  if (o.y.shape.length !== 2 || o.y.shape[0] !== b || o.y.shape[1] !== c) {
    throw new RangeError(`${fn}: y ('${o.y.label}') must be [B=${b}, C=${c}], got [${o.y.shape}]`);
  }
  return { b, c, hd, tc };
}

/** Records the decode attention of position `pos` (1 dispatch): appends k, v to the caches and writes y. */
export function attentionDecode(enc: StepEncoder, heads: number, o: AttentionDecodeBuffers, pos: number): void {
  const { b, c, hd, tc } = decodeShape(heads, o, pos);
  const w = hd % 4 === 0 ? 4 : 1;
  const params = { bh: b * heads, heads, c: c / w, tc, pos, scale: 1 / Math.sqrt(hd) };
  enc.dispatch(decodeKernel(hd), { qkv: o.qkv, kc: o.kCache, vc: o.vCache, y: o.y }, params, grid1d(b * heads, WG));
}

/**
 * CPU reference of {@link attentionDecode} in float64: appends row pos to `kCache` and `vCache` ([B, H, Tc, hd],
 * modified in place) and returns y [B, C]. A plain two-pass softmax (max, then sums), independent of the GPU's
 * online form.
 */
export function attentionDecodeCpu(
  qkv: ArrayLike<number>,
  kCache: Float64Array,
  vCache: Float64Array,
  b: number,
  c: number,
  heads: number,
  tc: number,
  pos: number,
): Float64Array {
  const hd = c / heads, scale = 1 / Math.sqrt(hd);
  const y = new Float64Array(b * c), sc = new Float64Array(pos + 1);
  for (let bi = 0; bi < b; bi++) {
    for (let h = 0; h < heads; h++) {
      const q = bi * 3 * c + h * hd, row0 = (bi * heads + h) * tc * hd;
      for (let d = 0; d < hd; d++) {
        kCache[row0 + pos * hd + d] = qkv[q + c + d];
        vCache[row0 + pos * hd + d] = qkv[q + 2 * c + d];
      }
      let m = -Infinity;
      for (let s = 0; s <= pos; s++) {
        let dot = 0;
        for (let d = 0; d < hd; d++) dot += qkv[q + d] * kCache[row0 + s * hd + d];
        sc[s] = dot * scale;
        m = Math.max(m, sc[s]);
      }
      let sum = 0;
      for (let s = 0; s <= pos; s++) sum += sc[s] = Math.exp(sc[s] - m);
      for (let s = 0; s <= pos; s++) {
        for (let d = 0; d < hd; d++) y[bi * c + h * hd + d] += (sc[s] / sum) * vCache[row0 + s * hd + d];
      }
    }
  }
  return y;
}
