/**
 * Responses of a policy to text prompts, and their score: what iterative DPO labels each round, what RRHF and PRO
 * rank, and what every trainer logs at evaluation steps (`charts/gold_mean` with the gold judge).
 *
 * Generation is the sampler's (nn/sampler.ts): prompts `BOS prompt SEP` in batches of the sampler's `maxBatch`, a
 * few submits per batch. PAD, BOS and SEP are never sampled (they cannot occur inside a response of the data), so
 * every response decodes to text; a response that hits `maxNewTokens` without EOS is kept as it is (truncated).
 *
 * @example
 * ```ts
 * const sampler = new Sampler(policy, { maxBatch: 64 });
 * const ev = await evaluatePolicy(sampler, tok, prompts, gold, { maxNewTokens: 10, greedy: true }, rng.split("eval"));
 * ev.mean;            // mean gold score of the greedy responses
 * ```
 * @module
 */
import type { Rng } from "../kernels/rng.ts";
import type { Sampler } from "../nn/sampler.ts";
import { buildBatch, type Tokenizer } from "../testbeds/tokenizer.ts";
import type { Scorer } from "./scorer.ts";

/** How responses are sampled. */
export interface SampleSettings {
  /** Most new tokens, EOS included. */
  maxNewTokens: number;
  /** EOS forbidden before this many tokens (default 0; never min = max, PAPER.md §9.6). */
  minNewTokens?: number;
  /** Default 1 (the paper's). */
  temperature?: number;
  /** Argmax decoding. */
  greedy?: boolean;
  /** 0 = off. */
  topK?: number;
  /** 1 = off. */
  topP?: number;
}

/** Sampled responses as text. */
export interface Samples {
  prompts: string[];
  responses: string[];
  /** Whether each response ended with EOS. */
  terminated: boolean[];
}

/**
 * Samples one response per prompt (list a prompt k times for k samples). `key` and `counter` fix the draws: the
 * same key, counter and parameters give the same responses.
 */
export async function sampleResponses(
  sampler: Sampler,
  tok: Tokenizer,
  prompts: readonly string[],
  settings: SampleSettings,
  key: Rng,
  counter = 0,
): Promise<Samples> {
  if (prompts.length === 0) throw new RangeError("sampleResponses: no prompts");
  const out: Samples = { prompts: [...prompts], responses: [], terminated: [] };
  const per = sampler.maxBatch, stride = sampler.maxLen * per; // RNG values one generate may draw
  for (let c = 0; c * per < prompts.length; c++) {
    const chunk = prompts.slice(c * per, (c + 1) * per);
    const batch = buildBatch(tok, chunk.map((prompt) => ({ prompt, response: "" })), {
      context: sampler.maxLen,
      eos: false,
    });
    const r = await sampler.generate(batch, {
      ...settings,
      eos: tok.eos,
      pad: tok.pad,
      forbid: [tok.pad, tok.bos, tok.sep],
      key,
      counter: counter + c * stride,
    });
    for (let b = 0; b < r.B; b++) {
      const start = b * r.T + r.promptLen[b], n = r.responseLen![b], ended = r.terminated![b] === 1;
      const ids = r.tokens!.subarray(start, start + n - (ended ? 1 : 0));
      out.responses.push(tok.decode(ids, { specials: "drop" }));
      out.terminated.push(ended);
    }
  }
  return out;
}

/** A policy's responses to `prompts` and their scores. */
export interface PolicyEvaluation {
  /** Mean score. */
  mean: number;
  /** Mean response length in tokens (EOS excluded). */
  responseLen: number;
  /** Fraction of responses that ended with EOS. */
  terminated: number;
  scores: Float32Array;
  samples: Samples;
}

/** Samples one response per prompt and scores it with `scorer` (gold judge or reward model). */
export async function evaluatePolicy(
  sampler: Sampler,
  tok: Tokenizer,
  prompts: readonly string[],
  scorer: Scorer,
  settings: SampleSettings,
  key: Rng,
  counter = 0,
): Promise<PolicyEvaluation> {
  const samples = await sampleResponses(sampler, tok, prompts, settings, key, counter);
  const scores = await scorer.score(samples.prompts, samples.responses);
  const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
  return {
    mean: mean(scores),
    responseLen: mean(samples.responses.map((r) => tok.encode(r).length)),
    terminated: mean(samples.terminated.map(Number)),
    scores,
    samples,
  };
}
