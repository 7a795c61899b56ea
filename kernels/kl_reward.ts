/**
 * Per-token PPO rewards: a KL penalty against the reference model on every response token, plus the task score at
 * the last response token. ReaLHF `ppo_functional.get_packed_rewards` (PAPER.md §8.3; Eq. 2's −β log(π/π_ref)):
 *
 *   r_t = −β · kl_t                                     for every response token t (mask = 1)
 *   r_{L_b} += clip((score_b − bias) · scale, −c, c)   at the last response token L_b, if the sequence is scored
 *
 * with β = 0.1 and c = 20 (paper §5.5, ReaLHF `kl_ctl`, `max_reward_clip`; scale 1, bias 0). Two KL estimators:
 * - "k1" (ReaLHF's): kl_t = log π_old(a_t|s_t) − log π_ref(a_t|s_t), the plain log-ratio.
 * - "k3" (Schulman 2020): kl_t = (ρ − 1) − log ρ with ρ = π_ref/π_old, non-negative and lower-variance.
 * π_old is the behaviour policy that generated the rollout (its log-probs recorded at generation time).
 *
 * Which sequences get the score: ReaLHF adds it only when the response ended with EOS; a truncated response gets
 * the KL penalties alone (its value is bootstrapped in GAE instead). That is the default here
 * (`scoreTruncated: false`). PITFALL (PAPER.md §9.6): ReaLHF's example scripts set min_new_tokens = max_new_tokens,
 * so EOS is masked at every step, every response is truncated and NO task reward ever reaches the policy. Let
 * responses terminate (small min_new_tokens), or set `scoreTruncated: true` to score truncated responses too.
 * A sequence without any response token gets nothing (there is no token to carry the score).
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import {
  LossKernel,
  MATH_WGSL,
  REDUCE_WGSL,
  requireAll,
  requireRange,
  requireStats,
  tokenShape,
} from "./loss_common.ts";
import type { Tensor } from "./tensor.ts";

/**
 * Layout of the stats of {@link klReward}. kl_seq_mean: mean over sequences of Σ_t kl_t (the `charts/kl_ref`
 * metric); kl_token_mean: mean over response tokens; score_mean: mean of the clipped score over all sequences;
 * task_reward_mean: mean over all sequences of the score actually added (0 for unscored ones); terminated_frac;
 * response_len_mean: response tokens per sequence.
 */
export const KL_REWARD_STATS = [
  "kl_seq_mean",
  "kl_token_mean",
  "score_mean",
  "task_reward_mean",
  "terminated_frac",
  "response_len_mean",
] as const;

/** GPU inputs of {@link klReward}. */
export interface KlRewardInputs {
  /** Behaviour (rollout) log-probs of the taken tokens. [B, T] */
  logpOld: Tensor;
  /** Reference-model log-probs of the same tokens. [B, T] */
  logpRef: Tensor;
  /** 1 at response tokens. [B, T] */
  mask: Tensor;
  /** Task score of each response (reward model or judge). [B] */
  scores: Tensor;
  /** 1 if the response ended with EOS. [B] */
  terminated: Tensor;
}

/** Options of {@link klReward}. */
export interface KlRewardOptions {
  /** KL coefficient β >= 0; default 0.1 (paper §5.5). */
  beta?: number;
  /** "k1" (default, ReaLHF) or "k3". */
  estimator?: "k1" | "k3";
  /** Scores are clipped to [−clip, clip]; default 20 (paper §5.5). Infinity disables clipping. */
  clip?: number;
  /** Score affine transform before clipping, (score − bias) · scale; defaults 1 and 0 (ReaLHF). */
  scale?: number;
  bias?: number;
  /** Also add the score to truncated responses; default false (ReaLHF; see the pitfall above). */
  scoreTruncated?: boolean;
}

const klRewardKernel = new LossKernel({
  name: "kl_reward",
  buffers: {
    logp_old: "read",
    logp_ref: "read",
    mask: "read",
    scores: "read",
    terminated: "read",
    rewards: "rw",
    stats: "rw",
  },
  params: { B: "u32", T: "u32", beta: "f32", k3: "u32", clip: "f32", scale: "f32", bias: "f32", truncated: "u32" },
  code: REDUCE_WGSL + MATH_WGSL + /* wgsl */ `
fn kl_est(lo: f32, lr: f32) -> f32 {
  if (p.k3 == 1u) { return expm1_minus_x(lr - lo); } // ρ = π_ref/π_old, log ρ = lr − lo
  return lo - lr;
}
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var kl_sum = 0.0; var tokens = 0.0; var score_sum = 0.0; var task_sum = 0.0; var ended = 0.0;
  for (var b = lid; b < p.B; b += WG) {
    let s = clamp((scores[b] - p.bias) * p.scale, -p.clip, p.clip);
    let term = terminated[b] > 0.5;
    let give = term || p.truncated == 1u;
    var seen = false;
    // Backward, so that the first response token met is L_b, the last one.
    for (var i = 0u; i < p.T; i++) {
      let t = b * p.T + p.T - 1u - i;
      if (mask[t] > 0.5) {
        let kl = kl_est(logp_old[t], logp_ref[t]);
        var r = -p.beta * kl;
        if (!seen && give) { r += s; task_sum += s; }
        seen = true;
        rewards[t] = r;
        kl_sum += kl;
        tokens += 1.0;
      } else {
        rewards[t] = 0.0;
      }
    }
    score_sum += s;
    ended += select(0.0, 1.0, term);
  }
  let kl_total = wg_sum(kl_sum, lid);
  let n_tok = wg_sum(tokens, lid);
  let score_total = wg_sum(score_sum, lid);
  let task_total = wg_sum(task_sum, lid);
  let ended_total = wg_sum(ended, lid);
  if (lid == 0u) {
    let nb = f32(p.B);
    stats[0] = kl_total / nb;
    stats[1] = select(0.0, kl_total / n_tok, n_tok > 0.0);
    stats[2] = score_total / nb;
    stats[3] = task_total / nb;
    stats[4] = ended_total / nb;
    stats[5] = n_tok / nb;
  }
}`,
});

/**
 * Records the per-token rewards of a rollout batch into `enc`; `rewards` [B, T] (0 off the mask) feeds {@link gae},
 * `stats` [6] gets {@link KL_REWARD_STATS}.
 *
 * @example
 * ```ts
 * klReward(enc, { logpOld, logpRef, mask, scores, terminated }, rewards, klStats, { beta: 0.1 });
 * gae(enc, { rewards, values, mask, terminated, bootstrap }, { advantages, returns });
 * ```
 */
export function klReward(
  enc: StepEncoder,
  inputs: KlRewardInputs,
  rewards: Tensor,
  stats: Tensor,
  options: KlRewardOptions = {},
): void {
  const op = "KL reward";
  const o = resolve(op, options);
  const [B, T] = tokenShape(op, "logpOld", inputs.logpOld);
  if (B === 0) throw new RangeError(`${op}: the batch is empty (logpOld has shape [${B}, ${T}])`);
  requireAll(op, [B, T], " like logpOld", { logpRef: inputs.logpRef, mask: inputs.mask, rewards });
  requireAll(op, [B], " (one per sequence of logpOld)", { scores: inputs.scores, terminated: inputs.terminated });
  requireStats(op, stats, KL_REWARD_STATS);
  const { logpOld, logpRef, mask, scores, terminated } = inputs;
  klRewardKernel.dispatch(enc, { logp_old: logpOld, logp_ref: logpRef, mask, scores, terminated, rewards, stats }, {
    B,
    T,
    beta: o.beta,
    k3: o.estimator === "k3" ? 1 : 0,
    clip: o.clip,
    scale: o.scale,
    bias: o.bias,
    truncated: o.scoreTruncated ? 1 : 0,
  }, 1);
}

function resolve(op: string, options: KlRewardOptions): Required<KlRewardOptions> {
  const o = {
    beta: options.beta ?? 0.1,
    estimator: options.estimator ?? "k1",
    clip: options.clip ?? 20,
    scale: options.scale ?? 1,
    bias: options.bias ?? 0,
    scoreTruncated: options.scoreTruncated ?? false,
  };
  requireRange(op, "beta", o.beta, 0, Infinity, { hi: true });
  requireRange(op, "clip", o.clip, 0, Infinity, { lo: true });
  requireRange(op, "scale", o.scale, -Infinity, Infinity, { lo: true, hi: true });
  requireRange(op, "bias", o.bias, -Infinity, Infinity, { lo: true, hi: true });
  if (o.estimator !== "k1" && o.estimator !== "k3") {
    throw new RangeError(`${op}: estimator must be "k1" or "k3", got ${JSON.stringify(o.estimator)}`);
  }
  return o;
}

/** CPU inputs of {@link klRewardCpu}: flat arrays, [B, T] row-major and [B]. */
export interface KlRewardCpuInputs {
  logpOld: ArrayLike<number>;
  logpRef: ArrayLike<number>;
  mask: ArrayLike<number>;
  scores: ArrayLike<number>;
  terminated: ArrayLike<number>;
}

/** CPU reference of {@link klReward} in float64; returns the rewards and the stats in {@link KL_REWARD_STATS} order. */
export function klRewardCpu(
  x: KlRewardCpuInputs,
  B: number,
  T: number,
  options: KlRewardOptions = {},
): { rewards: Float64Array; stats: number[] } {
  const o = resolve("KL reward", options);
  const rewards = new Float64Array(B * T);
  let klTotal = 0, tokens = 0, scoreTotal = 0, taskTotal = 0, ended = 0;
  for (let b = 0; b < B; b++) {
    const s = Math.min(o.clip, Math.max(-o.clip, (x.scores[b] - o.bias) * o.scale));
    const term = x.terminated[b] > 0.5;
    let last = -1;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (!(x.mask[i] > 0.5)) continue;
      const d = x.logpRef[i] - x.logpOld[i];
      const kl = o.estimator === "k3" ? Math.expm1(d) - d : -d;
      rewards[i] = -o.beta * kl;
      klTotal += kl;
      tokens++;
      last = i;
    }
    if (last >= 0 && (term || o.scoreTruncated)) [rewards[last], taskTotal] = [rewards[last] + s, taskTotal + s];
    scoreTotal += s;
    if (term) ended++;
  }
  const stats = [klTotal / B, tokens > 0 ? klTotal / tokens : 0, scoreTotal / B, taskTotal / B, ended / B, tokens / B];
  return { rewards, stats };
}
