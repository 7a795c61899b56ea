/**
 * Scorers: what turns a (prompt, response) into one scalar reward. Two kinds share one interface so every algorithm
 * (PPO, GRPO, iterative DPO, RRHF, PRO, evaluation) takes either:
 *
 * - {@link GoldScorer}: the testbed's hidden judge, a plain `(prompt, response) => number` on the CPU (the stand-in
 *   for human labels, GPT-4 or hidden unit tests; the paper's code tasks reward 10/0 from the tests, §6.3);
 * - {@link RewardModelScorer}: a Bradley-Terry reward model, a {@link Gpt} with a scalar head whose score is read at
 *   each sequence's last token (PAPER.md §8.1, ReaLHF `PairedRewardInterface.inference`), transformed as
 *   (s − outputBias)·outputScaling like ReaLHF's inference.
 *
 * A scorer records its scores into a caller's encoder (`scoreInto`), so a PPO iteration scores inside its training
 * submit with no extra round trip: a reward model runs on the GPU tokens the sampler produced; a gold judge reads
 * the decoded text (which the caller has anyway, to log samples) and stages its scores with one queue write. `score`
 * is the convenience form for text on the CPU (one submit and one readback).
 *
 * @example
 * ```ts
 * const gold = new GoldScorer(gpu, "sanity-gold", (p, r) => task.gold(p, r));
 * const rm = new RewardModelScorer(rewardModel, task.tokenizer);
 * const g = await gold.score(["ab"], ["aaaa"]);        // Float32Array [0.5]
 * // inside a PPO step: rm.scoreInto(enc, { tokens, lastIndex }, scores)  // tokens u32 [B, T], scores f32 [B]
 * ```
 * @module
 */
import type { StepEncoder } from "../kernels/encoder.ts";
import { axpy, fill } from "../kernels/elementwise.ts";
import type { Gpu } from "../kernels/gpu.ts";
import type { Tensor } from "../kernels/tensor.ts";
import type { Gpt } from "../nn/gpt.ts";
import type { GptWorkspace } from "../nn/gpt_workspace.ts";
import { buildBatch, type Tokenizer } from "../testbeds/tokenizer.ts";

/**
 * Most rows {@link RewardModelScorer.score} runs in one submit: at 2048 rows of context 32 an `xs` model's largest
 * activation is about 60 MB, under the 128 MiB storage binding WebGPU guarantees (RRHF scores 12 000 candidates).
 */
export const SCORE_CHUNK = 2048;

/** What a scorer may read. Gold judges need the text; reward models need tokens (or text they tokenize). */
export interface ScoreInput {
  /** Prompt texts [B] (no specials). */
  prompts?: readonly string[];
  /** Response texts [B] (specials dropped; the EOS that ended a response is not part of the text). */
  responses?: readonly string[];
  /** u32 [B, T]: right-padded `BOS prompt SEP response EOS` rows, the sampler's and buildBatch's layout. */
  tokens?: Tensor;
  /** u32 [B]: index of each row's last real token (its EOS when it ended), where a reward model reads its score. */
  lastIndex?: Tensor;
}

/** A reward function over a batch of responses. */
export interface Scorer {
  /** A short name for logs and run records. */
  readonly name: string;
  /** Whether `scoreInto` reads text ("text") or GPU tokens ("tokens", text accepted too). */
  readonly reads: "text" | "tokens";
  /** Records the scores of the batch into `out` f32 [B] as part of `enc` (no readback). */
  scoreInto(enc: StepEncoder, input: ScoreInput, out: Tensor<"f32">): void;
  /** Scores of texts, on the CPU: one submit and one readback when GPU work is needed. */
  score(prompts: readonly string[], responses: readonly string[]): Promise<Float32Array>;
}

/** The number of rows of an input, checking that every part agrees; `op` names the caller in errors. */
function batchSize(op: string, input: ScoreInput, out: Tensor): number {
  const sizes: [string, number][] = [];
  if (input.prompts) sizes.push(["prompts", input.prompts.length]);
  if (input.responses) sizes.push(["responses", input.responses.length]);
  if (input.tokens) {
    if (input.tokens.shape.length !== 2) {
      throw new RangeError(`${op}: tokens must be [B, T], got [${input.tokens.shape}]`);
    }
    sizes.push(["tokens rows", input.tokens.shape[0]]);
  }
  for (const k of ["tokens", "lastIndex"] as const) {
    const t = input[k];
    if (t && t.dtype !== "u32") throw new TypeError(`${op}: ${k} ('${t.label}') must be u32, got ${t.dtype}`);
  }
  if (input.lastIndex) sizes.push(["lastIndex", input.lastIndex.size]);
  sizes.push(["out", out.size]);
  const b = sizes[0][1];
  const bad = sizes.find(([, n]) => n !== b);
  if (bad) throw new RangeError(`${op}: ${sizes.map(([k, n]) => `${k} ${n}`).join(", ")} disagree in batch size`);
  if (b === 0) throw new RangeError(`${op}: the batch is empty`);
  if (out.dtype !== "f32") throw new TypeError(`${op}: out ('${out.label}') must be f32, got ${out.dtype}`);
  return b;
}

/** The testbed's gold judge as a {@link Scorer}. */
export class GoldScorer implements Scorer {
  readonly reads = "text" as const;
  readonly #staging = new Map<number, Tensor<"f32">>();

  /** `judge(prompt, response)` must return a finite number. */
  constructor(
    readonly gpu: Gpu,
    readonly name: string,
    readonly judge: (prompt: string, response: string) => number,
  ) {}

  /** Gold scores on the CPU; a non-finite judgement throws a RangeError naming the example. */
  scoreTexts(prompts: readonly string[], responses: readonly string[]): Float32Array {
    if (prompts.length !== responses.length) {
      throw new RangeError(`${this.name}: ${prompts.length} prompts but ${responses.length} responses`);
    }
    if (prompts.length === 0) throw new RangeError(`${this.name}: the batch is empty`);
    return Float32Array.from(prompts, (p, i) => {
      const s = this.judge(p, responses[i]);
      if (!Number.isFinite(s)) {
        throw new RangeError(`${this.name}: the judge gave ${s} for example ${i} (${JSON.stringify(p)})`);
      }
      return s;
    });
  }

  /**
   * Writes the gold scores into a staging buffer (a queue write, which lands before `enc` runs) and records a copy
   * into `out`, so the scores take their place in `enc`'s order. One staging buffer per batch size: record at most
   * one gold scoring of a given size per submit.
   */
  scoreInto(enc: StepEncoder, input: ScoreInput, out: Tensor<"f32">): void {
    const b = batchSize(this.name, input, out);
    if (!input.prompts || !input.responses) {
      throw new TypeError(`${this.name}: a gold judge reads text; give prompts and responses`);
    }
    let stage = this.#staging.get(b);
    if (!stage) this.#staging.set(b, stage = this.gpu.tensor([b], "f32", `${this.name}.staging`));
    stage.write(this.scoreTexts(input.prompts, input.responses));
    enc.copy(stage, out);
  }

  score(prompts: readonly string[], responses: readonly string[]): Promise<Float32Array> {
    return Promise.resolve(this.scoreTexts(prompts, responses));
  }
}

/** Options of {@link RewardModelScorer}. */
export interface RewardModelScorerOptions {
  /** ReaLHF's `output_scaling` (default 1): score = (s − outputBias)·outputScaling. */
  outputScaling?: number;
  /** ReaLHF's `output_bias` (default 0). */
  outputBias?: number;
  /** Name for logs (default "reward-model"). */
  name?: string;
}

/** A reward model (a scalar-head {@link Gpt}) as a {@link Scorer}: the score at each sequence's last token. */
export class RewardModelScorer implements Scorer {
  readonly reads = "tokens" as const;
  readonly name: string;
  readonly outputScaling: number;
  readonly outputBias: number;
  readonly #workspaces = new Map<string, GptWorkspace>();
  readonly #inputs = new Map<string, { tokens: Tensor<"u32">; last: Tensor<"u32"> }>();

  constructor(readonly model: Gpt, readonly tokenizer: Tokenizer, options: RewardModelScorerOptions = {}) {
    if (!model.config.scalarHead) throw new RangeError("RewardModelScorer: the model has no scalar head");
    if (tokenizer.vocabSize > model.config.vocab) {
      throw new RangeError(
        `RewardModelScorer: the tokenizer has ${tokenizer.vocabSize} ids but the model's vocab is ${model.config.vocab}`,
      );
    }
    this.name = options.name ?? "reward-model";
    this.outputScaling = options.outputScaling ?? 1;
    this.outputBias = options.outputBias ?? 0;
    for (const [k, v] of [["outputScaling", this.outputScaling], ["outputBias", this.outputBias]] as const) {
      if (!Number.isFinite(v)) throw new RangeError(`RewardModelScorer: ${k} must be finite, got ${v}`);
    }
  }

  /** The model's workspace for [B, T], made once per shape and kept. */
  workspace(b: number, t: number): GptWorkspace {
    const key = `${b}x${t}`;
    let ws = this.#workspaces.get(key);
    if (!ws) this.#workspaces.set(key, ws = this.model.workspace(b, t, { grad: false, label: `${this.name}.ws` }));
    return ws;
  }

  /**
   * Records the forward over `input.tokens` (or over the tokenized text, uploaded by a queue write) and writes
   * (score − outputBias)·outputScaling into `out` [B].
   */
  scoreInto(enc: StepEncoder, input: ScoreInput, out: Tensor<"f32">): void {
    const b = batchSize(this.name, input, out);
    let { tokens, lastIndex } = input;
    if (!tokens || !lastIndex) {
      if (!input.prompts || !input.responses) {
        throw new TypeError(`${this.name}: give tokens and lastIndex, or prompts and responses`);
      }
      ({ tokens, lastIndex } = this.#upload(input.prompts, input.responses));
    }
    const ws = this.workspace(b, tokens.shape[1]);
    this.model.forward(enc, ws, tokens);
    const score = this.model.lastTokenScore(enc, ws, lastIndex); // [B]
    if (this.outputScaling === 1 && this.outputBias === 0) enc.copy(score, out);
    else {
      fill(enc, out, -this.outputBias * this.outputScaling);
      axpy(enc, this.outputScaling, score, out);
    }
  }

  /** Scores in chunks of {@link SCORE_CHUNK} rows, a submit each, so that no activation outgrows a GPU binding. */
  async score(prompts: readonly string[], responses: readonly string[]): Promise<Float32Array> {
    if (prompts.length !== responses.length) {
      throw new RangeError(`${this.name}: ${prompts.length} prompts but ${responses.length} responses`);
    }
    if (prompts.length === 0) throw new RangeError(`${this.name}: the batch is empty`);
    const all = new Float32Array(prompts.length);
    for (let at = 0; at < prompts.length; at += SCORE_CHUNK) {
      const p = prompts.slice(at, at + SCORE_CHUNK), y = responses.slice(at, at + SCORE_CHUNK);
      const out = this.model.gpu.tensor([p.length], "f32", `${this.name}.scores`);
      const enc = this.model.gpu.encoder(`${this.name} score`);
      this.scoreInto(enc, { prompts: p, responses: y }, out);
      const r = enc.read(out);
      await enc.submit();
      all.set(await r, at);
      out.destroy();
    }
    return all;
  }

  /** Tokenizes `BOS prompt SEP response EOS` rows (padded to the longest) into per-shape input buffers. */
  #upload(prompts: readonly string[], responses: readonly string[]) {
    const batch = buildBatch(
      this.tokenizer,
      prompts.map((prompt, i) => ({ prompt, response: responses[i] })),
      { context: this.model.config.ctx },
    );
    const key = `${batch.B}x${batch.T}`;
    let bufs = this.#inputs.get(key);
    if (!bufs) {
      const gpu = this.model.gpu;
      bufs = {
        tokens: gpu.tensor([batch.B, batch.T], "u32", `${this.name}.tokens`),
        last: gpu.tensor([batch.B], "u32", `${this.name}.last`),
      };
      this.#inputs.set(key, bufs);
    }
    bufs.tokens.write(batch.tokens);
    bufs.last.write(batch.lastIndex);
    return { tokens: bufs.tokens, lastIndex: bufs.last };
  }

  /** Frees the cached workspaces and input buffers (the model is the caller's). */
  destroy(): void {
    for (const ws of this.#workspaces.values()) ws.destroy();
    for (const { tokens, last } of this.#inputs.values()) [tokens, last].forEach((t) => t.destroy());
    this.#workspaces.clear();
    this.#inputs.clear();
  }
}
