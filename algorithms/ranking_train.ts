/**
 * The training loop RRHF and PRO share (the paper's Table 4 baselines; algorithms/rrhf.ts and algorithms/pro.ts hold
 * their configs): G prompts per step, each with k scored candidate responses, a ranking loss on the responses'
 * length-normalised log-probabilities p_i = Σ_t log π(y_i,t) / |y_i| (kernels/ranking_loss.ts) plus the SFT term on
 * each group's best-scored response, −p_best (mean token NLL, as RRHF's `sft_loss` and PRO's L_SFT):
 *
 *   L = L_rank(p, r) + sftWeight · mean over groups of (−p_best)
 *
 * One submit per step: forward of the G·k rows, masked row sums, ×1/|y|, the ranking loss and its gradient w.r.t. p,
 * plus the SFT term's (−sftWeight/G at each best response), ×1/|y| again, scattered onto the response tokens and
 * taken back through the model, AdamW.
 *
 * Candidates (RRHF's and PRO's offline setting): the data set's two responses of each prompt plus
 * `samplesPerPrompt` samples of the starting (SFT) policy, all scored once by a {@link Scorer} before training.
 * @module
 */
import { axpy, binary } from "../kernels/elementwise.ts";
import type { StepEncoder } from "../kernels/encoder.ts";
import type { Gpu } from "../kernels/gpu.ts";
import { PRO_MAX_K, PRO_STATS, proLoss, RRHF_STATS, rrhfLoss } from "../kernels/ranking_loss.ts";
import { sum } from "../kernels/reduce.ts";
import { Rng } from "../kernels/rng.ts";
import type { Tensor } from "../kernels/tensor.ts";
import type { Gpt } from "../nn/gpt.ts";
import type { GptWorkspace } from "../nn/gpt_workspace.ts";
import type { Sampler } from "../nn/sampler.ts";
import type { PreferencePair } from "../testbeds/sanity.ts";
import type { Example, Tokenizer } from "../testbeds/tokenizer.ts";
import { opt } from "../util/config.ts";
import type { MetricRow, RunDir } from "../util/run_dir.ts";
import { DataOrder, fixedWidth, widthOf } from "./batch.ts";
import type { Evaluate } from "./dpo.ts";
import { sampleResponses, type SampleSettings } from "./policy_eval.ts";
import { responseInverseLengths } from "./preference_batch.ts";
import type { Scorer } from "./scorer.ts";
import { SCHEDULE_FIELDS, UpdateLoop } from "./train_common.ts";

/** k scored candidate responses to one prompt. */
export interface RankingGroup {
  prompt: string;
  responses: string[];
  scores: number[];
}

/** The config fields RRHF and PRO share (each file adds its loss weights and documents its defaults). */
export const RANKING_FIELDS = {
  seed: opt(1, "Run seed: sampling and data order derive from it", { int: true }),
  samplesPerPrompt: opt(2, "Policy samples per prompt added to the data set's two responses", { int: true, min: 0 }),
  maxNewTokens: opt(10, "Most new tokens per sampled candidate, EOS included", { int: true, min: 1 }),
  temperature: opt(1, "Sampling temperature of the candidates", { min: 0 }),
  // As DPO's rate (algorithms/dpo.ts): the 7B papers fine-tune at ~1e-5; a d-32..64 model over ~100 steps
  // needs ~100x that.
  lr: opt(1e-3, "Peak AdamW rate (7B papers ~1e-5; scaled for d ~ 32-64 and ~100 steps, see dpo.ts)", { min: 0 }),
  ...SCHEDULE_FIELDS,
  epochs: opt(2, "Passes over the groups", { int: true, min: 1 }),
  groupsPerStep: opt(8, "Prompts (groups of k responses) per step", { int: true, min: 1 }),
  logEvery: opt(10, "Steps between metric rows", { int: true, min: 1 }),
  evalEvery: opt(0, "Steps between evaluate-hook calls; 0 = start and end only", { int: true, min: 0 }),
};

/** Settings {@link trainRanking} reads. */
export interface RankingConfig {
  seed: number;
  lr: number;
  warmupProportion: number;
  minLrRatio: number;
  weightDecay: number;
  epochs: number;
  groupsPerStep: number;
  logEvery: number;
  evalEvery: number;
  sftWeight: number;
}

/** The candidates of every pair's prompt: chosen, rejected, then `samplesPerPrompt` policy samples, all scored. */
export async function buildCandidates(
  sampler: Sampler,
  tok: Tokenizer,
  pairs: readonly PreferencePair[],
  scorer: Scorer,
  opts: { samplesPerPrompt: number; settings: SampleSettings; key: Rng },
): Promise<RankingGroup[]> {
  const s = opts.samplesPerPrompt;
  const sampled = s > 0
    ? (await sampleResponses(sampler, tok, pairs.flatMap((p) => Array(s).fill(p.prompt)), opts.settings, opts.key))
      .responses
    : [];
  const groups = pairs.map((p, i) => ({
    prompt: p.prompt,
    responses: [p.chosen, p.rejected, ...sampled.slice(i * s, (i + 1) * s)],
    scores: [] as number[],
  }));
  const scores = await scorer.score(
    groups.flatMap((g) => g.responses.map(() => g.prompt)),
    groups.flatMap((g) => g.responses),
  );
  const k = s + 2;
  groups.forEach((g, i) => (g.scores = Array.from(scores.subarray(i * k, (i + 1) * k))));
  return groups;
}

/** The rows of G groups, group-major. */
export function groupRows(groups: readonly RankingGroup[]): Example[] {
  return groups.flatMap((g) => g.responses.map((response) => ({ prompt: g.prompt, response })));
}

/** −1/G at each group's best-scored response (first on ties, as the kernel's `best`), 0 elsewhere: [G·k]. */
export function bestIndicator(groups: readonly RankingGroup[]): Float32Array {
  const G = groups.length, k = groups[0].responses.length, out = new Float32Array(G * k);
  groups.forEach((g, i) => {
    let b = 0;
    for (let j = 1; j < k; j++) if (g.scores[j] > g.scores[b]) b = j;
    out[i * k + b] = -1 / G;
  });
  return out;
}

/** The loss and gradient of one ranking step over G groups of k (see the module doc). */
export class RankingStep {
  readonly names: readonly string[];
  readonly rewards: Tensor<"f32">; // [G, k] candidate scores (written by the caller)
  readonly bestInd: Tensor<"f32">; // [G·k] −1/G at each group's best (written by the caller)
  readonly invLength: Tensor<"f32">; // [G·k] 1/|y| (written by the caller)
  readonly stats: Tensor<"f32">; // [names.length]: the ranking loss's stats, then the SFT term
  readonly #p: Tensor<"f32">; // [G, k] length-normalised log-probs
  readonly #dp: Tensor<"f32">; // [G, k] ∂L/∂p
  readonly #dseq: Tensor<"f32">; // [G·k] ∂L/∂(Σ log π)
  readonly #tmp: Tensor<"f32">; // [G·k]
  readonly #sft: Tensor<"f32">; // [1] mean −p_best
  readonly #loss: Tensor<"f32">; // [1]
  readonly #best: Tensor<"u32">; // [G]
  readonly #rankStats: Tensor<"f32">;

  constructor(
    gpu: Gpu,
    readonly G: number,
    readonly k: number,
    readonly kind: "rrhf" | "pro",
    readonly sftWeight: number,
  ) {
    if (kind === "pro" && k > PRO_MAX_K) throw new RangeError(`PRO: group size ${k} is over ${PRO_MAX_K}`);
    if (!(Number.isFinite(sftWeight) && sftWeight >= 0)) {
      throw new RangeError(`Ranking: sftWeight must be finite and >= 0, got ${sftWeight}`);
    }
    const rank = kind === "rrhf" ? RRHF_STATS : PRO_STATS;
    this.names = [...rank, "sft"];
    const f = (shape: number[], label: string) => gpu.tensor(shape, "f32", `${kind}.${label}`);
    [this.rewards, this.#p, this.#dp] = ["rewards", "p", "dp"].map((n) => f([G, k], n));
    [this.bestInd, this.invLength, this.#dseq, this.#tmp] = ["best_ind", "inv_len", "dseq", "tmp"].map((n) =>
      f([G * k], n)
    );
    this.#sft = f([1], "sft");
    this.#loss = f([1], "loss");
    this.#rankStats = f([rank.length], "rank_stats");
    this.stats = f([this.names.length], "stats");
    this.#best = gpu.tensor([G], "u32", `${kind}.best`);
  }

  /** Records the forward, loss and backward (no optimizer step) on a [G·k, T] batch. */
  record(enc: StepEncoder, policy: Gpt, ws: GptWorkspace, batch: { tokens: Tensor; targets: Tensor; mask: Tensor }) {
    const n = this.names.length - 1;
    policy.forward(enc, ws, batch.tokens);
    policy.tokenLogprobs(enc, ws, batch.targets);
    const seq = policy.sequenceLogprobs(enc, ws, batch.mask); // [G·k] Σ log π over response tokens
    binary(enc, "mul", seq, this.invLength, this.#p); // p = Σ log π / |y|
    const lossFn = this.kind === "rrhf" ? rrhfLoss : proLoss;
    lossFn(enc, { logp: this.#p, rewards: this.rewards }, {
      loss: this.#loss,
      dlogp: this.#dp,
      best: this.#best,
      stats: this.#rankStats,
    });
    // SFT term on the best response: value mean(−p_best) (logged), gradient −sftWeight/G at each best.
    binary(enc, "mul", this.bestInd, this.#p, this.#tmp);
    sum(enc, this.#tmp, this.#sft);
    enc.copy(this.#rankStats, this.stats.view(0, [n]));
    enc.copy(this.#sft, this.stats.view(n, [1]));
    axpy(enc, this.sftWeight, this.bestInd, this.#dp);
    binary(enc, "mul", this.#dp, this.invLength, this.#dseq); // chain rule through p = Σ/|y|
    policy.sequenceLogprobsBackward(enc, ws, this.#dseq, batch.mask); // ws.dlogp [G·k, T]
    policy.backward(enc, ws, { dlogp: ws.dlogp });
  }

  destroy(): void {
    for (const t of [this.rewards, this.bestInd, this.invLength, this.stats, this.#p, this.#dp, this.#dseq]) {
      t.destroy();
    }
    for (const t of [this.#tmp, this.#sft, this.#loss, this.#best, this.#rankStats]) t.destroy();
  }
}

/** Trains `policy` in place on scored groups with the RRHF or PRO loss; evaluates at the start and the end. */
export async function trainRanking(gpu: Gpu, opts: {
  kind: "rrhf" | "pro";
  policy: Gpt;
  tokenizer: Tokenizer;
  groups: readonly RankingGroup[];
  config: RankingConfig;
  evaluate?: Evaluate;
  run?: RunDir;
}): Promise<{ metrics: MetricRow[]; steps: number; final: Record<string, number> }> {
  const { kind, policy, tokenizer, groups, config: cfg, run } = opts;
  const G = cfg.groupsPerStep, N = groups.length;
  if (N < G) throw new RangeError(`${kind.toUpperCase()}: ${N} groups, fewer than groupsPerStep ${G}`);
  const k = groups[0].responses.length;
  const bad = groups.findIndex((g) => g.responses.length !== k || g.scores.length !== k);
  if (bad >= 0) throw new RangeError(`${kind.toUpperCase()}: group ${bad} does not have k = ${k} scored responses`);
  const width = widthOf(tokenizer, groupRows(groups), policy.config.ctx);
  const step1 = new RankingStep(gpu, G, k, kind, cfg.sftWeight);
  // AdamW, the schedule, the [G·k, T] workspace and batch, one submit per step (train_common.ts).
  const loop = new UpdateLoop(policy, step1, {
    config: cfg,
    items: N,
    perStep: G,
    rows: G * k,
    width,
    stats: step1.names,
    label: kind,
    run,
  });
  const { totalSteps, log } = loop;
  let final: Record<string, number> = {};
  const evaluate = async (step: number) => {
    if (!opts.evaluate) return;
    final = await opts.evaluate(step);
    await log.log(step, final);
  };
  await evaluate(0);
  const order = new DataOrder(new Rng(cfg.seed).split(`${kind}-data`), N);
  let step = 0;
  while (step < totalSteps) {
    step++;
    const batch = order.take(G).map((i) => groups[i]);
    const tb = fixedWidth(tokenizer, groupRows(batch), width);
    loop.bufs.write(tb);
    step1.invLength.write(responseInverseLengths(tb));
    step1.rewards.write(batch.flatMap((g) => g.scores));
    step1.bestInd.write(bestIndicator(batch));
    await loop.update(step, (m) => ({
      [`losses/${kind}`]: m.loss + cfg.sftWeight * m.sft,
      ...Object.fromEntries(Object.entries(m).map(([key, v]) => [`${kind}/${key}`, v])),
    }));
    if (cfg.evalEvery > 0 && step % cfg.evalEvery === 0 && step !== totalSteps) await evaluate(step);
  }
  await evaluate(step);
  log.stop();
  await run?.writeSummary({ steps: step, final_loss: log.last(`losses/${kind}`), ...final });
  step1.destroy();
  loop.destroy();
  return { metrics: log.rows, steps: step, final };
}
