/**
 * The rollout phase shared by PPO and GRPO (PAPER.md §9.5 steps 1-3): draw prompts, right-pad them to a fixed width,
 * sample responses from the actor on the GPU (nn/sampler.ts: a few submits per generation, never one per token),
 * decode the responses to text for the scorer and the logs, and score them in one more submit.
 *
 * Prompts are padded to `maxPromptLen` (ReaLHF `PromptOnlyDatasetConfig.max_prompt_len`), so every rollout batch
 * has the same width T = maxPromptLen + maxNewTokens and the training workspaces are made once.
 *
 * @example
 * ```ts
 * const phase = new RolloutPhase(actor, tok, { batchSize: 64, maxPromptLen: 8, generation: cfg.generation });
 * const prompts = drawPrompts(task, rng.split("prompts"), iteration, 64);
 * const r = await phase.generate(prompts, rng.split("rollout"), iteration);
 * r.rollout.gpu.tokens; r.responses[0]; r.responseLenMean;
 * // or sampling and the scoring submit together, timed:
 * const scored = await sampleAndScore(phase, scorer, prompts, { key, index: iteration, scores: out, read: true });
 * ```
 * @module
 */
import type { Rng } from "../kernels/rng.ts";
import type { Tensor } from "../kernels/tensor.ts";
import type { Gpt } from "../nn/gpt.ts";
import { type PromptBatch, type Rollout, Sampler } from "../nn/sampler.ts";
import type { Tokenizer } from "../testbeds/tokenizer.ts";
import type { Scorer } from "./scorer.ts";

/** What an RL algorithm needs of a testbed: its tokenizer, a prompt generator, and optionally its gold judge. */
export interface PromptTask {
  readonly tokenizer: Tokenizer;
  /** A prompt drawn from `rng` (text, no special tokens). */
  prompt(rng: Rng): string;
  /** The hidden gold judge, logged as `charts/gold_mean` beside the training reward when present. */
  gold?(prompt: string, response: string): number;
}

/** Sampling settings of a rollout (paper Appendix A.2 defaults in the algorithm configs). */
export interface GenerationSettings {
  maxNewTokens: number;
  minNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
}

/** A generation with its text. */
export interface RolloutData {
  rollout: Rollout;
  prompts: string[];
  /** Decoded responses, special tokens dropped (the EOS that ended one is not part of its text). */
  responses: string[];
  /** Mean generated tokens per sequence, EOS included. */
  responseLenMean: number;
  /** Fraction of responses that ended with EOS (the rest were cut at maxNewTokens and get no task reward). */
  terminatedFrac: number;
}

/** Right-pads `BOS prompt SEP` rows to `width`; a longer prompt is a RangeError naming it. */
export function promptBatch(tok: Tokenizer, prompts: readonly string[], width: number): PromptBatch {
  const tokens = new Uint32Array(prompts.length * width).fill(tok.pad);
  const lengths = new Uint32Array(prompts.length);
  prompts.forEach((p, b) => {
    const ids = [tok.bos, ...tok.encode(p), tok.sep];
    if (ids.length > width) {
      throw new RangeError(
        `Prompt ${b} (${JSON.stringify(p)}) takes ${ids.length} tokens with BOS and SEP, over maxPromptLen ${width}`,
      );
    }
    tokens.set(ids, b * width);
    lengths[b] = ids.length;
  });
  return { B: prompts.length, T: width, tokens, lengths };
}

/** Samples rollouts of a fixed shape [batch, maxPromptLen + maxNewTokens] from the actor. */
export class RolloutPhase {
  readonly sampler: Sampler;
  /** Width T of every rollout. */
  readonly width: number;

  constructor(
    readonly actor: Gpt,
    readonly tokenizer: Tokenizer,
    readonly o: { batchSize: number; maxPromptLen: number; generation: GenerationSettings },
  ) {
    this.width = o.maxPromptLen + o.generation.maxNewTokens;
    if (this.width > actor.config.ctx) {
      throw new RangeError(
        `Rollout: maxPromptLen (${o.maxPromptLen}) + maxNewTokens (${o.generation.maxNewTokens}) = ${this.width} is ` +
          `over the model's context (${actor.config.ctx})`,
      );
    }
    this.sampler = new Sampler(actor, { maxBatch: o.batchSize, maxLen: this.width });
  }

  /** Generates one rollout; the `index`-th call of a run uses its own range of the stream `key`. */
  async generate(prompts: string[], key: Rng, index: number): Promise<RolloutData> {
    const { batchSize: batch, maxPromptLen, generation: g } = this.o, tok = this.tokenizer;
    if (prompts.length !== batch) throw new RangeError(`Rollout: got ${prompts.length} prompts, want ${batch}`);
    const rollout = await this.sampler.generate(promptBatch(tok, prompts, maxPromptLen), {
      maxNewTokens: g.maxNewTokens,
      minNewTokens: g.minNewTokens,
      temperature: g.temperature,
      topK: g.topK,
      topP: g.topP,
      eos: tok.eos,
      pad: tok.pad,
      key,
      counter: index * batch * this.width,
    });
    const T = this.width, targets = rollout.targets!, mask = rollout.mask!;
    const responses = prompts.map((_, b) => {
      const ids: number[] = [];
      for (let t = 0; t < T; t++) if (mask[b * T + t] > 0.5) ids.push(targets[b * T + t]);
      return tok.decode(ids, { specials: "drop" });
    });
    const mean = (a: ArrayLike<number>) => Array.from(a).reduce((acc, v) => acc + v, 0) / a.length;
    return {
      rollout,
      prompts,
      responses,
      responseLenMean: mean(rollout.responseLen!),
      terminatedFrac: mean(rollout.terminated!),
    };
  }
}

/**
 * The scoring submit (PAPER.md §9.5 step 3): the task score of each response into `out` [B], left on the GPU for
 * the training submit; read back (one round trip) only when `read`. A reward model runs on the rollout's GPU tokens,
 * a gold judge on the decoded text.
 */
export async function scoreRollout(
  scorer: Scorer,
  r: RolloutData,
  out: Tensor<"f32">,
  read: boolean,
): Promise<Float32Array | null> {
  const enc = r.rollout.gpu.tokens.gpu.encoder(`score ${scorer.name}`);
  const { tokens, lastIndex } = r.rollout.gpu;
  scorer.scoreInto(enc, { prompts: r.prompts, responses: r.responses, tokens, lastIndex }, out);
  const scores = read ? enc.read(out) : null;
  await enc.submit();
  return scores;
}

/** `n` prompts of iteration `it`, prompt i drawn from `rng.split(it).split(i)` (independent of the batch size). */
export function drawPrompts(task: PromptTask, rng: Rng, it: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => task.prompt(rng.split(it).split(i)));
}

/** A rollout with its scores, and the wall clock at its start, after generation and after scoring. */
export interface ScoredRollout {
  r: RolloutData;
  /** The task scores read back (only when asked for: at logging iterations). */
  scores: Float32Array | null;
  times: [start: number, generated: number, scored: number];
}

/**
 * PAPER.md §9.5 steps 1-3: the actor's responses to `prompts` (the sampler's submits; the `index`-th rollout of the
 * run draws from its own range of `key`), then the scoring submit, which leaves the task scores in `scores` [B]
 * on the GPU for the training submit and reads them back only when `read`.
 */
export async function sampleAndScore(
  rollouts: RolloutPhase,
  scorer: Scorer,
  prompts: string[],
  o: { key: Rng; index: number; scores: Tensor<"f32">; read: boolean },
): Promise<ScoredRollout> {
  const t0 = performance.now();
  const r = await rollouts.generate(prompts, o.key, o.index);
  const t1 = performance.now();
  const scores = await scoreRollout(scorer, r, o.scores, o.read);
  return { r, scores, times: [t0, t1, performance.now()] };
}
