/**
 * GRPO (Shao et al. 2024, DeepSeekMath §4.1): the modern critic-free comparison the paper does not have. Each
 * iteration samples k responses for each of G prompts; a response's advantage is its score normalised within its
 * group, (r_i − mean_group)/(std_group + eps), on every one of its tokens (kernels/grpo.ts; outcome supervision);
 * the actor minimises PPO's clipped surrogate (kernels/ppo_loss.ts) plus a KL penalty to the reference in the loss:
 *
 *   L = (1/N) Σ_t max(−A_t ρ_t, −A_t clip(ρ_t, 1 ± ε)) + β (1/N) Σ_t [π_ref/π_θ − log(π_ref/π_θ) − 1]
 *
 * KL form: the per-token k3 estimator of KL(π_θ ‖ π_ref) of Shao et al. Eq. 4, in the loss (not in the reward as
 * PPO's k1 penalty), β = 0.04 as theirs; both terms are token-level means over the mini-batch (kernels/grpo_kl.ts
 * says why). There is no critic, no GAE, no value or advantage normalisation beyond the group's; the score needs no
 * scaling or clipping, since the group normalisation removes its scale and offset (up to eps).
 *
 * One iteration: the sampler's submits, a scoring submit, then one training submit (reference log-probs, advantages,
 * M actor mini-batch steps each used once, as PPO's; μ = 1 policy update per rollout in Shao et al.'s terms).
 *
 * @example
 * ```ts
 * const cfg = resolveConfig(GRPO_SCHEMA, { sets: ["prompts=8", "groupSize=8", "iterations=30"] });
 * const { actor, history } = await trainGrpo(cfg, { policy: sft, task, scorer });
 * ```
 * @module
 */
import { grpoAdvantages } from "../kernels/grpo.ts";
import { KL_REWARD_STATS } from "../kernels/kl_reward.ts";
import { namedStats } from "../kernels/loss_common.ts";
import { Rng } from "../kernels/rng.ts";
import type { Gpt } from "../nn/gpt.ts";
import { cloneGpt } from "../nn/gpt_copy.ts";
import { type ConfigOf, opt } from "../util/config.ts";
import type { MetricRow } from "../util/run_dir.ts";
import {
  actorMetrics,
  adamwFor,
  earlyStop,
  iterationPerf,
  iterationStatus,
  optimSchema,
  recordReferenceKl,
  referenceCopy,
  RL_SCHEMA,
  type RlInputs,
  rolloutMetrics,
} from "./ppo_common.ts";
import { drawPrompts, RolloutPhase, sampleAndScore } from "./ppo_rollout.ts";
import { PolicyTrainer } from "./ppo_update.ts";
import { lrSchedule, TrainLog } from "./train_common.ts";

/** GRPO's settings: Shao et al. 2024 where they give a value, PPO's (paper A.2) otherwise. */
export const GRPO_SCHEMA = {
  ...RL_SCHEMA,
  prompts: opt(64, "Prompts per iteration G; the rollout batch is G·groupSize", { int: true, min: 1 }),
  groupSize: opt(8, "Responses per prompt k (Shao et al.: 64; scaled down with the batch)", { int: true, min: 2 }),
  klCoef: opt(0.04, "β of the k3 KL penalty to the reference in the loss (Shao et al.: 0.04)", { min: 0 }),
  earlyStopRatio: opt(0, "Drop a mini-batch's surrogate when its mean ratio exceeds this; 0 = off (not in GRPO)", {
    min: 0,
  }),
  advEps: opt(1e-4, "Added to the group std (TRL's GRPOTrainer)", { min: 0 }),
  // PPO's actor rate (algorithms/ppo.ts says why it is scaled from the paper's 1e-5).
  actor: optimSchema(1e-3, "Actor learning rate (Shao et al.: 1e-6 at 7B; PPO's scaled rate here)"),
};

/** A resolved GRPO config. */
export type GrpoConfig = ConfigOf<typeof GRPO_SCHEMA>;

/** What GRPO trains on (no critic, so no reward-model parameters are needed beyond the scorer). */
export type GrpoRunInputs = RlInputs;

/** Runs GRPO (see the module doc). */
export async function trainGrpo(
  cfg: GrpoConfig,
  inputs: GrpoRunInputs,
): Promise<{ actor: Gpt; reference: Gpt; history: MetricRow[] }> {
  const { policy, task, scorer } = inputs;
  const gpu = policy.gpu;
  const k = cfg.groupSize, B = cfg.prompts * k, M = cfg.minibatches;
  if (B % M !== 0) throw new RangeError(`GRPO: prompts·groupSize = ${B} is not a multiple of minibatches ${M}`);
  const earlyStopRatio = earlyStop("GRPO", cfg.earlyStopRatio);
  const rng = new Rng(cfg.seed);

  const actor = await cloneGpt(policy, "actor");
  const ref = await referenceCopy("GRPO", inputs);
  const opt = adamwFor(actor.params, cfg.actor);
  const lr = lrSchedule(cfg.actor, cfg.iterations * M);

  const rollouts = new RolloutPhase(actor, task.tokenizer, { ...cfg, batchSize: B });
  const T = rollouts.width;
  const refWs = ref.workspace(B, T, { grad: false, label: "ref.ws" });
  const buf = {
    scores: gpu.tensor([B], "f32", "grpo.scores"), // [B]
    advantages: gpu.tensor([B, T], "f32", "grpo.advantages"), // [B, T]
    rewards: gpu.tensor([B, T], "f32", "grpo.kl_terms"), // [B, T] scratch of the KL statistics
    klStats: gpu.tensor([KL_REWARD_STATS.length], "f32", "grpo.kl_stats"),
  };
  const trainer = new PolicyTrainer(actor, opt, ref, { batch: B, width: T, minibatches: M });
  const settings = {
    lr,
    clipEps: cfg.clipEps,
    earlyStopRatio,
    refEmaEta: cfg.refEmaEta,
    klPenaltyBeta: cfg.klCoef,
  };
  const [promptRng, sampleKey] = [rng.split("prompts"), rng.split("rollout")];
  const log = new TrainLog("grpo", cfg.iterations, inputs.run);

  for (let it = 1; it <= cfg.iterations; it++) {
    const logging = it % cfg.logEvery === 0 || it === cfg.iterations;
    // Group sampling: each of the G prompts k times, in contiguous rows (the layout grpoAdvantages expects).
    const prompts = drawPrompts(task, promptRng, it, cfg.prompts).flatMap((p) => Array(k).fill(p) as string[]);
    const sr = await sampleAndScore(rollouts, scorer, prompts, {
      key: sampleKey,
      index: it - 1,
      scores: buf.scores,
      read: logging,
    });
    const { r, scores } = sr, x = r.rollout.gpu;

    const enc = gpu.encoder("grpo train");
    // Reference log-probs, and charts/kl_ref as PPO logs it (Σ_t of the k1 log-ratio of the behaviour policy to the
    // reference); β = 0, so nothing of it enters the loss.
    const logpRef = recordReferenceKl(enc, ref, refWs, x, buf, { beta: 0 });
    // Group-normalised advantages on every response token (no critic, no GAE).
    grpoAdvantages(enc, { rewards: buf.scores, mask: x.mask }, buf.advantages, { groupSize: k, eps: cfg.advEps });
    const { tokens, targets, mask } = x;
    trainer.record(enc, { tokens, targets, mask, logpOld: x.logp, advantages: buf.advantages, logpRef }, settings);

    const reads = logging ? { kl: enc.read(buf.klStats), actor: trainer.readStats(enc) } : null;
    await enc.submit();
    if (!reads) {
      log.tick(it);
      continue;
    }
    const trained = performance.now();
    const [kl, a] = [namedStats(KL_REWARD_STATS, await reads.kl), await reads.actor];
    const row: Record<string, number> = {
      ...rolloutMetrics(r, scores!, task),
      "charts/degenerate_group_frac": degenerateGroups(scores!, k),
      "charts/kl_ref": kl.kl_seq_mean,
      ...actorMetrics(a),
      ...iterationPerf(sr, trained),
    };
    await log.log(it, row, iterationStatus(row));
  }
  log.stop();
  await inputs.run?.writeSummary({ iterations: cfg.iterations, final: log.rows.at(-1) ?? null });
  for (const x of [refWs, trainer, rollouts.sampler, ...Object.values(buf)]) x.destroy();
  return { actor, reference: ref, history: log.rows };
}

/** Share of groups whose k scores are all equal: their advantages are 0, so they teach nothing (GRPO's blind spot). */
export function degenerateGroups(scores: ArrayLike<number>, k: number): number {
  let n = 0;
  for (let g = 0; g < scores.length / k; g++) {
    let same = true;
    for (let j = 1; j < k; j++) same &&= scores[g * k + j] === scores[g * k];
    if (same) n++;
  }
  return n / (scores.length / k);
}
