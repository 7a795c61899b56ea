/**
 * Reward-model training on preference pairs (PAPER.md Eq. 3-4, §8 item 1; ReaLHF `PairedRewardInterface`): a GPT
 * with a scalar head scores each `prompt + response` at its last token (the EOS), and the Bradley-Terry loss
 * −log σ(s_w − s_l) is minimised over the pairs. Held-out pair accuracy is what it is judged by.
 *
 * The model is a scalar-head {@link Gpt} (no LM head), so its checkpoint loads into any scalar-head Gpt of the same
 * size: PPO's critic is initialised from it, as ReaLHF's example scripts do (PAPER.md §5.5).
 *
 * Reads like a CleanRL script: the config, then {@link trainRewardModel} top to bottom (one submit per step: forward
 * of the 2P rows, last-token scores, BT loss, backward, AdamW), plumbing in preference_batch.ts and train_common.ts.
 * Held-out evaluation, the labels' accuracy ceiling and checkpoints are in reward_model_eval.ts.
 *
 * @example
 * ```ts
 * const cfg = resolveConfig(REWARD_MODEL_SCHEMA, { sets: ["epochs=3"] });
 * const { model, heldOut } = await trainRewardModel(gpu, { tokenizer, train, heldOut: test, config: cfg });
 * console.log(heldOut.accuracy);
 * const scorer = new RewardModelScorer(model, tokenizer);   // algorithms/scorer.ts
 * ```
 * @module
 */
import { BRADLEY_TERRY_STATS, bradleyTerryLoss } from "../kernels/bradley_terry.ts";
import type { StepEncoder } from "../kernels/encoder.ts";
import type { Gpu } from "../kernels/gpu.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { Rng } from "../kernels/rng.ts";
import { Gpt } from "../nn/gpt.ts";
import { copySharedParams } from "../nn/gpt_copy.ts";
import { checkGptConfig, type GptConfig } from "../nn/gpt_config.ts";
import type { GptWorkspace } from "../nn/gpt_workspace.ts";
import type { PreferencePair } from "../testbeds/sanity.ts";
import type { Tokenizer } from "../testbeds/tokenizer.ts";
import { type ConfigOf, opt } from "../util/config.ts";
import type { MetricRow, RunDir } from "../util/run_dir.ts";
import { DataOrder, fixedWidth, widthOf } from "./batch.ts";
import { pairRows } from "./preference_batch.ts";
import { evaluatePairs, type PairEvaluation } from "./reward_model_eval.ts";
import { SCHEDULE_FIELDS, UpdateLoop } from "./train_common.ts";

/** Reward-model settings. Defaults follow ReaLHF's rw.sh example where it has one, scaled for tiny models. */
export const REWARD_MODEL_SCHEMA = {
  seed: opt(1, "Run seed: init and data order derive from it", { int: true }),
  model: {
    d: opt(64, "Width (the xs preset)", { int: true, min: 1 }),
    layers: opt(2, "Transformer blocks (xs)", { int: true, min: 1 }),
    heads: opt(4, "Attention heads (xs)", { int: true, min: 1 }),
    ctx: opt(32, "Context; match the policy's so PPO's critic can start from this model", { int: true, min: 2 }),
  },
  // ReaLHF's rw.sh uses 1e-5 for billion-parameter models fine-tuned from SFT; a d-32..64 model trained from
  // scratch for a few hundred steps needs a rate ~300x larger (AdamW's usable rate grows as the width shrinks,
  // ~1e-3 for models this size; 3e-3 got the sanity RM past its plateau soonest, see reward_model_test.ts).
  lr: opt(3e-3, "Peak AdamW learning rate (ReaLHF 1e-5 at 7B; scaled for d ~ 32-64, see comment)", { min: 0 }),
  ...SCHEDULE_FIELDS,
  epochs: opt(2, "Passes over the pairs (ReaLHF rw.sh: 2)", { int: true, min: 1 }),
  batchPairs: opt(32, "Pairs per step: 2x as many sequences (ReaLHF rw.sh: 512 sequences at 7B)", {
    int: true,
    min: 1,
  }),
  logEvery: opt(10, "Steps between metric rows (each reads back 5 floats)", { int: true, min: 1 }),
  evalRows: opt(64, "Sequences per forward when scoring held-out pairs", { int: true, min: 1 }),
  outputScaling: opt(1, "ReaLHF output_scaling applied when the model scores (inference only)"),
  outputBias: opt(0, "ReaLHF output_bias: score = (s - bias)·scaling (inference only)"),
};

/** A resolved reward-model config. */
export type RewardModelConfig = ConfigOf<typeof REWARD_MODEL_SCHEMA>;

/** What {@link trainRewardModel} returns. */
export interface RewardModelResult {
  model: Gpt;
  heldOut: PairEvaluation | null;
  metrics: MetricRow[];
}

/** The scalar-head GPT config of a reward model for `tokenizer`. */
export function rewardModelConfig(cfg: RewardModelConfig, tokenizer: Tokenizer): GptConfig {
  const { d, layers, heads, ctx } = cfg.model;
  return checkGptConfig({ vocab: tokenizer.vocabSize, ctx, d, layers, heads, lmHead: false, scalarHead: true });
}

/**
 * Trains a reward model on `train` pairs and evaluates it on `heldOut`. With `init` (an SFT policy of the same
 * size) every shared parameter starts from it and the scalar head is fresh, as ReaLHF builds its RM from the SFT
 * model; otherwise GPT-2 initialisation from the seed.
 */
export async function trainRewardModel(gpu: Gpu, opts: {
  tokenizer: Tokenizer;
  train: readonly PreferencePair[];
  heldOut?: readonly PreferencePair[];
  config: RewardModelConfig;
  init?: Gpt;
  run?: RunDir;
}): Promise<RewardModelResult> {
  const { tokenizer, train, config: cfg, run } = opts;
  const P = cfg.batchPairs, rng = new Rng(cfg.seed);
  if (train.length < P) {
    throw new RangeError(`Reward model: ${train.length} training pairs, fewer than batchPairs ${P}`);
  }
  const model = new Gpt(gpu, rewardModelConfig(cfg, tokenizer), "reward_model");
  model.params.initialize(rng.split("init"));
  if (opts.init) await copySharedParams(opts.init, model);
  const width = widthOf(tokenizer, pairRows([...train, ...(opts.heldOut ?? [])]), model.config.ctx);
  const bt = new RewardModelStep(gpu, P);
  // AdamW, the schedule, the [2P, T] workspace and batch, one submit per step (train_common.ts).
  const loop = new UpdateLoop(model, bt, {
    config: cfg,
    items: train.length,
    perStep: P,
    rows: 2 * P,
    width,
    stats: BRADLEY_TERRY_STATS,
    label: "rm",
    task: "reward model",
    run,
  });
  const { totalSteps, log } = loop;
  let step = 0;

  const order = new DataOrder(rng.split("data"), train.length);
  while (step < totalSteps) {
    step++;
    const idx = order.take(P);
    loop.bufs.write(fixedWidth(tokenizer, pairRows(idx.map((i) => train[i])), width));
    await loop.update(step, (m) => ({
      "losses/rm": m.loss,
      "rm/train_accuracy": m.accuracy,
      "rm/train_margin": m.margin,
    }));
  }
  log.stop();
  bt.destroy();
  loop.destroy();
  let heldOut: PairEvaluation | null = null;
  if (opts.heldOut && opts.heldOut.length > 0) {
    heldOut = await evaluatePairs(model, tokenizer, opts.heldOut, { width, rows: cfg.evalRows });
    await log.log(step, { "rm/accuracy": heldOut.accuracy, "rm/margin": heldOut.margin });
  }
  await run?.writeSummary({
    steps: step,
    heldout_accuracy: heldOut?.accuracy ?? null,
    final_loss: log.last("losses/rm"),
  });
  return { model, heldOut, metrics: log.rows };
}

/**
 * The Bradley-Terry loss and gradient of one reward-model step over P pairs (rows 0..P-1 chosen, P..2P-1 rejected):
 * forward, last-token scores, the loss (Eq. 4) and its gradient scattered back to the last tokens and through the
 * model into `params.grads` (accumulated: the caller zeroes). Every pair weighs the same: the sanity data has one
 * pair per prompt, where ReaLHF's 1/(pairs per prompt) weights would all be 1.
 */
export class RewardModelStep {
  readonly loss: Tensor<"f32">; // [1]
  readonly stats: Tensor<"f32">; // [5] BRADLEY_TERRY_STATS
  readonly #sc: Tensor<"f32">; // [P] s_w
  readonly #sr: Tensor<"f32">; // [P] s_l
  readonly #dc: Tensor<"f32">; // [P] ∂L/∂s_w
  readonly #dr: Tensor<"f32">; // [P] ∂L/∂s_l
  readonly #dscore: Tensor<"f32">; // [2P] both, in row order

  constructor(gpu: Gpu, readonly P: number) {
    const f = (n: number, label: string) => gpu.tensor([n], "f32", `rm.${label}`);
    [this.#sc, this.#sr, this.#dc, this.#dr] = ["sc", "sr", "dc", "dr"].map((n) => f(P, n));
    this.#dscore = f(2 * P, "dscore");
    this.loss = f(1, "loss");
    this.stats = f(BRADLEY_TERRY_STATS.length, "stats");
  }

  /** Records the step's forward, loss and backward (no optimizer step) on a [2P, T] batch. */
  record(enc: StepEncoder, model: Gpt, ws: GptWorkspace, batch: { tokens: Tensor; lastIndex: Tensor }): void {
    const P = this.P;
    model.forward(enc, ws, batch.tokens);
    const score = model.lastTokenScore(enc, ws, batch.lastIndex); // [2P]
    enc.copy(score.view(0, [P]), this.#sc);
    enc.copy(score.view(P, [P]), this.#sr);
    bradleyTerryLoss(
      enc,
      { chosen: this.#sc, rejected: this.#sr },
      { loss: this.loss, dChosen: this.#dc, dRejected: this.#dr, stats: this.stats },
    );
    enc.copy(this.#dc, this.#dscore.view(0, [P]));
    enc.copy(this.#dr, this.#dscore.view(P, [P]));
    model.lastTokenScoreBackward(enc, ws, this.#dscore, batch.lastIndex); // ws.dvalues [2P, T]
    model.backward(enc, ws, { dvalues: ws.dvalues! });
  }

  destroy(): void {
    for (const t of [this.#sc, this.#sr, this.#dc, this.#dr, this.#dscore, this.loss, this.stats]) t.destroy();
  }
}
