/**
 * GRPO's KL penalty to the reference, added to the loss rather than to the reward (Shao et al. 2024, DeepSeekMath
 * Eq. 3-4): per response token the k3 estimator
 *
 *   D_t = π_ref/π_θ − log(π_ref/π_θ) − 1 = e^{d_t} − 1 − d_t,   d_t = log π_ref(a_t|s_t) − log π_θ(a_t|s_t)
 *
 * (unbiased for KL(π_θ ‖ π_ref) on on-policy samples, and ≥ 0), and L_KL = β · (1/N) Σ_mask D_t, a token-level mean
 * over the N response tokens of the mini-batch, the same averaging as the clipped surrogate of kernels/ppo_loss.ts
 * (DeepSeekMath averages per sequence first; we keep one convention for both terms, as ReaLHF's token-level PPO
 * loss does). Gradient: ∂L_KL/∂log π_θ(a_t|s_t) = β (1 − e^{d_t}) / N.
 *
 * The gradient is ADDED to `dlogp` (which the surrogate wrote), so the two terms go through one backward pass. The
 * KL term is kept when the surrogate's early stop drops a mini-batch: it only pulls toward the reference.
 * One workgroup with fixed-order sums (kernels/loss_common.ts): bitwise reproducible.
 *
 * @example
 * ```ts
 * ppoActorLoss(enc, { logp, logpOld, advantages, mask }, { loss, dlogp, stats });
 * klPenalty(enc, { logp, logpRef, mask }, { dlogp, stats: klStats }, { beta: 0.04 }); // dlogp += ∂L_KL/∂logp
 * model.backward(enc, ws, { dlogp });
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import {
  expm1MinusX,
  LossKernel,
  MATH_WGSL,
  REDUCE_WGSL,
  requireAll,
  requireRange,
  requireStats,
  tokenShape,
} from "./loss_common.ts";
import type { Tensor } from "./tensor.ts";

/** Layout of the stats of {@link klPenalty}: mean k3 KL per response token, and the loss β·kl. */
export const KL_PENALTY_STATS = ["kl", "loss"] as const;

/** GPU inputs of {@link klPenalty}. */
export interface KlPenaltyInputs {
  /** log π_θ of the taken tokens (the differentiated input). [B, T] */
  logp: Tensor;
  /** log π_ref of the same tokens. [B, T] */
  logpRef: Tensor;
  /** 1 at response tokens. [B, T] */
  mask: Tensor;
}

/** GPU outputs of {@link klPenalty}. */
export interface KlPenaltyOutputs {
  /** ∂loss/∂logp, ACCUMULATED into (+=). [B, T] */
  dlogp: Tensor;
  /** {@link KL_PENALTY_STATS}. [2] */
  stats: Tensor;
}

const klKernel = new LossKernel({
  name: "grpo_kl_penalty",
  buffers: { logp: "read", logp_ref: "read", mask: "read", dlogp: "rw", stats: "rw" },
  params: { n: "u32", beta: "f32" },
  code: REDUCE_WGSL + MATH_WGSL + /* wgsl */ `
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var cnt = 0.0; var kl = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    if (mask[i] > 0.5) { cnt += 1.0; kl += expm1_minus_x(logp_ref[i] - logp[i]); }
  }
  let n_tok = wg_sum(cnt, lid);
  let kl_t = wg_sum(kl, lid);
  let inv_n = select(0.0, 1.0 / n_tok, n_tok > 0.0);
  for (var i = lid; i < p.n; i += WG) {
    if (mask[i] > 0.5) { dlogp[i] += p.beta * (1.0 - exp(logp_ref[i] - logp[i])) * inv_n; }
  }
  if (lid == 0u) {
    stats[0] = kl_t * inv_n;
    stats[1] = p.beta * kl_t * inv_n;
  }
}`,
});

/** Records the KL penalty's stats and adds its gradient to `outputs.dlogp` (see the module doc). */
export function klPenalty(
  enc: StepEncoder,
  inputs: KlPenaltyInputs,
  outputs: KlPenaltyOutputs,
  options: { beta: number },
): void {
  const op = "GRPO KL penalty";
  requireRange(op, "beta", options.beta, 0, Infinity, { hi: true });
  const [B, T] = tokenShape(op, "logp", inputs.logp);
  requireAll(op, [B, T], " like logp", { logpRef: inputs.logpRef, mask: inputs.mask, dlogp: outputs.dlogp });
  requireStats(op, outputs.stats, KL_PENALTY_STATS);
  const { logp, logpRef, mask } = inputs;
  klKernel.dispatch(enc, { logp, logp_ref: logpRef, mask, dlogp: outputs.dlogp, stats: outputs.stats }, {
    n: B * T,
    beta: options.beta,
  }, 1);
}

/** CPU reference of {@link klPenalty} in float64: the loss, its gradient (not accumulated) and the stats. */
export function klPenaltyCpu(
  logp: ArrayLike<number>,
  logpRef: ArrayLike<number>,
  mask: ArrayLike<number>,
  beta: number,
): { loss: number; dlogp: Float64Array; stats: number[] } {
  let n = 0, kl = 0;
  for (let i = 0; i < logp.length; i++) if (mask[i] > 0.5) [n, kl] = [n + 1, kl + expm1MinusX(logpRef[i] - logp[i])];
  const inv = n > 0 ? 1 / n : 0;
  const dlogp = Float64Array.from(logp, (lp, i) => (mask[i] > 0.5 ? beta * -Math.expm1(logpRef[i] - lp) * inv : 0));
  return { loss: beta * kl * inv, dlogp, stats: [kl * inv, beta * kl * inv] };
}
