/**
 * Per-token quantities of an LM head, from logits [R, V] (R = B·T rows) and explicit targets u32 [R]:
 *
 *   lse[r] = log Σ_v exp(z[r,v]),  logp[r] = z[r, target[r]] − lse[r],  entropy[r] = −Σ_v p log p
 *
 * and their backward: dlogits[r,v] = dlogp[r]·(onehot(target[r])[v] − softmax(z[r])[v]). The entropy is reported
 * (charts/entropy) but not differentiated: no loss in the paper or ReaLHF uses an entropy bonus.
 *
 * Cross-entropy over a loss mask (PAPER.md §9.2, `compute_packed_sft_loss`: NLL over answer tokens only):
 * loss = −Σ m·logp / Σ m, written together with its gradient dlogp = −m / Σ m, in one single-workgroup dispatch
 * that sums in a fixed order. Masked-out positions contribute nothing even when their logp is NaN (a padding
 * target ≥ V gives a NaN logp, so a bad target that is not masked out shows up in the loss).
 *
 * @example
 * ```ts
 * tokenLogprobs(enc, logits, targets, logp, entropy, lse);      // [B, T] each
 * crossEntropyLoss(enc, logp, mask, loss, dlogp);                // loss [1], dlogp [B, T]
 * logitsBackward(enc, logits, targets, lse, dlogp, dlogits);     // dlogits [B, T, V]
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, Kernel, kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

const WG = 64;
const RED = 256;
const NAN_WGSL = `fn nan_f32(x: u32) -> f32 { return bitcast<f32>(0x7fc00000u + (x & 0u)); }`;

/**
 * Builds: vec4 when V % 4 == 0 (a vec4 load pays llvmpipe's per-lane load loop once for four values; the sums are
 * then four interleaved partial sums added in lane order, a fixed order), scalar otherwise. One invocation per row:
 * no per-element integer division, which llvmpipe pays for lane by lane.
 */
function logprobKernel(w: 1 | 4): Kernel {
  const F = w === 4 ? "vec4<f32>" : "f32";
  const h = (x: string) => (w === 4 ? `(${x}.x + ${x}.y + ${x}.z + ${x}.w)` : x);
  return new Kernel({
    name: `token_logprobs${w === 4 ? "_vec4" : ""}`,
    buffers: { logits: `read:${F}`, targets: "read:u32", logp: "rw", entropy: "rw", lse: "rw" },
    params: { rows: "u32", v: "u32", n: "u32" }, // n: elements of the build per row
    code: FLAT_ID_WGSL + NAN_WGSL + /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let r = flat_id(g, nw, ${WG}u);
  if (r >= p.rows) { return; }
  let base = r * p.n;
  var mv = logits[base];
  for (var j = 1u; j < p.n; j++) { mv = max(mv, logits[base + j]); }
  let m = ${w === 4 ? "max(max(mv.x, mv.y), max(mv.z, mv.w))" : "mv"};
  var sv = ${F}(0.0);
  var ezv = ${F}(0.0); // Σ exp(z − m)·(z − m), for the entropy
  for (var j = 0u; j < p.n; j++) { let z = logits[base + j] - ${F}(m); let e = exp(z); sv += e; ezv += e * z; }
  let s = ${h("sv")};
  let ls = log(s);
  lse[r] = m + ls;
  entropy[r] = ls - ${h("ezv")} / s;
  let tgt = targets[r];
  if (tgt < p.v) {
    logp[r] = (logits[base + tgt / ${w}u]${w === 4 ? "[tgt % 4u]" : ""} - m) - ls;
  } else {
    logp[r] = nan_f32(tgt);
  }
}`,
  });
}

function backwardKernel(w: 1 | 4): Kernel {
  const F = w === 4 ? "vec4<f32>" : "f32";
  const col = w === 4 ? "vec4<u32>(4u * j) + vec4<u32>(0u, 1u, 2u, 3u) == vec4<u32>(tgt)" : "j == tgt";
  return new Kernel({
    name: `token_logprobs_backward${w === 4 ? "_vec4" : ""}`,
    buffers: { logits: `read:${F}`, targets: "read:u32", lse: "read", dlogp: "read", dlogits: `rw:${F}` },
    params: { rows: "u32", n: "u32" },
    code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let r = flat_id(g, nw, ${WG}u);
  if (r >= p.rows) { return; }
  let base = r * p.n;
  let tgt = targets[r];
  let d = dlogp[r];
  let l = lse[r];
  for (var j = 0u; j < p.n; j++) {
    dlogits[base + j] = d * (select(${F}(0.0), ${F}(1.0), ${col}) - exp(logits[base + j] - ${F}(l)));
  }
}`,
  });
}

const KERNELS = {
  forward: { 1: logprobKernel(1), 4: logprobKernel(4) },
  backward: { 1: backwardKernel(1), 4: backwardKernel(4) },
} as const;

const crossEntropyK = kernel({
  name: "cross_entropy_loss",
  buffers: { logp: "read", mask: "read", loss: "rw", dlogp: "rw" },
  params: { n: "u32" },
  code: /* wgsl */ `
var<workgroup> rs: array<f32, ${RED}>;
var<workgroup> rc: array<f32, ${RED}>;
@compute @workgroup_size(${RED})
fn main(@builtin(local_invocation_id) lid: vec3u) {
  let l = lid.x;
  var s = 0.0;
  var c = 0.0;
  for (var i = l; i < p.n; i += ${RED}u) {
    let m = mask[i];
    if (m != 0.0) { s += m * logp[i]; c += m; }
  }
  rs[l] = s;
  rc[l] = c;
  for (var h = ${RED / 2}u; h > 0u; h = h >> 1u) {
    workgroupBarrier();
    if (l < h) { rs[l] = rs[l] + rs[l + h]; rc[l] = rc[l] + rc[l + h]; }
  }
  workgroupBarrier();
  let count = rc[0];
  let inv = select(1.0 / count, 0.0, count == 0.0);
  if (l == 0u) { loss[0] = select(-rs[0] * inv, 0.0, count == 0.0); }
  for (var i = l; i < p.n; i += ${RED}u) { dlogp[i] = -mask[i] * inv; }
}`,
});

function rowsOf(fn: string, logits: Tensor, targets: Tensor): [number, number] {
  const v = logits.shape[logits.shape.length - 1];
  const rows = v > 0 ? logits.size / v : 0;
  if (targets.dtype !== "u32") throw new TypeError(`${fn}: targets ('${targets.label}') must be u32`);
  if (targets.size !== rows) {
    throw new RangeError(`${fn}: targets has ${targets.size} values but logits [${logits.shape}] has ${rows} rows`);
  }
  return [rows, v];
}

function sized(fn: string, n: number, ts: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(ts)) {
    if (t.size !== n) throw new RangeError(`${fn}: ${name} ('${t.label}') has ${t.size} values, expected ${n}`);
  }
}

/** logp, entropy, lse [R] from logits [..., V] and targets u32 [R] (R = rows of logits). */
export function tokenLogprobs(
  enc: StepEncoder,
  logits: Tensor,
  targets: Tensor,
  logp: Tensor,
  entropy: Tensor,
  lse: Tensor,
): void {
  const [rows, v] = rowsOf("tokenLogprobs", logits, targets);
  sized("tokenLogprobs", rows, { logp, entropy, lse });
  const w = v % 4 === 0 ? 4 : 1;
  const params = { rows, v, n: v / w };
  enc.dispatch(KERNELS.forward[w], { logits, targets, logp, entropy, lse }, params, grid1d(rows, WG));
}

/** dlogits [R, V] = dlogp[r]·(onehot(target) − softmax(logits[r])) (overwritten). */
export function logitsBackward(
  enc: StepEncoder,
  logits: Tensor,
  targets: Tensor,
  lse: Tensor,
  dlogp: Tensor,
  dlogits: Tensor,
): void {
  const [rows, v] = rowsOf("logitsBackward", logits, targets);
  sized("logitsBackward", rows, { lse, dlogp });
  sized("logitsBackward", logits.size, { dlogits });
  const w = v % 4 === 0 ? 4 : 1;
  const params = { rows, n: v / w };
  enc.dispatch(KERNELS.backward[w], { logits, targets, lse, dlogp, dlogits }, params, grid1d(rows, WG));
}

/** loss [1] = −Σ mask·logp / Σ mask (0 when the mask is empty) and dlogp = −mask / Σ mask, both overwritten. */
export function crossEntropyLoss(enc: StepEncoder, logp: Tensor, mask: Tensor, loss: Tensor, dlogp: Tensor): void {
  sized("crossEntropyLoss", logp.size, { mask, dlogp });
  sized("crossEntropyLoss", 1, { loss });
  enc.dispatch(crossEntropyK, { logp, mask, loss, dlogp }, { n: logp.size }, [1, 1, 1]);
}

/** CPU reference of {@link tokenLogprobs} in float64. */
export function tokenLogprobsCpu(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  v: number,
): { logp: Float64Array; entropy: Float64Array; lse: Float64Array } {
  const rows = targets.length;
  const logp = new Float64Array(rows), entropy = new Float64Array(rows), lse = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity, s = 0, ez = 0;
    for (let j = 0; j < v; j++) m = Math.max(m, logits[r * v + j]);
    for (let j = 0; j < v; j++) {
      const z = logits[r * v + j] - m, e = Math.exp(z);
      s += e;
      ez += e * z;
    }
    lse[r] = m + Math.log(s);
    entropy[r] = Math.log(s) - ez / s;
    logp[r] = targets[r] < v ? logits[r * v + targets[r]] - lse[r] : NaN;
  }
  return { logp, entropy, lse };
}

/** CPU reference of {@link logitsBackward} in float64. */
export function logitsBackwardCpu(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  lse: ArrayLike<number>,
  dlogp: ArrayLike<number>,
  v: number,
): Float64Array {
  return Float64Array.from(logits, (z, i) => {
    const r = Math.floor(i / v);
    return dlogp[r] * ((targets[r] === i % v ? 1 : 0) - Math.exp(z - lse[r]));
  });
}

/** CPU reference of {@link crossEntropyLoss} in float64. */
export function crossEntropyLossCpu(logp: ArrayLike<number>, mask: ArrayLike<number>) {
  let s = 0, c = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) [s, c] = [s + mask[i] * logp[i], c + mask[i]];
  const inv = c === 0 ? 0 : 1 / c;
  return { loss: -s * inv, dlogp: Float64Array.from(mask, (m) => -m * inv) };
}
