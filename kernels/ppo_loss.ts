/**
 * PPO clipped surrogate (Schulman et al. 2017) as ReaLHF's `ppo_functional.actor_loss_fn` (PAPER.md §8.7):
 *
 *   ρ_t = exp(log π_θ(a_t|s_t) − log π_old(a_t|s_t))
 *   L   = (1/N) Σ_{mask} max(−A_t ρ_t, −A_t clip(ρ_t, 1 − ε, 1 + ε)),   ε = 0.2
 *
 * a token-level mean over the N response tokens of the mini-batch (not a per-sequence mean). Gradient w.r.t. log π_θ:
 * ∂L/∂logp_t = −A_t ρ_t / N where the unclipped term is the max, and 0 where the clipped term is strictly larger
 * (then ρ is outside [1 − ε, 1 + ε] on the side the advantage pushes it to). Inside the range both terms are equal
 * and the gradient is −A_t ρ_t / N, as torch's clamp passes the gradient at its bounds.
 *
 * Early stop (ReaLHF `early_stop_imp_ratio` = 5): when the mini-batch's mean ρ exceeds it, loss and gradient are
 * zeroed, decided on the GPU in the same kernel (no readback). Deviation: ReaLHF multiplies by 0, which turns an
 * infinite ratio into NaN; we write exact zeros.
 *
 * Stats: loss (the surrogate before any early stop), approx_kl = mean of (ρ − 1) − log ρ (the k3 estimator of
 * KL(π_old ‖ π_θ) on π_old's samples; ReaLHF logs the plain log-ratio mean instead), clip_frac = fraction of tokens
 * whose clipped term is strictly larger, i.e. whose gradient is cut (ReaLHF's definition; some codes count
 * |ρ − 1| > ε instead), ratio_mean, early_stopped (0/1), tokens (N). One workgroup: pass 1 accumulates, the fixed-
 * order reductions decide the early stop, pass 2 writes the gradient; bitwise reproducible.
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import {
  expm1MinusX,
  LossKernel,
  MATH_WGSL,
  REDUCE_WGSL,
  requireAll,
  requireLossOutputs,
  requireRange,
  tokenShape,
} from "./loss_common.ts";
import type { Tensor } from "./tensor.ts";

/** Layout of the stats tensor of {@link ppoActorLoss}. */
export const PPO_ACTOR_STATS = ["loss", "approx_kl", "clip_frac", "ratio_mean", "early_stopped", "tokens"] as const;

/** GPU inputs of {@link ppoActorLoss}. */
export interface PpoActorInputs {
  /** log π_θ of the taken tokens under the current policy (the differentiated input). [B, T] */
  logp: Tensor;
  /** Behaviour log-probs recorded at rollout time. [B, T] */
  logpOld: Tensor;
  /** Advantages (GAE, then whitened; or GRPO's). [B, T] */
  advantages: Tensor;
  /** 1 at response tokens. [B, T] */
  mask: Tensor;
}

/** GPU outputs of {@link ppoActorLoss}. */
export interface PpoActorOutputs {
  /** The loss that was applied (0 after an early stop). [1] */
  loss: Tensor;
  /** ∂loss/∂logp, 0 off the mask (written, not accumulated). [B, T] */
  dlogp: Tensor;
  /** {@link PPO_ACTOR_STATS}. [6] */
  stats: Tensor;
}

/** Options of {@link ppoActorLoss}. */
export interface PpoActorOptions {
  /** Clip ε in (0, 1); default 0.2 (ReaLHF `eps_clip`; the paper does not give it). */
  clipEps?: number;
  /** Drop the mini-batch when mean ρ exceeds this; default 5 (ReaLHF `early_stop_imp_ratio`); null disables. */
  earlyStopRatio?: number | null;
}

const actorKernel = new LossKernel({
  name: "ppo_actor_loss",
  buffers: { logp: "read", logp_old: "read", adv: "read", mask: "read", loss: "rw", dlogp: "rw", stats: "rw" },
  params: { n: "u32", eps: "f32", stop_ratio: "f32", use_stop: "u32" },
  code: REDUCE_WGSL + MATH_WGSL + /* wgsl */ `
// The two surrogate terms at token i: (unclipped −Aρ, clipped −A·clip(ρ), ρ, log ρ).
fn terms(i: u32) -> vec4f {
  let d = logp[i] - logp_old[i];
  let ratio = exp(d);
  let a = adv[i];
  return vec4f(-a * ratio, -a * clamp(ratio, 1.0 - p.eps, 1.0 + p.eps), ratio, d);
}
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var cnt = 0.0; var sur = 0.0; var clipped = 0.0; var kl = 0.0; var rsum = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    if (mask[i] > 0.5) {
      let q = terms(i);
      cnt += 1.0;
      sur += max(q.x, q.y);
      clipped += select(0.0, 1.0, q.y > q.x);
      kl += expm1_minus_x(q.w);
      rsum += q.z;
    }
  }
  let n_tok = wg_sum(cnt, lid);
  let sur_t = wg_sum(sur, lid);
  let clip_t = wg_sum(clipped, lid);
  let kl_t = wg_sum(kl, lid);
  let ratio_t = wg_sum(rsum, lid);
  let inv_n = select(0.0, 1.0 / n_tok, n_tok > 0.0);
  let ratio_mean = ratio_t * inv_n;
  let stopped = p.use_stop == 1u && ratio_mean > p.stop_ratio;
  for (var i = lid; i < p.n; i += WG) {
    var g = 0.0;
    if (mask[i] > 0.5 && !stopped) {
      let q = terms(i);
      g = select(q.x * inv_n, 0.0, q.y > q.x); // ∂(−Aρ)/∂logp = −Aρ
    }
    dlogp[i] = g;
  }
  if (lid == 0u) {
    loss[0] = select(sur_t * inv_n, 0.0, stopped);
    stats[0] = sur_t * inv_n;
    stats[1] = kl_t * inv_n;
    stats[2] = clip_t * inv_n;
    stats[3] = ratio_mean;
    stats[4] = select(0.0, 1.0, stopped);
    stats[5] = n_tok;
  }
}`,
});

/**
 * Records the PPO actor loss, its gradient w.r.t. the policy's token log-probs, and its stats into `enc`.
 *
 * @example
 * ```ts
 * // after the actor's forward pass has written logp [B, T] for this mini-batch
 * ppoActorLoss(enc, { logp, logpOld, advantages, mask }, { loss, dlogp, stats }, { clipEps: 0.2 });
 * // ... backward from dlogp through the LM head and the transformer, then AdamW, all in this encoder
 * ```
 */
export function ppoActorLoss(
  enc: StepEncoder,
  inputs: PpoActorInputs,
  outputs: PpoActorOutputs,
  options: PpoActorOptions = {},
): void {
  const op = "PPO actor loss";
  const o = resolve(op, options);
  const [B, T] = tokenShape(op, "logp", inputs.logp);
  const { logp, logpOld, advantages, mask } = inputs;
  requireAll(op, [B, T], " like logp", { logpOld, advantages, mask, dlogp: outputs.dlogp });
  requireLossOutputs(op, outputs, PPO_ACTOR_STATS);
  actorKernel.dispatch(enc, { logp, logp_old: logpOld, adv: advantages, mask, ...outputs }, {
    n: B * T,
    eps: o.clipEps,
    stop_ratio: o.earlyStopRatio ?? 0,
    use_stop: o.earlyStopRatio === null ? 0 : 1,
  }, 1);
}

function resolve(op: string, options: PpoActorOptions): { clipEps: number; earlyStopRatio: number | null } {
  const clipEps = options.clipEps ?? 0.2;
  const earlyStopRatio = options.earlyStopRatio === undefined ? 5 : options.earlyStopRatio;
  requireRange(op, "clipEps", clipEps, 0, 1, { lo: true, hi: true });
  if (earlyStopRatio !== null) requireRange(op, "earlyStopRatio", earlyStopRatio, 1, Infinity, { hi: true });
  return { clipEps, earlyStopRatio };
}

/** CPU inputs of {@link ppoActorLossCpu}: flat [B, T] arrays. */
export interface PpoActorCpuInputs {
  logp: ArrayLike<number>;
  logpOld: ArrayLike<number>;
  advantages: ArrayLike<number>;
  mask: ArrayLike<number>;
}

/** CPU reference of {@link ppoActorLoss} in float64: loss, gradient, and stats in {@link PPO_ACTOR_STATS} order. */
export function ppoActorLossCpu(
  x: PpoActorCpuInputs,
  options: PpoActorOptions = {},
): { loss: number; dlogp: Float64Array; stats: number[] } {
  const o = resolve("PPO actor loss", options);
  const n = x.logp.length;
  let cnt = 0, sur = 0, clipped = 0, kl = 0, rsum = 0;
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (!(x.mask[i] > 0.5)) continue;
    const d = x.logp[i] - x.logpOld[i], ratio = Math.exp(d), a = x.advantages[i];
    const l1 = -a * ratio, l2 = -a * Math.min(1 + o.clipEps, Math.max(1 - o.clipEps, ratio));
    cnt++;
    sur += Math.max(l1, l2);
    clipped += l2 > l1 ? 1 : 0;
    kl += expm1MinusX(d);
    rsum += ratio;
    g[i] = l2 > l1 ? 0 : l1;
  }
  const inv = cnt > 0 ? 1 / cnt : 0;
  const stopped = o.earlyStopRatio !== null && rsum * inv > o.earlyStopRatio;
  for (let i = 0; i < n; i++) g[i] = stopped ? 0 : g[i] * inv;
  return {
    loss: stopped ? 0 : sur * inv,
    dlogp: g,
    stats: [sur * inv, kl * inv, clipped * inv, rsum * inv, stopped ? 1 : 0, cnt],
  };
}
