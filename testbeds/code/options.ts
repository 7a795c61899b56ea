/**
 * The code testbed's options, their defaults and their checks. Every default is ours (the paper's APPS and
 * CodeContests are fixed datasets). The difficulty settings (`disjointSplits`, `tiers`) were set before any method
 * was compared, by the base and SFT models' pass@5 alone (`deno task code:calibrate`, experiments/code_calibrate.ts,
 * whose variants are the settings tried in order), and are fixed since: with DeepCoder's disjoint splits the `xs`
 * SFT model solved almost nothing (introductory pass@5 0-5%); with shared functions and interview references of
 * two to four statements the tiers fell from introductory to interview by a factor of five; the defaults (interview
 * two or three, competition three or four) gave SFT introductory 17.7%, interview 6.7%, competition 0.0%.
 *
 * @example
 * ```ts
 * resolveOptions({ appsTrain: 100, tiers: { introductory: { statements: [1, 1] } } }).tiers.introductory;
 * // { statements: [1, 1], functions: "common", rare: false, inputLength: [3, 5] }
 * ```
 * @module
 */
import { MAX_STATEMENTS, STEP_LIMIT, VMAX } from "./dsl.ts";

/** APPS's difficulty levels. */
export const TIERS = ["introductory", "interview", "competition"] as const;
export type Tier = typeof TIERS[number];

/** What a tier's reference programs and inputs look like. */
export interface TierShape {
  /** Least and most statements of the reference. */
  statements: [number, number];
  /** "common": the ten one-list functions only (generate.ts COMMON_FUNCTIONS); "all": every function. */
  functions: "common" | "all";
  /** Whether the reference uses at least one of ACCESS, TAKE, DROP, ZIPWITH, SCANL1. */
  rare: boolean;
  /** Least and most elements of a test input. */
  inputLength: [number, number];
}

/** Every option of {@link CodeTestbed}. */
export interface CodeTestbedOptions {
  /** Seed of the whole problem set (fixed across run seeds, as APPS is one dataset). */
  seed: number;
  /**
   * Whether no evaluation problem may compute the function of a training problem or of another evaluation split's
   * problem (DeepCoder's semantic disjointness: a test of generalisation to new programs). When false, an
   * evaluation problem may share its function, never its examples, with a training problem, as APPS's test
   * problems share solution ideas with its training problems; the summary counts how many do. Each evaluation
   * split counts a function once either way.
   */
  disjointSplits: boolean;
  appsTrain: number;
  appsTest: number;
  contestTrain: number;
  contestValidation: number;
  contestTest: number;
  /** Examples shown in the prompt (CodeContests' statements show a few). */
  publicTests: number;
  /** Tests the policy never sees; chosen to separate the neighbours of the reference. */
  hiddenTests: number;
  /** Incorrect solutions per contest training problem (the DPO pairs of §6.4). */
  incorrectPerProblem: number;
  /** Test inputs' values are uniform in [−inputMax, inputMax]. */
  inputMax: number;
  /** Random inputs drawn per problem, of which the valid ones are the public tests and the hidden pool. */
  candidates: number;
  /** Random programs of the tier added to the one-edit mutants as neighbours to separate. */
  randomNeighbours: number;
  /** Most words of a prompt: xs's context 64 − BOS − SEP − a 24-token program (EOS included). */
  promptBudget: number;
  /** Interpreter steps per test (a judge's time limit). */
  stepLimit: number;
  /** Draws per problem before the generator gives up (then an error names the tier). */
  maxTries: number;
  tiers: Record<Tier, TierShape>;
  /** Statements of the pretraining corpus's random programs. */
  corpusStatements: [number, number];
  corpusInputLength: [number, number];
}

/** The defaults. */
export const CODE_DEFAULTS: Readonly<CodeTestbedOptions> = {
  seed: 1,
  disjointSplits: false,
  appsTrain: 2000,
  appsTest: 200,
  contestTrain: 500,
  contestValidation: 60,
  contestTest: 60,
  publicTests: 3,
  hiddenTests: 8,
  incorrectPerProblem: 2,
  inputMax: 9,
  candidates: 48,
  randomNeighbours: 16,
  promptBudget: 38,
  stepLimit: STEP_LIMIT,
  maxTries: 5000,
  tiers: {
    introductory: { statements: [1, 3], functions: "common", rare: false, inputLength: [3, 5] },
    interview: { statements: [2, 3], functions: "all", rare: false, inputLength: [3, 5] },
    competition: { statements: [3, 4], functions: "all", rare: true, inputLength: [3, 5] },
  },
  corpusStatements: [1, 4],
  corpusInputLength: [2, 5],
};

/** Defaults overlaid with `partial` (tiers merged field by field); unknown keys are an error naming them. */
export function resolveOptions(partial: Partial<CodeTestbedOptions>): CodeTestbedOptions {
  if (typeof partial !== "object" || partial === null) throw new TypeError("Code testbed options must be an object");
  for (const k of Object.keys(partial)) {
    if (!(k in CODE_DEFAULTS)) throw new RangeError(`Code testbed option '${k}' does not exist`);
  }
  const tiers = { ...CODE_DEFAULTS.tiers };
  for (const [t, shape] of Object.entries(partial.tiers ?? {})) {
    if (!(TIERS as readonly string[]).includes(t)) {
      throw new RangeError(`Code testbed option 'tiers.${t}' does not exist`);
    }
    for (const k of Object.keys(shape)) {
      if (!(k in CODE_DEFAULTS.tiers.introductory)) {
        throw new RangeError(`Code testbed option 'tiers.${t}.${k}' does not exist`);
      }
    }
    tiers[t as Tier] = { ...tiers[t as Tier], ...shape };
  }
  return { ...CODE_DEFAULTS, ...partial, tiers };
}

/** Checks every field's type and range; the error names the field and its value. */
export function checkOptions(o: CodeTestbedOptions): void {
  const int = (key: string, v: unknown, min: number, max = Infinity) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`Code testbed option '${key}' must be an integer in [${min}, ${max}], got ${String(v)}`);
    }
  };
  const range = (key: string, v: unknown, min: number, max: number) => {
    if (!Array.isArray(v) || v.length !== 2) throw new TypeError(`Code testbed option '${key}' must be [lo, hi]`);
    int(`${key}[0]`, v[0], min, max);
    int(`${key}[1]`, v[1], v[0], max);
  };
  int("seed", o.seed, -(2 ** 31));
  if (typeof o.disjointSplits !== "boolean") {
    throw new TypeError(`Code testbed option 'disjointSplits' must be a boolean, got ${String(o.disjointSplits)}`);
  }
  for (const k of ["appsTest", "contestTrain", "contestValidation", "contestTest", "appsTrain"] as const) {
    int(k, o[k], 1);
  }
  int("publicTests", o.publicTests, 1, 8);
  int("hiddenTests", o.hiddenTests, 1, 64);
  int("incorrectPerProblem", o.incorrectPerProblem, 1, 16);
  int("inputMax", o.inputMax, 1, VMAX);
  int("candidates", o.candidates, o.publicTests + o.hiddenTests);
  int("randomNeighbours", o.randomNeighbours, 0);
  int("promptBudget", o.promptBudget, 3);
  int("stepLimit", o.stepLimit, 1);
  int("maxTries", o.maxTries, 1);
  for (const t of TIERS) {
    const s = o.tiers[t], key = `tiers.${t}`;
    range(`${key}.statements`, s.statements, 1, MAX_STATEMENTS);
    range(`${key}.inputLength`, s.inputLength, 1, 16);
    if (s.functions !== "common" && s.functions !== "all") {
      throw new RangeError(`Code testbed option '${key}.functions' must be "common" or "all", got ${s.functions}`);
    }
    if (typeof s.rare !== "boolean") throw new TypeError(`Code testbed option '${key}.rare' must be a boolean`);
  }
  range("corpusStatements", o.corpusStatements, 1, MAX_STATEMENTS);
  range("corpusInputLength", o.corpusInputLength, 1, 16);
}
