/**
 * Pieces PPO and GRPO share beyond the rollout phase (ppo_rollout.ts): the generation and optimizer config sections
 * (the schedule an optimizer section describes is train_common.ts's `lrSchedule`), the reference log-probs with the
 * KL statistics that open both training submits, and the metrics of a logged iteration (rollout, actor losses,
 * timings).
 * @module
 */
import type { StepEncoder } from "../kernels/encoder.ts";
import { klReward, type KlRewardOptions } from "../kernels/kl_reward.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { AdamW } from "../nn/adamw.ts";
import type { Gpt } from "../nn/gpt.ts";
import { cloneGpt } from "../nn/gpt_copy.ts";
import type { GptWorkspace } from "../nn/gpt_workspace.ts";
import type { ParamSet } from "../nn/params.ts";
import type { RolloutTensors } from "../nn/sampler.ts";
import { opt } from "../util/config.ts";
import type { RunDir } from "../util/run_dir.ts";
import type { Scorer } from "./scorer.ts";
import type { PromptTask, RolloutData, ScoredRollout } from "./ppo_rollout.ts";
import type { ActorStats } from "./ppo_update.ts";
import { SCHEDULE_FIELDS } from "./train_common.ts";

/** Sampling of rollouts: paper Appendix A.2 (temperature 1, top-k 200), ReaLHF for what the paper leaves open. */
export const GENERATION_SCHEMA = {
  maxNewTokens: opt(
    16,
    "Most tokens per response, EOS included (paper: 256 dialogue, 1024 code; our testbeds' answers fit 16)",
    {
      int: true,
      min: 1,
    },
  ),
  minNewTokens: opt(0, "EOS is forbidden before this many tokens (never = maxNewTokens: PAPER.md §9.6 pitfall)", {
    int: true,
    min: 0,
  }),
  temperature: opt(1, "Sampling temperature (paper A.2: 1.0)", { min: 0 }),
  topK: opt(200, "Top-k (paper A.2: 200; 0 = off)", { int: true, min: 0 }),
  topP: opt(1, "Nucleus mass (not in the paper, ReaLHF default 0.9; 1 = off, the paper's setting)", {
    min: 0.001,
    max: 1,
  }),
};

/** The settings PPO and GRPO share (each adds its own); paper Appendix A.2 and ReaLHF defaults (PAPER.md §5.5). */
export const RL_SCHEMA = {
  seed: opt(1, "Run seed: prompts, sampling and any fresh initialisation derive from it", { int: true, min: 0 }),
  iterations: opt(100, "Iterations, each a rollout then updates (the paper trains 5 epochs of its prompts)", {
    int: true,
    min: 1,
  }),
  minibatches: opt(4, "Mini-batches per iteration, one optimizer step each (ReaLHF ppo_n_minibatches)", {
    int: true,
    min: 1,
  }),
  maxPromptLen: opt(8, "Prompt tokens with BOS and SEP; prompts are padded to it (ReaLHF max_prompt_len)", {
    int: true,
    min: 2,
  }),
  generation: GENERATION_SCHEMA,
  clipEps: opt(0.2, "Ratio clip ε (ReaLHF eps_clip, Shao et al.; not given in the paper)", { min: 0.001, max: 0.999 }),
  refEmaEta: opt(0, "Reference EMA η: θ_ref ← η θ_actor + (1 − η) θ_ref per actor step; 0 = fixed (§5.1 Ref. EMA)", {
    min: 0,
    max: 1,
  }),
  logEvery: opt(1, "Log every this many iterations (losses/* average the mini-batches since the last log)", {
    int: true,
    min: 1,
  }),
};

/** What every RL trainer takes. */
export interface RlInputs {
  /** The SFT policy: actor and reference start as copies; it is not modified. */
  policy: Gpt;
  /**
   * The reference model of the KL penalty, when it is not the policy (Appendix C.1, Table 9: the pretrained base as
   * reference while the actor starts from SFT); copied, not modified. Its configuration must be the policy's.
   */
  reference?: Gpt;
  task: PromptTask;
  /** The reward: a reward model or the gold judge (algorithms/scorer.ts). */
  scorer: Scorer;
  /** Where metrics.jsonl and summary.json go. */
  run?: RunDir;
}

/** A trainable copy of the KL reference: `inputs.reference` when given (its configuration must be the policy's). */
export async function referenceCopy(algo: string, inputs: RlInputs): Promise<Gpt> {
  const ref = inputs.reference ?? inputs.policy;
  if (JSON.stringify(ref.config) !== JSON.stringify(inputs.policy.config)) {
    throw new RangeError(
      `${algo}: the reference model's configuration ${JSON.stringify(ref.config)} differs from the policy's ` +
        JSON.stringify(inputs.policy.config),
    );
  }
  return await cloneGpt(ref, "ref");
}

/** ReaLHF's early-stop ratio from a config value: 0 turns it off, a mean ratio must be >= 1. */
export function earlyStop(algo: string, ratio: number): number | null {
  if (ratio > 0 && ratio < 1) throw new RangeError(`${algo}: earlyStopRatio must be 0 (off) or >= 1, got ${ratio}`);
  return ratio > 0 ? ratio : null;
}

/** An optimizer section: AdamW with ReaLHF's settings and a cosine schedule with warm-up (PAPER.md §5.5). */
export function optimSchema(lr: number, doc: string) {
  return {
    lr: opt(lr, doc, { min: 0 }),
    ...SCHEDULE_FIELDS,
    maxGradNorm: opt(1, "Clip the global gradient norm to this (ReaLHF 1.0); 0 = off", { min: 0 }),
  };
}

/** AdamW over `params` with an optimizer section's decay and clipping (ReaLHF's betas and eps, nn/adamw.ts). */
export function adamwFor(params: ParamSet, o: { weightDecay: number; maxGradNorm: number }): AdamW {
  return new AdamW(params, { weightDecay: o.weightDecay, maxGradNorm: o.maxGradNorm > 0 ? o.maxGradNorm : null });
}

function meanStd(a: ArrayLike<number>): [number, number] {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  const mean = s / a.length;
  let q = 0;
  for (let i = 0; i < a.length; i++) q += (a[i] - mean) ** 2;
  return [mean, Math.sqrt(q / a.length)];
}

/** Reward mean and spread over the batch, response length, terminated share, and the gold score when known. */
export function rolloutMetrics(r: RolloutData, scores: ArrayLike<number>, task: PromptTask): Record<string, number> {
  const [mean, std] = meanStd(scores);
  const m: Record<string, number> = {
    "charts/reward_mean": mean,
    "charts/reward_std": std,
    "charts/response_len": r.responseLenMean,
    "charts/terminated_frac": r.terminatedFrac,
  };
  if (task.gold) m["charts/gold_mean"] = meanStd(r.prompts.map((p, i) => task.gold!(p, r.responses[i])))[0];
  return m;
}

/**
 * Records the reference's log-probs of the rollout's tokens (§9.5 step 4; into `refWs.logp` [B, T], returned) and
 * the per-token KL rewards with their statistics (kernels/kl_reward.ts: `rewards` [B, T], `klStats` holding
 * `charts/kl_ref`). PPO's rewards use β > 0 (§8.3); GRPO passes β = 0, only to log the same KL as PPO.
 */
export function recordReferenceKl(
  enc: StepEncoder,
  ref: Gpt,
  refWs: GptWorkspace,
  x: RolloutTensors,
  out: { scores: Tensor; rewards: Tensor; klStats: Tensor },
  options: KlRewardOptions,
): Tensor<"f32"> {
  ref.forward(enc, refWs, x.tokens);
  ref.tokenLogprobs(enc, refWs, x.targets);
  const inputs = { logpOld: x.logp, logpRef: refWs.logp, mask: x.mask, scores: out.scores, terminated: x.terminated };
  klReward(enc, inputs, out.rewards, out.klStats, options);
  return refWs.logp;
}

/** The actor's losses of a logged iteration (means over the mini-batches since the last log). */
export function actorMetrics(a: ActorStats): Record<string, number> {
  return {
    "charts/entropy": a.entropy,
    "losses/policy": a.policyLoss,
    ...(a.klPenalty !== undefined ? { "losses/kl_penalty": a.klPenalty } : {}),
    "losses/approx_kl": a.approxKl,
    "losses/clipfrac": a.clipFrac,
    "losses/ratio_mean": a.ratioMean,
  };
}

/**
 * Wall time of the iteration's phases in seconds (`trained`: the clock after the training submit) and its submits:
 * the sampler's, the scoring one and the training one.
 */
export function iterationPerf(s: ScoredRollout, trained: number): Record<string, number> {
  const [t0, t1, t2] = s.times;
  return {
    "perf/gen_s": (t1 - t0) / 1000,
    "perf/score_s": (t2 - t1) / 1000,
    "perf/train_s": (trained - t2) / 1000,
    "perf/iter_s": (performance.now() - t0) / 1000,
    "perf/submits": s.r.rollout.submits + 2,
  };
}

/** The progress bar's status of a logged iteration: the gold score (when the task has a judge) and the KL. */
export function iterationStatus(row: Record<string, number>): string {
  return `gold ${row["charts/gold_mean"]?.toFixed(3)} kl ${row["charts/kl_ref"].toFixed(2)}`;
}
