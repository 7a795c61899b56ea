/**
 * Scatter and gather maps between per-token and per-sequence quantities:
 *
 * - the backward of the sequence log-probability seq[b] = Σ_t mask[b,t]·logp[b,t] (the sum over response tokens
 *   only, PAPER.md §8.2, ReaLHF `dpo_loss`; the forward is kernels/reduce.ts `rowSum` with the mask):
 *   dlogp[b,t] = dseq[b]·mask[b,t];
 * - last-token score: score[b] = values[b, last[b]] (PAPER.md §8.1, the reward model's scalar at the last token);
 *   backward dvalues[b,t] = dscore[b] where t = last[b], else 0.
 *
 * An index last[b] ≥ T gives a NaN score (a silent clamp would score the wrong token). The backward maps overwrite
 * their output, or add to it with `accumulate` (PPO adds a value gradient to another, DPO's pairs add up).
 *
 * @example
 * ```ts
 * sequenceSumBackward(enc, dseq, mask, dlogp, false);         // dlogp [B, T]
 * lastTokenGather(enc, values, last, score);                  // score [B]
 * lastTokenScatter(enc, dscore, last, dvalues, false);        // dvalues [B, T]
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

const seqBackK = kernel({
  name: "sequence_sum_backward",
  buffers: { dseq: "read", mask: "read", dx: "rw" },
  params: { n: "u32", t: "u32", accumulate: "u32" },
  code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat_id(g, nw, 256u);
  if (i >= p.n) { return; }
  var v = dseq[i / p.t] * mask[i];
  if (p.accumulate == 1u) { v += dx[i]; }
  dx[i] = v;
}`,
});

const gatherK = kernel({
  name: "last_token_gather",
  buffers: { values: "read", last: "read:u32", out: "rw" },
  params: { b: "u32", t: "u32" },
  code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let b = flat_id(g, nw, 64u);
  if (b >= p.b) { return; }
  let j = last[b];
  if (j < p.t) { out[b] = values[b * p.t + j]; } else { out[b] = bitcast<f32>(0x7fc00000u + (j & 0u)); }
}`,
});

const scatterK = kernel({
  name: "last_token_scatter",
  buffers: { dscore: "read", last: "read:u32", dvalues: "rw" },
  params: { n: "u32", t: "u32", accumulate: "u32" },
  code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat_id(g, nw, 256u);
  if (i >= p.n) { return; }
  let b = i / p.t;
  var v = select(0.0, dscore[b], last[b] == i - b * p.t);
  if (p.accumulate == 1u) { v += dvalues[i]; }
  dvalues[i] = v;
}`,
});

function bt(fn: string, perToken: Tensor, name: string): [number, number] {
  if (perToken.shape.length !== 2) {
    throw new RangeError(`${fn}: ${name} ('${perToken.label}') must be [B, T], got [${perToken.shape}]`);
  }
  return [perToken.shape[0], perToken.shape[1]];
}

function sized(fn: string, n: number, ts: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(ts)) {
    if (t.size !== n) throw new RangeError(`${fn}: ${name} ('${t.label}') has ${t.size} values, expected ${n}`);
  }
}

function u32(fn: string, name: string, t: Tensor): void {
  if (t.dtype !== "u32") throw new TypeError(`${fn}: ${name} ('${t.label}') must be u32, got ${t.dtype}`);
}

/** dx [B, T] (+)= dseq[b]·mask[b,t]: the backward of the masked row sum seq[b] = Σ_t mask[b,t]·x[b,t]
 * (kernels/reduce.ts `rowSum` with a mask). */
export function sequenceSumBackward(enc: StepEncoder, dseq: Tensor, mask: Tensor, dx: Tensor, accumulate: boolean) {
  const [b, t] = bt("sequenceSumBackward", dx, "dx");
  sized("sequenceSumBackward", b * t, { mask });
  sized("sequenceSumBackward", b, { dseq });
  const params = { n: b * t, t, accumulate: accumulate ? 1 : 0 };
  enc.dispatch(seqBackK, { dseq, mask, dx }, params, grid1d(b * t, 256));
}

/** out [B] = values[b, last[b]] for values [B, T] and last u32 [B]; NaN where last[b] ≥ T. */
export function lastTokenGather(enc: StepEncoder, values: Tensor, last: Tensor, out: Tensor): void {
  const [b, t] = bt("lastTokenGather", values, "values");
  u32("lastTokenGather", "last", last);
  sized("lastTokenGather", b, { last, out });
  enc.dispatch(gatherK, { values, last, out }, { b, t }, grid1d(b, 64));
}

/** dvalues [B, T] (+)= dscore[b] at t = last[b] (0 elsewhere): the backward of {@link lastTokenGather}. */
export function lastTokenScatter(enc: StepEncoder, dscore: Tensor, last: Tensor, dvalues: Tensor, accumulate: boolean) {
  const [b, t] = bt("lastTokenScatter", dvalues, "dvalues");
  u32("lastTokenScatter", "last", last);
  sized("lastTokenScatter", b, { last, dscore });
  const params = { n: b * t, t, accumulate: accumulate ? 1 : 0 };
  enc.dispatch(scatterK, { dscore, last, dvalues }, params, grid1d(b * t, 256));
}

/** CPU reference of the masked row sum whose backward is {@link sequenceSumBackward} (float64). */
export function sequenceSumCpu(x: ArrayLike<number>, mask: ArrayLike<number>, b: number, t: number): Float64Array {
  const out = new Float64Array(b);
  for (let i = 0; i < b * t; i++) if (mask[i] !== 0) out[Math.floor(i / t)] += mask[i] * x[i];
  return out;
}

/** CPU reference of {@link lastTokenGather}. */
export function lastTokenGatherCpu(values: ArrayLike<number>, last: ArrayLike<number>, t: number): Float64Array {
  return Float64Array.from(last, (j, b) => (j < t ? values[b * t + j] : NaN));
}

/** CPU reference of {@link lastTokenScatter} without accumulation. */
export function lastTokenScatterCpu(dscore: ArrayLike<number>, last: ArrayLike<number>, t: number): Float64Array {
  const out = new Float64Array(dscore.length * t);
  for (let b = 0; b < dscore.length; b++) if (last[b] < t) out[b * t + last[b]] = dscore[b];
  return out;
}
