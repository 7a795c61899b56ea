/**
 * GRPO group-normalised advantages (Shao et al. 2024, DeepSeekMath §4.1.2, "outcome supervision"): for G prompts
 * with k sampled responses each (B = G·k sequences, the k responses of group g in rows g·k … g·k + k − 1),
 *
 *   A_i = (r_i − mean(r_group)) / (std(r_group) + eps)
 *
 * broadcast to every response token of sequence i ([B] scores in, [B, T] advantages out, 0 off the mask), ready for
 * the PPO clipped surrogate (ppo_loss.ts) in place of GAE: GRPO drops the critic. The paper leaves the std and eps
 * open; we follow TRL's GRPOTrainer: the unbiased std (torch.std, divisor k − 1) and eps = 1e-4, with the biased
 * std as an option. A group whose rewards are all equal gets A = 0 on all its tokens (no learning signal), which
 * is GRPO's known behaviour, not a bug.
 *
 * One invocation per (token, sequence) recomputes its group's mean and std over k values in a fixed order, so all
 * tokens of a sequence get bitwise the same advantage without a second pass or scratch buffer.
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { LossKernel, requireAll, requireRange, tokenShape } from "./loss_common.ts";
import type { Tensor } from "./tensor.ts";

/** GPU inputs of {@link grpoAdvantages}. */
export interface GrpoInputs {
  /** Scalar reward of each response, groups contiguous. [B] */
  rewards: Tensor;
  /** 1 at response tokens. [B, T] */
  mask: Tensor;
}

/** Options of {@link grpoAdvantages}. */
export interface GrpoOptions {
  /** Responses per prompt k (B must be a multiple of it). */
  groupSize: number;
  /** Added to the std; default 1e-4 (TRL). */
  eps?: number;
  /** Unbiased (k − 1) std, default true (torch.std, TRL); false for the biased (k) std. */
  unbiased?: boolean;
}

const grpoKernel = new LossKernel({
  name: "grpo_advantages",
  buffers: { rewards: "read", mask: "read", adv: "rw" },
  params: { B: "u32", T: "u32", k: "u32", eps: "f32", ddof: "f32" },
  code: /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x; let b = gid.y;
  if (t >= p.T || b >= p.B) { return; }
  let i = b * p.T + t;
  if (mask[i] <= 0.5) { adv[i] = 0.0; return; }
  let base = (b / p.k) * p.k;
  var s = 0.0;
  for (var j = 0u; j < p.k; j++) { s += rewards[base + j]; }
  let mean = s / f32(p.k);
  var q = 0.0;
  for (var j = 0u; j < p.k; j++) { let d = rewards[base + j] - mean; q += d * d; }
  let sd = sqrt(q / (f32(p.k) - p.ddof));
  adv[i] = (rewards[b] - mean) / (sd + p.eps);
}`,
});

/**
 * Records GRPO advantages [B, T] from per-response rewards [B] into `enc`.
 *
 * @example
 * ```ts
 * // 64 prompts x 8 samples: rewards [512], mask [512, T]
 * grpoAdvantages(enc, { rewards, mask }, advantages, { groupSize: 8 });
 * ppoActorLoss(enc, { logp, logpOld, advantages, mask }, { loss, dlogp, stats });
 * ```
 */
export function grpoAdvantages(enc: StepEncoder, inputs: GrpoInputs, advantages: Tensor, options: GrpoOptions): void {
  const op = "GRPO advantages";
  const { k, eps, ddof } = resolve(op, options);
  const [B, T] = tokenShape(op, "mask", inputs.mask);
  requireAll(op, [B], " (one per sequence of mask)", { rewards: inputs.rewards });
  requireAll(op, [B, T], " like mask", { advantages });
  if (B % k !== 0) throw new RangeError(`${op}: the batch of ${B} sequences is not a multiple of groupSize ${k}`);
  if (B > 65535) throw new RangeError(`${op}: at most 65535 sequences per call, got ${B}`);
  grpoKernel.dispatch(enc, { rewards: inputs.rewards, mask: inputs.mask, adv: advantages }, { B, T, k, eps, ddof }, [
    Math.ceil(T / 64),
    B,
    1,
  ]);
}

function resolve(op: string, o: GrpoOptions): { k: number; eps: number; ddof: number } {
  const k = o.groupSize, eps = o.eps ?? 1e-4, unbiased = o.unbiased ?? true;
  if (!Number.isInteger(k) || k < (unbiased ? 2 : 1)) {
    throw new RangeError(
      `${op}: groupSize must be an integer >= ${unbiased ? 2 : 1}${unbiased ? " (unbiased std)" : ""}, got ${k}`,
    );
  }
  requireRange(op, "eps", eps, 0, Infinity, { hi: true });
  return { k, eps, ddof: unbiased ? 1 : 0 };
}

/** CPU reference of {@link grpoAdvantages} in float64: [B, T] advantages from [B] rewards and a [B, T] mask. */
export function grpoAdvantagesCpu(
  rewards: ArrayLike<number>,
  mask: ArrayLike<number>,
  B: number,
  T: number,
  options: GrpoOptions,
): Float64Array {
  const { k, eps, ddof } = resolve("GRPO advantages", options);
  const out = new Float64Array(B * T);
  for (let b = 0; b < B; b++) {
    const g = Array.from({ length: k }, (_, j) => rewards[Math.floor(b / k) * k + j]);
    const mean = g.reduce((s, v) => s + v, 0) / k;
    const sd = Math.sqrt(g.reduce((s, v) => s + (v - mean) ** 2, 0) / (k - ddof));
    for (let t = 0; t < T; t++) if (mask[b * T + t] > 0.5) out[b * T + t] = (rewards[b] - mean) / (sd + eps);
  }
  return out;
}
