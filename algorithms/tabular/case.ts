/**
 * The data model of a tabular audit case (PAPER.md §3.3, Table 1): prompts, the responses of each prompt with their
 * reference probabilities, preference pairs with counts, β, optional response features for a shared-parameter
 * policy, optional candidate policies to check, and the settings of the audit (a typed config, util/config.ts).
 *
 * Everything here is CPU float64: the audit is an exact analysis of small tables, not a training run.
 * @module
 */
import { type ConfigOf, defaults, opt } from "../../util/config.ts";

/**
 * The audit's settings. In a case file they sit at the top level beside `prompts` and `pairs`; `--set key=value`
 * overrides them on the command line.
 */
export const SETTINGS = {
  title: opt("", "A one-line title for the report (defaults to the file name)"),
  beta: opt(0.1, "KL strength β of Eqs. 2 and 7 (must be > 0); 0.1 is the paper's default (Appendix A, Table 11)"),
  unseenReward: opt(
    "min",
    "Reward assumed for a response outside the preference data when building PPO's target (Eq. 5): 'min' (the " +
      "prompt's lowest fitted reward), 'max' (its highest), or a number (a finite reward at the top tier). The " +
      "data do not identify it; PPO's target is zero where π_ref is zero whatever it is",
  ),
  witnessMass: opt(
    0.1,
    "Mass the explicit DPO-optimal policy keeps on covered responses; the rest goes outside the data (Table 1: 0.1)",
    { min: 0, max: 1 },
  ),
  gd: {
    steps: opt(300, "Gradient steps on the DPO loss (Eq. 7) from the reference, for each policy class", {
      int: true,
      min: 0,
    }),
    optimizer: opt("adam", "Optimizer of the DPO descent (not in paper for the toy; Adam is what DPO uses)", {
      choices: ["adam", "sgd"],
    }),
    lr: opt(0.05, "Learning rate of the DPO descent", { min: 0 }),
    logEvery: opt(5, "Record the policy every this many steps (the trajectory of the figure)", { int: true, min: 1 }),
    model: opt("linear", "Shared-parameter policy on the features: logits = w·φ, or a one-hidden-layer tanh MLP", {
      choices: ["linear", "mlp"],
    }),
    hidden: opt(8, "Hidden width of the MLP policy", { int: true, min: 1, max: 256 }),
    seed: opt(1, "Seed of the MLP's initial weights (kernels/rng.ts stream 'gd/mlp_init')", { int: true, min: 0 }),
    fitSteps: opt(3000, "Adam steps fitting the shared policy to π_ref before the descent (cross-entropy)", {
      int: true,
      min: 0,
    }),
    fitLr: opt(0.05, "Learning rate of that fit", { min: 0 }),
  },
};

/** The resolved settings of a case. */
export type AuditSettings = ConfigOf<typeof SETTINGS>;

/** The settings' defaults. */
export function defaultSettings(): AuditSettings {
  return defaults(SETTINGS);
}

/** One prompt of a case: its declared responses, in file order, and the reference policy over them. */
export interface PromptCase {
  name: string;
  /** Response names, in the order the file declares them. */
  responses: string[];
  /** π_ref(y|x) per response; sums to 1 (renormalised exactly after the 1e-6 check). */
  ref: number[];
  /** Response features φ(x, y) for the shared-parameter policy, [R, F]; absent when the case gives none. */
  features?: number[][];
}

/** One preference pair: `count` comparisons in which `chosen` beat `rejected` (indices into the prompt's responses). */
export interface Pair {
  prompt: number;
  chosen: number;
  rejected: number;
  /** A positive weight; non-integer weights are allowed (ReaLHF weights pairs by 1/pairs-per-prompt, §8.1). */
  count: number;
  /** The line of the file that declared it, for messages. */
  line: number;
}

/** A named policy to check: per prompt (by index), a probability per response. Prompts left out are not checked. */
export interface Candidate {
  name: string;
  policy: Map<number, number[]>;
}

/** A validated case. */
export interface TabularCase {
  /** Where it came from (a path, or a label for cases built in code). */
  file: string;
  prompts: PromptCase[];
  pairs: Pair[];
  candidates: Candidate[];
  settings: AuditSettings;
}

/** What `unseenReward` means once parsed. */
export type UnseenRule = { kind: "min" } | { kind: "max" } | { kind: "value"; value: number };

/** Parses the `unseenReward` setting; `where` names its source in the message. */
export function parseUnseenRule(s: string, where: string): UnseenRule {
  if (s === "min" || s === "max") return { kind: s };
  const v = Number(s);
  if (s.trim() === "" || !Number.isFinite(v)) {
    throw new RangeError(`${where}: unseenReward must be 'min', 'max' or a finite number, got '${s}'`);
  }
  return { kind: "value", value: v };
}

/** The pairs of one prompt. */
export function pairsOf(c: TabularCase, prompt: number): Pair[] {
  return c.pairs.filter((p) => p.prompt === prompt);
}

/** Per response of a prompt: whether some pair compares it (the responses "covered" by the preference data). */
export function coveredOf(c: TabularCase, prompt: number): boolean[] {
  const cov = c.prompts[prompt].responses.map(() => false);
  for (const p of pairsOf(c, prompt)) cov[p.chosen] = cov[p.rejected] = true;
  return cov;
}

/** The win-count matrix of a prompt, wins[i][j] = total count of pairs in which i beat j. */
export function winMatrix(c: TabularCase, prompt: number): number[][] {
  const r = c.prompts[prompt].responses.length;
  const n = Array.from({ length: r }, () => new Array<number>(r).fill(0));
  for (const p of pairsOf(c, prompt)) n[p.chosen][p.rejected] += p.count;
  return n;
}
