/**
 * A trained reward model outside its training loop: held-out pair accuracy ({@link evaluatePairs}, which
 * algorithms/reward_model.ts logs as `rm/accuracy`), the accuracy that Bradley-Terry labels allow at all
 * ({@link labelCeiling}), and checkpoints ({@link saveRewardModel}, {@link loadRewardModel}) whose config records how
 * to rebuild and score with the model. The checkpoint is a scalar-head {@link Gpt}'s, so it also loads into PPO's
 * critic (PAPER.md §5.5).
 *
 * @example
 * ```ts
 * const { accuracy } = await evaluatePairs(model, tokenizer, heldOut);
 * const { bayes } = labelCeiling(heldOut, (p, r) => task.gold(p, r), task.options.labelTemperature);
 * await saveRewardModel(dir, model, tokenizer);
 * const { model: rm, record } = await loadRewardModel(gpu, dir);
 * ```
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import { loadCheckpoint, saveCheckpoint } from "../nn/checkpoint.ts";
import { Gpt } from "../nn/gpt.ts";
import type { GptConfig } from "../nn/gpt_config.ts";
import type { PreferencePair } from "../testbeds/sanity.ts";
import { type Tokenizer, tokenizerFromJSON, type TokenizerJSON } from "../testbeds/tokenizer.ts";
import { widthOf } from "./batch.ts";
import { pairRows, sequenceValues } from "./preference_batch.ts";

/** Held-out evaluation of a reward model on labelled pairs. */
export interface PairEvaluation {
  /** Fraction of pairs whose chosen response scores strictly higher (rm/accuracy). */
  accuracy: number;
  /** Mean s_w − s_l. */
  margin: number;
  /** Scores of the chosen [P] and rejected [P] responses. */
  chosen: Float32Array;
  rejected: Float32Array;
}

/** Scores both responses of every pair (one submit, one readback) and the fraction ranked as labelled. */
export async function evaluatePairs(
  model: Gpt,
  tokenizer: Tokenizer,
  pairs: readonly PreferencePair[],
  { width, rows = 64 }: { width?: number; rows?: number } = {},
): Promise<PairEvaluation> {
  const ex = pairRows(pairs), P = pairs.length;
  const w = width ?? widthOf(tokenizer, ex, model.config.ctx);
  const s = await sequenceValues(model, tokenizer, ex, { width: w, rows, kind: "score" });
  const chosen = s.slice(0, P), rejected = s.slice(P);
  let right = 0, margin = 0;
  for (let i = 0; i < P; i++) {
    if (chosen[i] > rejected[i]) right++;
    margin += chosen[i] - rejected[i];
  }
  return { accuracy: right / P, margin: margin / P, chosen, rejected };
}

/**
 * What accuracy the labels allow. Labels are Bradley-Terry draws on the gold score, P(label = a ≻ b) =
 * σ((gold(a) − gold(b))/τ), so no scorer can expect more than the Bayes accuracy mean_i max(p_i, 1 − p_i) (ties:
 * 1/2). `goldOrder` is what the gold judge itself scores on these very labels (ties count 1/2): the realised
 * counterpart of the Bayes figure.
 */
export function labelCeiling(
  pairs: readonly PreferencePair[],
  gold: (prompt: string, response: string) => number,
  temperature: number,
): { bayes: number; goldOrder: number } {
  if (!(temperature > 0)) throw new RangeError(`labelCeiling: temperature must be > 0, got ${temperature}`);
  let bayes = 0, order = 0;
  for (const p of pairs) {
    const d = gold(p.prompt, p.chosen) - gold(p.prompt, p.rejected);
    const q = 1 / (1 + Math.exp(-d / temperature));
    bayes += Math.max(q, 1 - q);
    order += d > 0 ? 1 : d === 0 ? 0.5 : 0;
  }
  return { bayes: bayes / pairs.length, goldOrder: order / pairs.length };
}

/** What a reward-model checkpoint's config.json holds. */
export interface RewardModelRecord {
  kind: "reward_model";
  gpt: GptConfig;
  tokenizer: TokenizerJSON;
  outputScaling: number;
  outputBias: number;
}

/** Saves a reward model as a checkpoint (nn/checkpoint.ts) whose config records how to rebuild and score with it. */
export async function saveRewardModel(
  dir: string,
  model: Gpt,
  tokenizer: Tokenizer,
  { outputScaling = 1, outputBias = 0 } = {},
): Promise<void> {
  const record: RewardModelRecord = {
    kind: "reward_model",
    gpt: model.config,
    tokenizer: tokenizer.toJSON(),
    outputScaling,
    outputBias,
  };
  await saveCheckpoint(dir, { params: model.params, config: record });
}

/** Loads a checkpoint written by {@link saveRewardModel} into a new scalar-head Gpt. */
export async function loadRewardModel(
  gpu: Gpu,
  dir: string,
): Promise<{ model: Gpt; tokenizer: Tokenizer; record: RewardModelRecord }> {
  const record = JSON.parse(await Deno.readTextFile(`${dir}/config.json`)) as RewardModelRecord;
  if (record?.kind !== "reward_model") throw new TypeError(`Checkpoint ${dir} is not a reward model`);
  const tokenizer = tokenizerFromJSON(record.tokenizer, `${dir}/config.json`);
  const model = new Gpt(gpu, record.gpt, "reward_model");
  await loadCheckpoint(dir, { params: model.params });
  return { model, tokenizer, record };
}
