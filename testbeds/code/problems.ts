/**
 * The code testbed's problems: a seeded generator of APPS-like and CodeContests-like problem sets in the list
 * language (dsl.ts), standing in for APPS and CodeContests (PAPER.md §6.3-6.4, TESTBEDS.md §1).
 *
 * A problem is a hidden reference program and its tests. The prompt is the *public tests* as examples,
 * `in 3 -1 4 -> 4 0 5 in 2 = 3` (`->` before a list output, `=` before an int output), kept within
 * `promptBudget` tokens so that prompt, program and specials fit the `xs` context. The *hidden tests* are chosen
 * from a pool of valid inputs, greedily, to tell apart the neighbours of the reference that the public tests do
 * not: every one-edit mutant and some random programs of the same tier that agree with the reference on the public
 * tests but differ on the pool. Any program that passes every test counts as correct, not only the reference.
 *
 * - Tiers (APPS's introductory / interview / competition) differ by program length, the functions allowed, and the
 *   input lengths (`tiers`). The APPS-style splits mix the tiers as APPS's do (test 1 : 3 : 1, training
 *   2639 : 2000 : 361); the contest split is interview and competition problems 1 : 1 (CodeContests is harder).
 * - Every split is drawn from the tiers' program distributions. An evaluation split's problems are semantically
 *   distinct: a problem's outputs on fixed probe inputs (its fingerprint) differ from every other problem's of the
 *   split. Training problems may repeat a function on other examples. With `disjointSplits` no function is in two
 *   evaluation splits or in an evaluation split and training (DeepCoder's rule: a test of new programs); without
 *   it an evaluation problem may compute a training problem's function on other examples (APPS's test problems
 *   share solution ideas with its training problems), and `describe()` counts how many do.
 * - References are minimal (no statement can be bypassed without changing the outputs) and not constant.
 * - Each contest training problem ships `incorrectPerProblem` incorrect solutions, mutants of the reference that
 *   fail the tests, preferring those that pass at least one public test (plausible near-misses): the dataset's
 *   correct-vs-incorrect pairs of §6.4.
 * - The pretraining corpus (the base model's data) is random programs of any shape with their examples, drawn from
 *   the caller's stream; with `disjointSplits` none has the fingerprint of a validation or test problem.
 *
 * @example
 * ```ts
 * const tb = new CodeTestbed({ appsTrain: 200, appsTest: 20 });
 * const [p] = tb.problems("apps", "test");
 * p.prompt;                               // "in 4 -2 7 -> 8 14 in …"
 * tb.judge(p, p.reference, "all").outcome; // "passed"
 * ```
 * @module
 */
import { Rng } from "../../kernels/rng.ts";
import { dslWords, formatProgram, formatValue, type Program, runProgram, sameValue } from "./dsl.ts";
import { ALL_FUNCTIONS, COMMON_FUNCTIONS, fingerprint, isMinimal, mutants, RARE_FUNCTIONS } from "./generate.ts";
import { randomInput, randomProgram } from "./generate.ts";
import { judgeProgram, type TestCase, type Verdict } from "./judge.ts";
import { checkOptions, type CodeTestbedOptions, resolveOptions, type Tier, TIERS, type TierShape } from "./options.ts";

/** The two problem sets and their splits. */
export type CodeSet = "apps" | "contest";
export type CodeSplit = "train" | "validation" | "test";

/** One generated problem. */
export interface CodeProblem {
  /** `apps-test-0007` and so on. */
  id: string;
  set: CodeSet;
  split: CodeSplit;
  tier: Tier;
  /** The public tests as text: what the policy sees. */
  prompt: string;
  /** A correct program (the SFT target; DPO-Iter's winner when no sample passes). */
  reference: string;
  publicTests: TestCase[];
  hiddenTests: TestCase[];
  /** Incorrect near-miss solutions (contest training problems only). */
  incorrect: string[];
  /** Neighbours that agreed with the reference on the public tests and differed on the pool, and how many of them
   * the hidden tests tell apart. */
  neighbours: number;
  separated: number;
}

/** A generated set of problems with its judge, SFT data, preference pairs and pretraining corpus. */
export class CodeTestbed {
  readonly options: CodeTestbedOptions;
  /** The tokenizer's words (specials excluded). */
  readonly vocabulary: readonly string[] = dslWords();
  readonly #sets = new Map<string, CodeProblem[]>();
  readonly #byPrompt = new Map<string, CodeProblem>();
  /** Fingerprints of each evaluation split's problems. */
  readonly #seen = new Map<string, Set<string>>();
  readonly #evalPrints = new Set<string>();
  /** Training references by fingerprint. */
  readonly #trainPrints = new Map<string, string[]>();
  /** Each problem's fingerprint, by id. */
  readonly #prints = new Map<string, string>();
  readonly #probes: number[][];

  /** Generates every split; bad options are an error naming the option. */
  constructor(options: Partial<CodeTestbedOptions> = {}) {
    this.options = resolveOptions(options);
    checkOptions(this.options);
    const o = this.options, rng = new Rng(o.seed).split("code-testbed");
    const probeRng = rng.split("probes");
    this.#probes = Array.from({ length: 64 }, (_, i) => randomInput(probeRng, [i < 2 ? i : 1, 8], o.inputMax));
    // Evaluation splits first: with disjointSplits, training then avoids their functions.
    const plan: [CodeSet, CodeSplit, number][] = [
      ["apps", "test", o.appsTest],
      ["contest", "test", o.contestTest],
      ["contest", "validation", o.contestValidation],
      ["apps", "train", o.appsTrain],
      ["contest", "train", o.contestTrain],
    ];
    for (const [set, split, n] of plan) {
      const tiers = tierMix(n, set === "contest" ? CONTEST_MIX : split === "train" ? APPS_TRAIN_MIX : APPS_TEST_MIX);
      const r = rng.split(`${set}-${split}`);
      const problems = tiers.map((tier, i) => this.#problem(r, set, split, tier, i));
      this.#sets.set(`${set}/${split}`, problems);
    }
  }

  /** The problems of one split, in generation order. */
  problems(set: CodeSet, split: CodeSplit): readonly CodeProblem[] {
    const p = this.#sets.get(`${set}/${split}`);
    if (!p) throw new RangeError(`No code split '${set}/${split}'; sets apps, contest; splits train, validation, test`);
    return p;
  }

  /** The problem whose prompt is `prompt` (prompts are unique), or undefined. */
  byPrompt(prompt: string): CodeProblem | undefined {
    return this.#byPrompt.get(prompt.trim().split(/\s+/).join(" "));
  }

  /** Judges a program on the problem's public, hidden or all tests; never throws on a program. */
  judge(problem: CodeProblem, program: string, tests: "public" | "hidden" | "all"): Verdict {
    const cases = tests === "public"
      ? problem.publicTests
      : tests === "hidden"
      ? problem.hiddenTests
      : [...problem.publicTests, ...problem.hiddenTests];
    return judgeProgram(program, cases, this.options.stepLimit);
  }

  /** SFT data: every training problem (APPS-style and contest) with its reference solution. */
  sftExamples(): { prompt: string; response: string }[] {
    return [...this.problems("apps", "train"), ...this.problems("contest", "train")]
      .map((p) => ({ prompt: p.prompt, response: p.reference }));
  }

  /** The contest training split's correct-vs-incorrect pairs: the reference against each incorrect solution. */
  contestPairs(): { prompt: string; chosen: string; rejected: string }[] {
    return this.problems("contest", "train").flatMap((p) =>
      p.incorrect.map((rejected) => ({ prompt: p.prompt, chosen: p.reference, rejected }))
    );
  }

  /**
   * `n` random programs of any shape with their examples (prompt = examples, response = program), from `rng`;
   * with `disjointSplits`, none computes the function of a validation or test problem.
   */
  pretrainCorpus(n: number, rng: Rng): { prompt: string; response: string }[] {
    const o = this.options, out: { prompt: string; response: string }[] = [];
    const shape = { statements: o.corpusStatements, functions: ALL_FUNCTIONS };
    for (let tries = 0; out.length < n; tries++) {
      if (tries > 50 * n + 1000) throw new RangeError(`pretrainCorpus: could not draw ${n} programs`);
      const program = randomProgram(rng, shape);
      if (!program) continue;
      if (o.disjointSplits && this.#evalPrints.has(fingerprint(program, this.#probes, o.stepLimit))) continue;
      const valid = this.#validInputs(rng, program, o.corpusInputLength, o.publicTests * 4);
      const shown = this.#publicTests(rng, valid);
      if (shown) out.push({ prompt: formatExamples(shown), response: formatProgram(program) });
    }
    return out;
  }

  /** Statistics for the run's summary: sizes per split and tier, prompt lengths, separation of hidden tests. */
  describe(): Record<string, unknown> {
    const splits: Record<string, unknown> = {};
    for (const [key, ps] of this.#sets) {
      const tiers = Object.fromEntries(TIERS.map((t) => [t, ps.filter((p) => p.tier === t).length]));
      const words = (s: string) => s.split(/\s+/).length;
      splits[key] = {
        problems: ps.length,
        tiers,
        promptTokensMax: Math.max(...ps.map((p) => words(p.prompt))),
        referenceTokensMax: Math.max(...ps.map((p) => words(p.reference))),
        neighbours: ps.reduce((a, p) => a + p.neighbours, 0),
        separated: ps.reduce((a, p) => a + p.separated, 0),
        incorrect: ps.reduce((a, p) => a + p.incorrect.length, 0),
        // Problems that a training problem's reference of the same fingerprint solves (0 with disjointSplits).
        functionInTrain: key.endsWith("/train") ? undefined : ps.filter((p) => this.#sharesTrainFunction(p)).length,
      };
    }
    return { options: this.options, splits, vocabulary: this.vocabulary.length };
  }

  /** Whether some training reference with the problem's fingerprint passes all of its tests. */
  #sharesTrainFunction(p: CodeProblem): boolean {
    return (this.#trainPrints.get(this.#prints.get(p.id)!) ?? []).some((r) =>
      this.judge(p, r, "all").outcome === "passed"
    );
  }

  /**
   * Whether a problem of `set/split` may compute the function `print`: an evaluation split counts each function
   * once; with `disjointSplits` no function is in two evaluation splits or in an evaluation and a training split.
   * Training problems may repeat a function on other examples (as APPS's training problems repeat ideas), so that
   * the training split is drawn from the tier's distribution and not pushed toward long programs once the short
   * ones are taken.
   */
  #allowed(key: string, split: CodeSplit, print: string): boolean {
    if (this.options.disjointSplits && this.#evalPrints.has(print)) return false;
    return split === "train" || !this.#seen.get(key)?.has(print);
  }

  /** Draws programs of the tier until one makes a valid, distinct problem. */
  #problem(rng: Rng, set: CodeSet, split: CodeSplit, tier: Tier, index: number): CodeProblem {
    const o = this.options, shape = o.tiers[tier];
    const id = `${set}-${split}-${String(index).padStart(4, "0")}`;
    // The length is drawn first and kept while drawing: otherwise the filters below (minimal, valid, distinct),
    // which reject long programs more often, would make most problems one statement long.
    const [lo, hi] = shape.statements, length = lo + rng.int(hi - lo + 1);
    const fixed = programShape({ ...shape, statements: [length, length] });
    for (let tries = 0; tries < o.maxTries; tries++) {
      const program = randomProgram(rng, fixed);
      if (!program) continue;
      const print = fingerprint(program, this.#probes, o.stepLimit);
      if (!this.#allowed(`${set}/${split}`, split, print) || !isMinimal(program, this.#probes, o.stepLimit)) continue;
      const valid = this.#validInputs(rng, program, shape.inputLength, o.candidates);
      if (valid.length < o.publicTests + o.hiddenTests) continue;
      const shown = this.#publicTests(rng, valid);
      if (!shown) continue;
      const prompt = formatExamples(shown);
      if (this.#byPrompt.has(prompt)) continue;
      const pool = valid.filter((t) => !shown.includes(t));
      const { hidden, neighbours, separated } = this.#hiddenTests(rng, program, shape, shown, pool);
      const incorrect = set === "contest" && split === "train" ? this.#incorrect(rng, program, shown, hidden) : [];
      if (set === "contest" && split === "train" && incorrect.length === 0) continue;
      if (split === "train") {
        this.#trainPrints.set(print, [...this.#trainPrints.get(print) ?? [], formatProgram(program)]);
      } else {
        this.#seen.set(`${set}/${split}`, (this.#seen.get(`${set}/${split}`) ?? new Set()).add(print));
        this.#evalPrints.add(print);
      }
      this.#prints.set(id, print);
      const problem: CodeProblem = {
        id,
        set,
        split,
        tier,
        prompt,
        reference: formatProgram(program),
        publicTests: shown,
        hiddenTests: hidden,
        incorrect,
        neighbours,
        separated,
      };
      this.#byPrompt.set(prompt, problem);
      return problem;
    }
    throw new RangeError(
      `Code testbed: no new distinct ${tier} problem for ${id} after ${o.maxTries} draws; ask for fewer problems ` +
        `or widen tiers.${tier}`,
    );
  }

  /** Distinct random inputs on which the program runs without error, as test cases. */
  #validInputs(rng: Rng, program: Program, lengths: readonly [number, number], n: number): TestCase[] {
    const out: TestCase[] = [], seen = new Set<string>();
    for (let i = 0; i < 3 * n && out.length < n; i++) {
      const input = randomInput(rng, lengths, this.options.inputMax);
      const key = input.join(",");
      if (seen.has(key)) continue;
      seen.add(key);
      const r = runProgram(program, input, this.options.stepLimit);
      if (r.ok) out.push({ input, output: r.value });
    }
    return out;
  }

  /** `publicTests` of the valid cases within the prompt budget and not all with one output, or undefined. */
  #publicTests(rng: Rng, valid: TestCase[]): TestCase[] | undefined {
    const o = this.options, shown: TestCase[] = [];
    let tokens = 0;
    for (const t of rng.shuffle([...valid])) {
      const cost = exampleTokens(t);
      if (tokens + cost > o.promptBudget) continue;
      shown.push(t);
      tokens += cost;
      if (shown.length === o.publicTests) break;
    }
    if (shown.length < o.publicTests) return undefined;
    if (shown.every((t) => sameValue(t.output, shown[0].output))) return undefined;
    return shown;
  }

  /** Greedy hidden tests: each the pool input that tells apart the most neighbours not yet told apart. */
  #hiddenTests(rng: Rng, program: Program, shape: TierShape, shown: TestCase[], pool: TestCase[]) {
    const o = this.options, candidates = mutants(program);
    for (let i = 0; i < o.randomNeighbours; i++) {
      const p = randomProgram(rng, programShape(shape));
      if (p) candidates.push(p);
    }
    const passesPublic = (p: Program) => judgeProgram(p, shown, o.stepLimit).outcome === "passed";
    // differs[j][t]: neighbour j fails pool test t.
    const differs = candidates.filter(passesPublic)
      .map((p) => pool.map((t) => judgeProgram(p, [t], o.stepLimit).outcome !== "passed"))
      .filter((row) => row.some((d) => d));
    const open = new Set(differs.keys()), chosen: number[] = [];
    while (chosen.length < o.hiddenTests && open.size > 0) {
      let best = -1, bestCount = 0;
      pool.forEach((_, t) => {
        if (chosen.includes(t)) return;
        let c = 0;
        for (const j of open) if (differs[j][t]) c++;
        if (c > bestCount) [best, bestCount] = [t, c];
      });
      chosen.push(best);
      for (const j of [...open]) if (differs[j][best]) open.delete(j);
    }
    const rest = rng.shuffle(pool.map((_, t) => t).filter((t) => !chosen.includes(t)));
    chosen.push(...rest.slice(0, o.hiddenTests - chosen.length));
    return { hidden: chosen.map((t) => pool[t]), neighbours: differs.length, separated: differs.length - open.size };
  }

  /** Incorrect mutants, those passing some public test first. */
  #incorrect(rng: Rng, program: Program, shown: TestCase[], hidden: TestCase[]): string[] {
    const o = this.options, all = [...shown, ...hidden];
    const wrong = rng.shuffle(mutants(program)).filter((p) => judgeProgram(p, all, o.stepLimit).outcome !== "passed");
    const plausible = (p: Program) => judgeProgram(p, shown, o.stepLimit).passed > 0 ? 0 : 1;
    wrong.sort((a, b) => plausible(a) - plausible(b));
    return wrong.slice(0, o.incorrectPerProblem).map(formatProgram);
  }
}

/** The words of one example in the prompt. */
function exampleTokens(t: TestCase): number {
  return 2 + t.input.length + (typeof t.output === "number" ? 1 : t.output.length);
}

/** Examples as prompt text: `in 3 -1 4 -> 4 0 5 in 2 = 3`. */
export function formatExamples(tests: readonly TestCase[]): string {
  return tests.map((t) => {
    const out = typeof t.output === "number" ? `= ${t.output}` : `-> ${formatValue(t.output)}`;
    return `in ${formatValue(t.input)} ${out}`.replace(/\s+/g, " ").trim();
  }).join(" ");
}

function programShape(shape: TierShape) {
  const functions = shape.functions === "common" ? COMMON_FUNCTIONS : ALL_FUNCTIONS;
  return { statements: shape.statements, functions, requireOneOf: shape.rare ? RARE_FUNCTIONS : undefined };
}

/**
 * Tiers of `n` problems in the proportions `weights` (introductory, interview, competition), interleaved: problem i
 * takes the tier furthest behind its share of i + 1 (ties to the easier tier).
 */
function tierMix(n: number, weights: readonly [number, number, number]): Tier[] {
  const total = weights[0] + weights[1] + weights[2], counts = [0, 0, 0];
  return Array.from({ length: n }, (_, i) => {
    let best = 0, bestGap = -Infinity;
    for (let t = 0; t < 3; t++) {
      const gap = (i + 1) * weights[t] / total - counts[t];
      if (gap > bestGap + 1e-12) [best, bestGap] = [t, gap];
    }
    counts[best]++;
    return TIERS[best];
  });
}

/** APPS's mixes: its test split is 1000 : 3000 : 1000 problems, its training split 2639 : 2000 : 361. */
const APPS_TEST_MIX = [1, 3, 1] as const, APPS_TRAIN_MIX = [2639, 2000, 361] as const;
/** The contest split: interview and competition 1 : 1 (CodeContests is harder). */
const CONTEST_MIX = [0, 1, 1] as const;
