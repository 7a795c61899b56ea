/**
 * PPO for LLM alignment with the details the paper finds decisive made explicit and switchable (§5; PAPER.md §5.5,
 * §8, §9.5): advantage normalisation, batch size and mini-batches, the reference-model EMA, value normalisation,
 * value clipping and the early stop on the importance ratio. One iteration follows ReaLHF's data flow (§9.5):
 *
 * 1. draw B prompts; the actor samples responses on the GPU, recording behaviour log-probs (ppo_rollout.ts);
 * 2. one scoring submit: the task score of each response (a reward model on the GPU tokens, or the testbed's
 *    gold judge on the text; algorithms/scorer.ts), left on the GPU;
 * 3. one training submit records everything else: the reference log-probs and the KL-shaped rewards
 *    r_t = −β(log π_old − log π_ref) with the clipped score added at the last token of EOS-terminated responses
 *    only (§8.3; ppo_common.ts, shared with GRPO), the critic's values, GAE (γ = λ = 1: Monte-Carlo return minus the
 *    value, §8.4), value normalisation (§8.6), advantage whitening over the WHOLE batch before the split (§8.5,
 *    §9.6), then M actor mini-batch steps (clipped surrogate, early stop, reference EMA) and M critic steps (clipped
 *    value loss), each mini-batch used once (ppo_update.ts).
 * A PPO iteration is thus the sampler's few submits plus two; metrics are read back only at logging iterations.
 *
 * No dropout anywhere (the models have none; ReaLHF runs PPO in eval mode). No auxiliary SFT loss (paper §5.2).
 * Deviation: π_old and π_ref are the untruncated temperature-1 softmax (kernels/sample.ts's `logp`, what the
 * training forward computes), where ReaLHF masks the tokens top-k/top-p removed and divides the reference logits by
 * the temperature (PAPER.md §9.2, §9.6); the two agree at the paper's temperature 1 with top-k 200 and no top-p.
 * The KL penalty's estimator is ReaLHF's k1 (kernels/kl_reward.ts); `charts/kl_ref` is its sum over a response,
 * averaged over the batch, against the current reference (the moving one when the EMA is on).
 *
 * @example
 * ```ts
 * const cfg = resolveConfig(PPO_SCHEMA, { sets: ["batchSize=64", "iterations=30"] });
 * const scorer = new GoldScorer(gpu, "gold", (p, r) => task.gold(p, r));
 * const { actor, history } = await trainPpo(cfg, { policy: sft, task, scorer });
 * console.log(history.at(-1)!["charts/reward_mean"]);
 * ```
 * @module
 */
import { gae } from "../kernels/gae.ts";
import { KL_REWARD_STATS } from "../kernels/kl_reward.ts";
import { namedStats } from "../kernels/loss_common.ts";
import { Rng } from "../kernels/rng.ts";
import { whiten, WHITEN_STATS } from "../kernels/whiten.ts";
import type { Gpt } from "../nn/gpt.ts";
import { type ConfigOf, opt } from "../util/config.ts";
import type { MetricRow } from "../util/run_dir.ts";
import { cloneGpt } from "../nn/gpt_copy.ts";
import { criticFrom } from "./ppo_models.ts";
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
import { CriticTrainer, PolicyTrainer } from "./ppo_update.ts";
import { ExponentialRunningMeanStd } from "./running_stats.ts";
import { lrSchedule, TrainLog } from "./train_common.ts";

/** PPO's settings; defaults are the paper's Appendix A.2 and ReaLHF's (PAPER.md §5.5) unless the doc says why. */
export const PPO_SCHEMA = {
  ...RL_SCHEMA,
  batchSize: opt(512, "Rollouts per iteration (paper A.2: 512; Table 3's baseline: 64)", { int: true, min: 1 }),
  reward: {
    klCoef: opt(0.1, "β of the per-token KL penalty −β(log π_old − log π_ref) (paper A.2, ReaLHF kl_ctl)", { min: 0 }),
    clip: opt(20, "Clip of the task score (paper A.2 reward clip; ReaLHF max_reward_clip)", { min: 0 }),
    scale: opt(1, "Score transform (s − bias)·scale before the clip (ReaLHF reward_output_scaling)"),
    bias: opt(0, "Score transform bias (ReaLHF reward_output_bias)"),
    scoreTruncated: opt(false, "Also score responses cut at maxNewTokens (ReaLHF: no; they get KL terms only, §8.3)"),
  },
  gamma: opt(1, "Discount γ (paper A.2: 1)", { min: 0, max: 1 }),
  lambda: opt(1, "GAE λ (paper A.2: 1)", { min: 0, max: 1 }),
  advNorm: opt(true, "Advantage normalisation over the rollout batch, before the split (§5.1 Adv. Norm.; §8.5)"),
  valueNorm: opt(true, "Value normalisation with running return statistics (§5.2; ReaLHF value_norm, §8.6)"),
  valueNormBeta: opt(0.99995, "Decay of the running return statistics (ReaLHF value_norm_beta)", {
    min: 0,
    max: 0.999999,
  }),
  valueClip: opt(true, "Clip the value loss around the rollout-time values (§5.2 'value loss clip')"),
  valueClipEps: opt(0.2, "Value clip ε_v (ReaLHF value_eps_clip)", { min: 0.001 }),
  earlyStopRatio: opt(5, "Drop a mini-batch's actor loss when its mean ratio exceeds this; 0 = off (ReaLHF)", {
    min: 0,
  }),
  criticInit: opt("reward_model", "Critic start: the reward model (ReaLHF) or the SFT policy with a new head", {
    choices: ["reward_model", "policy"] as const,
  }),
  // Learning rates: paper A.2 uses 1e-5 (actor) and 5e-6 (critic) on 7B-34B models. Ours are d 64-256 and a run is
  // tens of iterations. Measured on the sanity task from an SFT policy trained from random weights (before the base
  // phase of algorithms/testing.ts existed; d 64, 1 layer, batch 32, constant rate, seed 1): at 3e-4 the gold stays at
  // the SFT's for 100 iterations; at 1e-3 it takes off after about 80, at 3e-3 after about 40 (the tests use 3e-3). We
  // scale both by 100 to the from-scratch SFT rate (algorithms/sft.ts), keeping the paper's 2:1 actor:critic ratio.
  actor: optimSchema(1e-3, "Actor learning rate (paper A.2: 1e-5 at 7B; scaled ×100 for d ≤ 256, see above)"),
  critic: optimSchema(5e-4, "Critic learning rate (paper A.2: 5e-6 at 7B; scaled as the actor's)"),
};

/** A resolved PPO config. */
export type PpoConfig = ConfigOf<typeof PPO_SCHEMA>;

/** What PPO trains on. */
export interface PpoInputs extends RlInputs {
  /** The reward model whose parameters initialise the critic (criticInit "reward_model"). */
  rewardModel?: Gpt | null;
}

/** The trained models and the logged metrics. */
export interface PpoResult {
  actor: Gpt;
  reference: Gpt;
  critic: Gpt;
  /** One row per logged iteration (what metrics.jsonl holds). */
  history: MetricRow[];
}

/** Runs PPO (see the module doc). */
export async function trainPpo(cfg: PpoConfig, inputs: PpoInputs): Promise<PpoResult> {
  const { policy, task, scorer } = inputs;
  const gpu = policy.gpu;
  const B = cfg.batchSize, M = cfg.minibatches;
  if (B % M !== 0) throw new RangeError(`PPO: batchSize ${B} is not a multiple of minibatches ${M}`);
  const rng = new Rng(cfg.seed);
  const criticSource = cfg.criticInit === "reward_model" ? inputs.rewardModel : policy;
  if (!criticSource) throw new TypeError("PPO: criticInit is 'reward_model' but no rewardModel was given");
  const earlyStopRatio = earlyStop("PPO", cfg.earlyStopRatio);

  // The four models of ReaLHF's PPO (actor, reference, critic; the reward model sits inside the scorer).
  const actor = await cloneGpt(policy, "actor");
  const ref = await referenceCopy("PPO", inputs);
  const critic = await criticFrom(criticSource, rng.split("critic-init"));
  const [actorOpt, criticOpt] = [adamwFor(actor.params, cfg.actor), adamwFor(critic.params, cfg.critic)];
  const lr = { actor: lrSchedule(cfg.actor, cfg.iterations * M), critic: lrSchedule(cfg.critic, cfg.iterations * M) };

  // Derived sizes and buffers: every rollout is [B, T], T = maxPromptLen + maxNewTokens.
  const rollouts = new RolloutPhase(actor, task.tokenizer, cfg);
  const T = rollouts.width, shape = { batch: B, width: T, minibatches: M };
  const refWs = ref.workspace(B, T, { grad: false, label: "ref.ws" });
  const criticWs = critic.workspace(B, T, { grad: false, label: "critic.inf" });
  const bt = (label: string) => gpu.tensor([B, T], "f32", `ppo.${label}`);
  const buf = {
    scores: gpu.tensor([B], "f32", "ppo.scores"), // [B] task scores
    bootstrap: gpu.tensor([B], "f32", "ppo.bootstrap"), // [B] de-normalised V after the last token
    values: bt("values"), // [B, T] de-normalised values for GAE
    rewards: bt("rewards"), // [B, T]
    advantages: bt("advantages"), // [B, T]
    returns: bt("returns"), // [B, T]
    target: bt("value_target"), // [B, T] normalised returns
    klStats: gpu.tensor([KL_REWARD_STATS.length], "f32", "ppo.kl_stats"),
    advStats: gpu.zeros([WHITEN_STATS.length], "f32", "ppo.adv_stats"),
  };
  const rms = cfg.valueNorm ? new ExponentialRunningMeanStd(gpu, { beta: cfg.valueNormBeta }) : null;
  const actorTrainer = new PolicyTrainer(actor, actorOpt, ref, shape);
  const criticTrainer = new CriticTrainer(critic, criticOpt, shape);
  const actorSettings = {
    lr: lr.actor,
    clipEps: cfg.clipEps,
    earlyStopRatio,
    refEmaEta: cfg.refEmaEta,
  };
  const criticSettings = { lr: lr.critic, valueClipEps: cfg.valueClip ? cfg.valueClipEps : Infinity };
  const [promptRng, sampleKey] = [rng.split("prompts"), rng.split("rollout")];
  const log = new TrainLog("ppo", cfg.iterations, inputs.run);

  for (let it = 1; it <= cfg.iterations; it++) {
    const logging = it % cfg.logEvery === 0 || it === cfg.iterations;
    // 1-2. Prompts and responses (the sampler's submits), then the scoring submit: the task score of each response
    // (§9.5 step 3), left on the GPU.
    const prompts = drawPrompts(task, promptRng, it, B);
    const sr = await sampleAndScore(rollouts, scorer, prompts, {
      key: sampleKey,
      index: it - 1,
      scores: buf.scores,
      read: logging,
    });
    const { r, scores } = sr, x = r.rollout.gpu;

    // 3. The training submit.
    const enc = gpu.encoder("ppo train");
    // Reference log-probs of the sampled tokens (§9.5 step 4); KL-shaped per-token rewards, the clipped score at the
    // last token of terminated responses (§8.3).
    const kr = cfg.reward;
    recordReferenceKl(enc, ref, refWs, x, buf, { ...kr, beta: kr.klCoef });
    // Critic values V(s_t) at every position, and V after the last token, which bootstraps truncated responses
    // (§9.5 step 5).
    critic.forward(enc, criticWs, x.tokens);
    critic.lastTokenScore(enc, criticWs, x.lastIndex);
    let [values, bootstrap] = [criticWs.values!, criticWs.score!];
    if (rms) {
      // The critic predicts normalised values; GAE needs them in reward units (ReaLHF: rms.denormalize).
      rms.denormalize(enc, values, buf.values);
      rms.denormalize(enc, bootstrap, buf.bootstrap);
      [values, bootstrap] = [buf.values, buf.bootstrap];
    }
    // GAE (§8.4), then the critic's target: returns normalised with the statistics updated by this batch (§8.6).
    const { mask, terminated } = x;
    const { advantages, returns } = buf;
    gae(enc, { rewards: buf.rewards, values, mask, terminated, bootstrap }, { advantages, returns }, {
      gamma: cfg.gamma,
      lambda: cfg.lambda,
    });
    let target = buf.returns;
    if (rms) {
      rms.update(enc, buf.returns, mask);
      rms.normalize(enc, buf.returns, mask, buf.target);
      target = buf.target;
    }
    // Advantage normalisation over all response tokens of the batch, before the split (§8.5, §9.6).
    if (cfg.advNorm) whiten(enc, buf.advantages, mask, buf.advStats);
    // M actor steps, then M critic steps (§9.5 steps 6-7), each mini-batch used once.
    const { tokens, targets } = x;
    actorTrainer.record(enc, { tokens, targets, mask, logpOld: x.logp, advantages: buf.advantages }, actorSettings);
    criticTrainer.record(enc, { tokens, mask, valuesOld: criticWs.values!, returns: target }, criticSettings);

    const reads = logging
      ? {
        kl: enc.read(buf.klStats),
        adv: cfg.advNorm ? enc.read(buf.advStats) : null,
        actor: actorTrainer.readStats(enc),
        critic: criticTrainer.readStats(enc),
      }
      : null;
    await enc.submit();
    if (!reads) {
      log.tick(it);
      continue;
    }
    const trained = performance.now();
    const kl = namedStats(KL_REWARD_STATS, await reads.kl);
    // The advantages' mean and spread before whitening (only measured when advantage normalisation is on).
    const adv = reads.adv ? namedStats(WHITEN_STATS, await reads.adv) : null;
    const [a, c] = [await reads.actor, await reads.critic];
    const row: Record<string, number> = {
      ...rolloutMetrics(r, scores!, task),
      "charts/kl_ref": kl.kl_seq_mean,
      "charts/task_reward_mean": kl.task_reward_mean,
      ...(adv ? { "charts/adv_mean": adv.mean, "charts/adv_std": adv.std } : {}),
      ...actorMetrics(a),
      "losses/early_stopped": a.earlyStopped,
      "losses/value": c.valueLoss,
      "losses/value_clipfrac": c.valueClipFrac,
      "losses/explained_variance": c.explainedVariance,
      ...iterationPerf(sr, trained),
    };
    await log.log(it, row, iterationStatus(row));
  }
  log.stop();
  await inputs.run?.writeSummary({ iterations: cfg.iterations, final: log.rows.at(-1) ?? null });
  for (const x of [refWs, criticWs, actorTrainer, criticTrainer, rollouts.sampler, ...Object.values(buf)]) x.destroy();
  rms?.state.destroy();
  return { actor, reference: ref, critic, history: log.rows };
}
