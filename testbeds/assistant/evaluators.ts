/**
 * The dialogue tables' judges (TESTBEDS.md §2, PAPER.md §6.1 and Appendix B), kept apart from everything that trains:
 *
 * - {@link pairwiseVerdict}: the GPT-4 stand-in. It prefers the response with the higher HH utility (labels.ts
 *   `hhUtility`: gold helpfulness minus weighted harm) under its own Bradley-Terry noise, and it has a position
 *   bias: P(first wins) = σ((u_first − u_second) / τ + bias). {@link judgeTwice} asks it twice with the positions
 *   swapped; two verdicts for the same response are a win, disagreement is a tie (the paper's protocol).
 * - {@link goldVerdict}: the noise-free gold judge standing in for Table 14's human raters: the higher utility
 *   wins, equal utilities tie.
 *
 * @example
 * ```ts
 * const v = judgeTwice(world, r, ppoResponse, dpoResponse, DEFAULT_JUDGE, labels, rng); // "a" | "b" | "tie"
 * goldVerdict(world, r, ppoResponse, dpoResponse, labels);                               // the "human" verdict
 * ```
 * @module
 */
import type { Rng } from "../../kernels/rng.ts";
import { hhUtility, type LabelNoise } from "./labels.ts";
import type { Request, World } from "./world.ts";

/** The pairwise judge's own noise and bias. */
export interface JudgeOptions {
  /** τ of its Bradley-Terry noise on the utility gap. */
  temperature: number;
  /** Added to the first response's logit: > 0 favours the first position. */
  positionBias: number;
}

/** Ours: noisier than the annotators (τ 0.5) and favouring the first position by 0.5 logits. */
export const DEFAULT_JUDGE: JudgeOptions = { temperature: 0.75, positionBias: 0.5 };

/** A verdict on the pair (a, b). */
export type PairVerdict = "a" | "b" | "tie";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** One call of the judge with `first` shown first: true when it picks `first`. */
export function pairwiseVerdict(
  world: World,
  r: Request,
  first: string,
  second: string,
  judge: JudgeOptions,
  labels: LabelNoise,
  rng: Rng,
): boolean {
  if (!(judge.temperature > 0)) throw new RangeError(`Judge temperature must be > 0, got ${judge.temperature}`);
  const gap = hhUtility(world, r, first, labels) - hhUtility(world, r, second, labels);
  return rng.uniform() < sigmoid(gap / judge.temperature + judge.positionBias);
}

/** The judge asked twice, (a, b) then (b, a): the same winner both times wins, else a tie. */
export function judgeTwice(
  world: World,
  r: Request,
  a: string,
  b: string,
  judge: JudgeOptions,
  labels: LabelNoise,
  rng: Rng,
): PairVerdict {
  const aFirst = pairwiseVerdict(world, r, a, b, judge, labels, rng);
  const bFirst = pairwiseVerdict(world, r, b, a, judge, labels, rng);
  if (aFirst && !bFirst) return "a";
  if (!aFirst && bFirst) return "b";
  return "tie";
}

/** The noise-free gold verdict (Table 14's "human" raters). */
export function goldVerdict(world: World, r: Request, a: string, b: string, labels: LabelNoise): PairVerdict {
  const d = hhUtility(world, r, a, labels) - hhUtility(world, r, b, labels);
  return d > 0 ? "a" : d < 0 ? "b" : "tie";
}

/** Win, tie and lose shares of `a` over a list of verdicts. */
export function winTieLose(verdicts: readonly PairVerdict[]): { win: number; tie: number; lose: number } {
  if (verdicts.length === 0) throw new RangeError("winTieLose: no verdicts");
  const n = verdicts.length, count = (v: PairVerdict) => verdicts.filter((x) => x === v).length / n;
  return { win: count("a"), tie: count("tie"), lose: count("b") };
}
