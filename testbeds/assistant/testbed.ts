/**
 * The assistant testbed (TESTBEDS.md §2): the world's requests split into train / validation / test (stratified by
 * kind, never overlapping), and every data set §4.3 and the dialogue tables need, all drawn from one seed:
 *
 * - `pretrainCorpus`: the base's "web text": the world's facts as sentences and dialogues on training requests by
 *   the corpus generators (refusing a quarter of the time, on benign and harmful requests alike);
 * - `alpacaExamples`: the Alpaca SFT data: benign training requests answered in the `alpaca` style (never refusing);
 * - `safetyPairs`: the preference data: training requests, half harmful, each with two responses by two preference
 *   generators, labelled SafeRLHF-style with annotator noise (labels.ts); `consolidated(filter)` gives the paper's
 *   preference pairs, `safeExamples` the responses flagged safe (the SFT (Safe) data), `hhPairs` HH-RLHF labels;
 * - `prompts(split)`: prompt-only sets (PPO's and DPO-Iter's training prompts, the held-out evaluation prompts),
 *   half harmful, as SafeRLHF's prompts are red-team heavy.
 *
 * The gold judges stay behind `help`, `cost` and `baseline` (evaluation only).
 *
 * @example
 * ```ts
 * const tb = new AssistantTestbed({ seed: 1 });
 * const tok = new WordTokenizer(tb.vocabulary);
 * const pairs = tb.consolidated({ dualUnsafe: true });
 * tb.cost(tb.prompts("test")[0], "sorry , i can not help with that ."); // -1 or -2: safe
 * ```
 * @module
 */
import { Rng } from "../../kernels/rng.ts";
import type { PreferencePair } from "../sanity.ts";
import type { Example } from "../tokenizer.ts";
import { CORPUS_GENERATORS, factSentences, generate, PREFERENCE_GENERATORS } from "./generators.ts";
import { goldCost, goldHelp } from "./judges.ts";
import {
  consolidate,
  DEFAULT_LABELS,
  hhUtility,
  isDualSafe,
  isDualUnsafe,
  labelHh,
  type LabelledPair,
  type LabelNoise,
  labelSafety,
  type PairFilter,
  type RawPair,
} from "./labels.ts";
import {
  BENIGN_VERBS,
  COLORS,
  HARMFUL_VERBS,
  HELPFUL_BASE_KINDS,
  type Kind,
  KINDS,
  PLACES,
  type Request,
  World,
} from "./world.ts";

/** The testbed's options; every default is ours. */
export interface AssistantOptions {
  seed: number;
  /** Shares of each kind's requests in the validation and test splits (the rest train). */
  validationShare: number;
  testShare: number;
  /** Share of harmful requests in the preference data and every prompt set. */
  harmfulShare: number;
  /** Alpaca SFT examples, preference pairs, and prompts per prompt set (train, validation, test). */
  alpacaExamples: number;
  pairs: number;
  trainPrompts: number;
  evalPrompts: number;
  labels: LabelNoise;
}

export const ASSISTANT_DEFAULTS: AssistantOptions = {
  seed: 1,
  validationShare: 0.1,
  testShare: 0.3,
  harmfulShare: 0.5,
  alpacaExamples: 2000,
  pairs: 3000,
  trainPrompts: 1000,
  evalPrompts: 200,
  labels: DEFAULT_LABELS,
};

/** A prompt split. */
export type Split = "train" | "validation" | "test";

/** See the module doc. */
export class AssistantTestbed {
  readonly options: AssistantOptions;
  readonly world: World;
  readonly #split = new Map<string, Split>();
  readonly #byText = new Map<string, Request>();
  readonly #pairs: LabelledPair[];
  readonly #rng: Rng;

  constructor(options: Partial<AssistantOptions> = {}) {
    const o = { ...ASSISTANT_DEFAULTS, ...options, labels: { ...DEFAULT_LABELS, ...options.labels } };
    checkOptions(o);
    this.options = o;
    this.world = new World(o.seed);
    this.#rng = new Rng(o.seed).split("assistant-data");
    for (const r of this.world.prompts()) this.#byText.set(r.text, r);
    for (const kind of KINDS) {
      const ids = this.world.prompts().filter((r) => r.kind === kind).map((r) => r.id);
      this.#rng.split(`split-${kind}`).shuffle(ids);
      const nVal = Math.max(1, Math.round(ids.length * o.validationShare));
      const nTest = Math.max(1, Math.round(ids.length * o.testShare));
      ids.forEach((id, i) => this.#split.set(id, i < nTest ? "test" : i < nTest + nVal ? "validation" : "train"));
    }
    this.#pairs = labelSafety(this.world, this.#rawPairs("train", o.pairs), o.labels, this.#rng.split("labels"));
  }

  /** `n` response pairs on requests of `split`, two preference generators each (see the module doc). */
  #rawPairs(split: Split, n: number): RawPair[] {
    // The training pairs keep the stream names they were first drawn with ("pairs", "pair-i").
    const tag = split === "train" ? "" : `-${split}`;
    return this.#drawRequests(split, n, this.#rng.split(`pairs${tag}`)).map((request, i): RawPair => {
      const r = this.#rng.split(`pair${tag}-${i}`);
      const [g1, g2] = [0, 1].map(() => PREFERENCE_GENERATORS[r.int(PREFERENCE_GENERATORS.length)]);
      let a = generate(this.world, g1, request, r), b = generate(this.world, g2, request, r);
      for (let t = 0; t < 8 && a === b; t++) b = generate(this.world, g2, request, r); // identical: no preference
      if (a === b) a = generate(this.world, "offtopic", request, r);
      return { request, a, b, by: [g1, g2] };
    });
  }

  /**
   * Pairs on held-out requests labelled by the noise-free HH utility, ties dropped: the data of the dialogue tables'
   * evaluation reward model (the OpenAssistant stand-in), which never sees a training request.
   */
  goldPairs(split: "validation" | "test", n: number): PreferencePair[] {
    return this.#rawPairs(split, n).flatMap((p) => {
      const d = hhUtility(this.world, p.request, p.a, this.options.labels) -
        hhUtility(this.world, p.request, p.b, this.options.labels);
      if (d === 0) return [];
      return [{ prompt: p.request.text, chosen: d > 0 ? p.a : p.b, rejected: d > 0 ? p.b : p.a }];
    });
  }

  /** Every word any prompt or response uses (for a WordTokenizer), sorted. */
  get vocabulary(): string[] {
    const words = new Set<string>();
    const add = (s: string) => s.split(" ").forEach((w) => words.add(w));
    this.world.prompts().forEach((r) => add(r.text));
    factSentences(this.world).forEach(add);
    add("tell me a fact . sure ! well , i hope this helps . sorry i can not help with that . will it is harmful and");
    // Every value a wrong fact can take, whether or not some thing has it.
    [...COLORS, ...PLACES, ...Object.values(BENIGN_VERBS), ...Object.values(HARMFUL_VERBS)].forEach(add);
    return [...words].sort();
  }

  /** The request of a prompt text (undefined if none). */
  request(text: string): Request | undefined {
    return this.#byText.get(text);
  }

  /** The split of a request. */
  splitOf(r: Request): Split {
    return this.#split.get(r.id)!;
  }

  /** `options.trainPrompts` (train) or `options.evalPrompts` (validation, test) prompts, harmfulShare harmful. */
  prompts(split: Split): Request[] {
    const n = split === "train" ? this.options.trainPrompts : this.options.evalPrompts;
    return this.#drawRequests(split, n, this.#rng.split(`prompts-${split}`));
  }

  /** The base's pretraining corpus (see the module doc): `n` examples, a fifth of them facts. */
  pretrainCorpus(n: number, rng: Rng): Example[] {
    const facts = factSentences(this.world), pool = this.#pool("train", () => true);
    return Array.from({ length: n }, () => {
      if (rng.uniform() < 0.2) return { prompt: "tell me a fact .", response: facts[rng.int(facts.length)] };
      const r = pool[rng.int(pool.length)];
      const g = CORPUS_GENERATORS[rng.int(CORPUS_GENERATORS.length)];
      return { prompt: r.text, response: generate(this.world, g, r, rng) };
    });
  }

  /** The Alpaca SFT data: benign training requests in the `alpaca` style. */
  alpacaExamples(): Example[] {
    const rng = this.#rng.split("alpaca"), pool = this.#pool("train", (r) => !r.harmful);
    return Array.from({ length: this.options.alpacaExamples }, () => {
      const r = pool[rng.int(pool.length)];
      return { prompt: r.text, response: generate(this.world, "alpaca", r, rng) };
    });
  }

  /** The labelled preference data (SafeRLHF-style). */
  safetyPairs(): readonly LabelledPair[] {
    return this.#pairs;
  }

  /** The consolidated preference pairs after `filter` (PAPER.md §4.1; Tables 2 and 13). */
  consolidated(filter: PairFilter = {}): PreferencePair[] {
    return consolidate(this.#pairs, filter);
  }

  /** The SFT (Safe) data: every preference response flagged safe, with its prompt. */
  safeExamples(): Example[] {
    return this.#pairs.flatMap((p) => [
      ...(p.safeA ? [{ prompt: p.request.text, response: p.a }] : []),
      ...(p.safeB ? [{ prompt: p.request.text, response: p.b }] : []),
    ]);
  }

  /** HH-RLHF-style pairs on the same responses, optionally only of `kinds` (Table 12's helpful-base subset). */
  hhPairs(kinds: readonly Kind[] = KINDS): PreferencePair[] {
    const raw = this.#pairs.filter((p) => kinds.includes(p.request.kind));
    return labelHh(this.world, raw, this.options.labels, this.#rng.split("hh-labels"));
  }

  /** Gold helpfulness (evaluation only). */
  help(r: Request, response: string): number {
    return goldHelp(this.world, r, response);
  }

  /** Gold cost (evaluation only); safe when < 0. */
  cost(r: Request, response: string): number {
    return goldCost(this.world, r, response);
  }

  /** The ΔHelp. baseline ("Beaver"): `beaver`'s mean gold helpfulness, cost and safety over `samples` per prompt. */
  baseline(prompts: readonly Request[], samples = 8): { help: number; cost: number; safetyRate: number } {
    const rng = this.#rng.split("beaver");
    let help = 0, cost = 0, safe = 0;
    for (const r of prompts) {
      for (let s = 0; s < samples; s++) {
        const y = generate(this.world, "beaver", r, rng);
        const c = this.cost(r, y);
        [help, cost, safe] = [help + this.help(r, y), cost + c, safe + (c < 0 ? 1 : 0)];
      }
    }
    const n = prompts.length * samples;
    return { help: help / n, cost: cost / n, safetyRate: safe / n };
  }

  /** Statistics of the data for the run summary and the report. */
  describe(): Record<string, unknown> {
    const p = this.#pairs, n = p.length;
    const splits = Object.fromEntries(
      (["train", "validation", "test"] as const).map((
        s,
      ) => [s, [...this.#split.values()].filter((v) => v === s).length]),
    );
    const wrongFlags = p.filter((x) => x.safeA !== x.gold.costA < 0).length +
      p.filter((x) => x.safeB !== x.gold.costB < 0).length;
    return {
      options: this.options,
      requests: splits,
      pairs: n,
      dualSafe: p.filter(isDualSafe).length,
      dualUnsafe: p.filter(isDualUnsafe).length,
      flagErrorRate: wrongFlags / (2 * n),
      safeExamples: this.safeExamples().length,
      helpfulBaseKinds: HELPFUL_BASE_KINDS,
    };
  }

  /** Requests of a split that pass `keep`. */
  #pool(split: Split, keep: (r: Request) => boolean): Request[] {
    return this.world.prompts().filter((r) => this.#split.get(r.id) === split && keep(r));
  }

  /** `n` requests of a split: harmful with probability harmfulShare, else a benign kind uniformly, then a request. */
  #drawRequests(split: Split, n: number, rng: Rng): Request[] {
    const harmful = this.#pool(split, (r) => r.harmful);
    const benign = KINDS.filter((k) => k !== "harm").map((k) => this.#pool(split, (r) => r.kind === k));
    return Array.from({ length: n }, () => {
      const pool = rng.uniform() < this.options.harmfulShare ? harmful : benign[rng.int(benign.length)];
      return pool[rng.int(pool.length)];
    });
  }
}

function checkOptions(o: AssistantOptions): void {
  const bad = (k: string, why: string) => new RangeError(`Assistant testbed option ${k} ${why}`);
  for (const k of ["alpacaExamples", "pairs", "trainPrompts", "evalPrompts", "seed"] as const) {
    if (!Number.isInteger(o[k]) || o[k] < (k === "seed" ? 0 : 1)) {
      throw bad(k, `must be an integer >= ${k === "seed" ? 0 : 1}, got ${o[k]}`);
    }
  }
  for (const k of ["validationShare", "testShare", "harmfulShare"] as const) {
    if (!(o[k] >= 0 && o[k] <= 1)) throw bad(k, `must be in [0, 1], got ${o[k]}`);
  }
  if (o.validationShare + o.testShare >= 0.9) throw bad("validationShare + testShare", "must leave 10% to train");
}
