/**
 * The built-in sanity task for the RLHF algorithms (and the SFT smoke test): prompts are short strings of letters,
 * and the hidden gold judge counts how often the prompt's first letter (the "target") appears in the response.
 *
 * It is small enough to train in seconds on llvmpipe, yet it has what the paper's testbeds have: an SFT
 * distribution that rarely does what the judge wants (random letters: the target is 1 in 8), preference pairs
 * labelled by the gold judge with Bradley-Terry noise (the stand-in for human labels), a prompt-only set for
 * on-policy methods, a held-out split, and a reference answer for iterative DPO's "use the reference when no sample
 * is correct" rule (PAPER.md §6.3). What it cannot have is a pretrained LLM to start from, so it has a stand-in: a
 * "base" pretraining distribution ({@link SanityTask.baseResponse}: copy letters of the prompt) that a model learns
 * before SFT, as the paper's base models learned language before theirs.
 *
 * Gold score: the number of target letters among the first `scored` response characters, divided by `scored`, so
 * it lies in [0, 1]; the best response is `scored` target letters.
 *
 * @example
 * ```ts
 * const task = new SanityTask();
 * const rng = new Rng(1).split("data");
 * const ex = task.sftExample(rng);              // { prompt: "cab", response: "hbcge" }
 * task.gold(ex.prompt, ex.response);           // 0.125 (one 'c' of 8 scored places)
 * ```
 * @module
 */
import type { Rng } from "../kernels/rng.ts";
import { CharTokenizer, type Example } from "./tokenizer.ts";

/** Settings of the sanity task. */
export interface SanityOptions {
  /** Letters used in prompts and responses. */
  alphabet: string;
  /** Prompt length range [min, max], inclusive. */
  promptLen: readonly [number, number];
  /** SFT response length range [min, max], inclusive. */
  responseLen: readonly [number, number];
  /** Response characters the judge scores. */
  scored: number;
  /** Bradley-Terry temperature of preference labels: P(y1 ≻ y2) = σ((gold1 − gold2) / τ). */
  labelTemperature: number;
}

/** Defaults: 8 letters, prompts of 2-5, SFT responses of 4-8, 8 scored places, τ = 0.1. */
export const SANITY_DEFAULTS: SanityOptions = {
  alphabet: "abcdefgh",
  promptLen: [2, 5],
  responseLen: [4, 8],
  scored: 8,
  labelTemperature: 0.1,
};

/** A labelled preference pair. */
export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
}

/** The sanity task: data generators and the gold judge. */
export class SanityTask {
  readonly options: SanityOptions;
  readonly tokenizer: CharTokenizer;

  constructor(options: Partial<SanityOptions> = {}) {
    this.options = { ...SANITY_DEFAULTS, ...options };
    const { promptLen, responseLen, scored, labelTemperature, alphabet } = this.options;
    for (const [name, [lo, hi]] of [["promptLen", promptLen], ["responseLen", responseLen]] as const) {
      if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi >= lo)) {
        throw new RangeError(`Sanity task: ${name} must be integers 1 <= min <= max, got [${lo}, ${hi}]`);
      }
    }
    if (!(Number.isInteger(scored) && scored >= 1)) {
      throw new RangeError(`Sanity task: scored must be >= 1, got ${scored}`);
    }
    if (!(labelTemperature > 0)) {
      throw new RangeError(`Sanity task: labelTemperature must be > 0, got ${labelTemperature}`);
    }
    this.tokenizer = new CharTokenizer(alphabet);
  }

  /** Longest sequence the task produces with BOS, SEP and EOS (for choosing a context). */
  get maxSequence(): number {
    return 1 + this.options.promptLen[1] + 1 + Math.max(this.options.responseLen[1], this.options.scored) + 1;
  }

  #letters(rng: Rng, [lo, hi]: readonly [number, number]): string {
    const a = [...this.options.alphabet];
    const n = lo + rng.int(hi - lo + 1);
    return Array.from({ length: n }, () => a[rng.int(a.length)]).join("");
  }

  /** A random prompt. */
  prompt(rng: Rng): string {
    return this.#letters(rng, this.options.promptLen);
  }

  /** A response from the SFT distribution (uniform random letters; the judge's target is 1 in |alphabet|). */
  sftResponse(rng: Rng): string {
    return this.#letters(rng, this.options.responseLen);
  }

  /** One SFT example. */
  sftExample(rng: Rng): Example & { prompt: string; response: string } {
    return { prompt: this.prompt(rng), response: this.sftResponse(rng) };
  }

  /**
   * A response of the "pretrained base" distribution: `responseLen[1]` letters, each drawn uniformly from the
   * prompt's own letters (any of them, not only the judge's target), so its gold score is about the prompt's share
   * of target letters (1 for "aaa", 1/3 for "abc").
   *
   * Why it exists: the paper's models start from a pretrained LLM (Llama 2, CodeLlama) that already has the
   * abilities RLHF draws out; SFT and RLHF shift what it does with them. Our tiny models start from random weights,
   * and the SFT data (random letters) never makes a response depend on its prompt, so a model trained on it from
   * scratch has no circuit that looks back at the prompt; RL must then discover one from a reward that reaches it
   * through 1 letter in 8 (measured with PPO on llvmpipe: the gold stays at the SFT level for 60-200 iterations,
   * and when it takes off depends on the seed). A base pretrained on this generic objective (copy letters of the
   * context; nothing about the judge's target) has that ability, as a pretrained LLM has its skills; SFT on
   * {@link sftExample} then brings its gold back to about 1/8, the start every RLHF method must improve on
   * (algorithms/testing.ts trains both phases).
   */
  baseResponse(prompt: string, rng: Rng): string {
    const letters = [...prompt];
    if (letters.length === 0) throw new RangeError("Sanity task: the prompt is empty, so it has no letters to copy");
    return Array.from({ length: this.options.responseLen[1] }, () => letters[rng.int(letters.length)]).join("");
  }

  /** One base-pretraining example: a random prompt and a {@link baseResponse} to it. */
  baseExample(rng: Rng): Example & { prompt: string; response: string } {
    const prompt = this.prompt(rng);
    return { prompt, response: this.baseResponse(prompt, rng) };
  }

  /** The gold score of `response` to `prompt`, in [0, 1]. */
  gold(prompt: string, response: string): number {
    if (prompt.length === 0) throw new RangeError("Sanity task: the prompt is empty, so it has no target letter");
    const target = [...prompt][0];
    const scored = [...response].slice(0, this.options.scored);
    return scored.filter((c) => c === target).length / this.options.scored;
  }

  /** The best response: `scored` target letters (iterative DPO's reference answer). */
  reference(prompt: string): string {
    return [...prompt][0].repeat(this.options.scored);
  }

  /**
   * A preference pair: two SFT responses to one prompt, ordered by a Bradley-Terry draw on their gold scores
   * (so near-ties are noisy labels, as human labels are).
   */
  pair(rng: Rng): PreferencePair {
    const prompt = this.prompt(rng);
    const a = this.sftResponse(rng), b = this.sftResponse(rng);
    const pA = 1 / (1 + Math.exp(-(this.gold(prompt, a) - this.gold(prompt, b)) / this.options.labelTemperature));
    return rng.uniform() < pA ? { prompt, chosen: a, rejected: b } : { prompt, chosen: b, rejected: a };
  }

  /** `n` items from `make`, each drawn from its own sub-stream of `rng` (so item i never depends on n). */
  static many<T>(rng: Rng, n: number, make: (r: Rng) => T): T[] {
    return Array.from({ length: n }, (_, i) => make(rng.split(i)));
  }
}
