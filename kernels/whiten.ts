/**
 * Masked whitening over a whole rollout batch, ReaLHF's `functional.masked_normalization` used for advantage
 * normalisation (PAPER.md §5.1 "Adv. Norm.", §8.5):
 *
 *   μ = Σ_m x / N,   σ² = Σ_m (x − μ)² / N   (biased),   x ← (x − μ) / (σ + 1e-5)
 *
 * where Σ_m runs over the N masked (response) tokens of ALL sequences. ReaLHF normalises once per rollout batch,
 * before the split into mini-batches (PAPER.md §9.6: "global over the rollout batch, not per mini-batch"), so call
 * this on the whole batch. Unmasked positions are written 0 (ReaLHF leaves (x − μ)/(σ + ε) there and masks later).
 *
 * Deviation: ReaLHF computes E[x²] − μ² in float64 (and all-reduces across data-parallel ranks). We are f32 only, so
 * the variance is the two-pass Σ(x − μ)², which does not cancel catastrophically. One workgroup, fixed-order sums
 * (see loss_common.ts), so the result is bitwise reproducible.
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { LossKernel, REDUCE_WGSL, requireAll, requireRange, requireStats, tokenShape } from "./loss_common.ts";
import type { Tensor } from "./tensor.ts";

/** Layout of the stats tensor of {@link whiten}: the mean and std it removed, and the masked-token count. */
export const WHITEN_STATS = ["mean", "std", "count"] as const;

/** Options of {@link whiten}. */
export interface WhitenOptions {
  /** Where to write; default (or the same tensor as x): in place. [B, T] */
  out?: Tensor;
  /** Added to σ before dividing; default 1e-5 (ReaLHF `masked_normalization`). */
  eps?: number;
}

function whitenKernel(inPlace: boolean) {
  const dst = inPlace ? "x" : "out";
  return new LossKernel({
    name: inPlace ? "whiten_in_place" : "whiten",
    buffers: inPlace ? { x: "rw", mask: "read", stats: "rw" } : { x: "read", mask: "read", out: "rw", stats: "rw" },
    params: { n: "u32", eps: "f32" },
    code: REDUCE_WGSL + /* wgsl */ `
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  var c = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    if (mask[i] > 0.5) { s += x[i]; c += 1.0; }
  }
  let count = wg_sum(c, lid);
  let mean = select(0.0, wg_sum(s, lid) / count, count > 0.0);
  var q = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    if (mask[i] > 0.5) { let d = x[i] - mean; q += d * d; }
  }
  let sd = sqrt(select(0.0, wg_sum(q, lid) / count, count > 0.0));
  let inv = 1.0 / (sd + p.eps);
  for (var i = lid; i < p.n; i += WG) {
    ${dst}[i] = select(0.0, (x[i] - mean) * inv, mask[i] > 0.5);
  }
  if (lid == 0u) { stats[0] = mean; stats[1] = sd; stats[2] = count; }
}`,
  });
}

const outOfPlace = whitenKernel(false);
const inPlace = whitenKernel(true);

/**
 * Records masked whitening of `x` ([B, T], or any shape matching `mask`) into `enc`; writes {@link WHITEN_STATS}
 * into `stats` ([3]).
 *
 * @example
 * ```ts
 * gae(enc, inputs, { advantages, returns });
 * whiten(enc, advantages, mask, advStats); // in place, over the whole rollout batch (PAPER.md §8.5)
 * ```
 */
export function whiten(enc: StepEncoder, x: Tensor, mask: Tensor, stats: Tensor, options: WhitenOptions = {}): void {
  const op = "Whitening";
  const eps = options.eps ?? 1e-5;
  requireRange(op, "eps", eps, 0, Infinity, { hi: true });
  const [B, T] = tokenShape(op, "x", x);
  requireAll(op, [B, T], " like x", { mask, ...(options.out ? { out: options.out } : {}) });
  requireStats(op, stats, WHITEN_STATS);
  const out = options.out;
  const same = !out || (out.buffer === x.buffer && out.offset === x.offset);
  if (same) inPlace.dispatch(enc, { x, mask, stats }, { n: B * T, eps }, 1);
  else outOfPlace.dispatch(enc, { x, mask, out, stats }, { n: B * T, eps }, 1);
}

/** CPU reference of {@link whiten} in float64. */
export function whitenCpu(
  x: ArrayLike<number>,
  mask: ArrayLike<number>,
  eps = 1e-5,
): { out: Float64Array; mean: number; std: number; count: number } {
  let s = 0, count = 0;
  for (let i = 0; i < x.length; i++) if (mask[i] > 0.5) [s, count] = [s + x[i], count + 1];
  const mean = count > 0 ? s / count : 0;
  let q = 0;
  for (let i = 0; i < x.length; i++) if (mask[i] > 0.5) q += (x[i] - mean) ** 2;
  const std = Math.sqrt(count > 0 ? q / count : 0);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) if (mask[i] > 0.5) out[i] = (x[i] - mean) / (std + eps);
  return { out, mean, std, count };
}
