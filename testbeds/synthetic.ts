/**
 * The synthetic scenario of §4.2 (Figure 1): a discrete prompt space and a discrete response space, both of size 8,
 * where the optimal response to prompt i is response i (the diagonal), and a sparse preference dataset "randomly
 * created under this constraint" that "only covers limited preference pairs for each input" (PAPER.md §3.5).
 *
 * The paper gives nothing more, so the construction is ours (each option below is one such choice):
 * - a hidden ground-truth reward r*(x, y): 1 on the diagonal, and for y ≠ x an independent uniform draw in
 *   [0, suboptimalMax), so the diagonal is the unique optimum of every prompt;
 * - for each prompt, `coveredPerPrompt` responses appear in the data: the diagonal (without it no method could learn
 *   the optimum, and the paper says PPO does) and `coveredPerPrompt − 1` others drawn uniformly without replacement;
 * - the pairs of a prompt are the diagonal against each other covered response (so every covered response appears),
 *   then, up to `pairsPerPrompt`, pairs among the other covered responses drawn uniformly without replacement; every
 *   pair is labelled by r* without noise ("consistent with" the diagonal optimum).
 * A (prompt, response) cell is covered when the response appears in at least one pair of that prompt: the dark
 * cells of Figure 1's first panel; the others are the circled, uncovered cells.
 *
 * @example
 * ```ts
 * const data = makeSyntheticData(new Rng(1).split("data"));
 * data.pairs[0];                     // { prompt: 0, chosen: 0, rejected: 5 }
 * uncoveredCells(data.coverage);     // 40 cells with the defaults (8 x 8, 3 covered per prompt)
 * ```
 * @module
 */
import type { Rng } from "../kernels/rng.ts";

/** Settings of the synthetic task (all ours: the paper gives only the sizes). */
export interface SyntheticOptions {
  /** Number of prompts (paper: 8). */
  prompts: number;
  /** Number of responses (paper: 8); at least `prompts`, so every prompt has its diagonal response. */
  responses: number;
  /** Responses of each prompt that appear in the preference data, the diagonal included. */
  coveredPerPrompt: number;
  /** Distinct pairs per prompt, between coveredPerPrompt − 1 (diagonal vs. each other) and all C(covered, 2). */
  pairsPerPrompt: number;
  /** Ground-truth reward of a non-diagonal response is uniform in [0, suboptimalMax); the diagonal's is 1. */
  suboptimalMax: number;
}

/** Defaults: the paper's 8 x 8; 3 covered responses and all 3 of their pairs per prompt (our choice). */
export const SYNTHETIC_DEFAULTS: Readonly<SyntheticOptions> = {
  prompts: 8,
  responses: 8,
  coveredPerPrompt: 3,
  pairsPerPrompt: 3,
  suboptimalMax: 0.9,
};

/** One labelled comparison: `chosen` ≻ `rejected` for `prompt` (indices). */
export interface SyntheticPair {
  prompt: number;
  chosen: number;
  rejected: number;
}

/** A generated dataset. */
export interface SyntheticData {
  options: SyntheticOptions;
  /** Pairs, grouped by prompt in prompt order. */
  pairs: SyntheticPair[];
  /** coverage[x][y] = 1 when response y appears in a pair of prompt x, else 0. */
  coverage: number[][];
  /** The hidden ground-truth reward r*(x, y). */
  groundTruth: number[][];
  /** The optimal response of each prompt: the diagonal, optimal[x] = x. */
  optimal: number[];
}

/** Checks options; errors name the field and the value. */
export function checkSyntheticOptions(o: SyntheticOptions): void {
  const int = (name: keyof SyntheticOptions, lo: number, hi: number) => {
    const v = o[name];
    if (!(Number.isInteger(v) && v >= lo && v <= hi)) {
      throw new RangeError(`Synthetic task: ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
    }
  };
  int("prompts", 1, 1024);
  int("responses", Math.max(2, o.prompts), 1024);
  int("coveredPerPrompt", 2, o.responses);
  const c = o.coveredPerPrompt;
  int("pairsPerPrompt", c - 1, (c * (c - 1)) / 2);
  if (!(o.suboptimalMax > 0 && o.suboptimalMax <= 1)) {
    throw new RangeError(`Synthetic task: suboptimalMax must be in (0, 1], got ${o.suboptimalMax}`);
  }
}

/** Generates the task's ground truth and preference data from the stream `rng` (deterministic per stream). */
export function makeSyntheticData(rng: Rng, options: Partial<SyntheticOptions> = {}): SyntheticData {
  const o = { ...SYNTHETIC_DEFAULTS, ...options };
  checkSyntheticOptions(o);
  const { prompts: nx, responses: ny } = o;
  const gtRng = rng.split("ground-truth");
  const groundTruth = Array.from(
    { length: nx },
    (_, x) => Array.from({ length: ny }, (_, y) => (y === x ? 1 : gtRng.uniform() * o.suboptimalMax)),
  );
  const pairs: SyntheticPair[] = [];
  const coverage = Array.from({ length: nx }, () => new Array<number>(ny).fill(0));
  for (let x = 0; x < nx; x++) {
    const r = rng.split("prompt").split(x);
    const others = r.shuffle([...Array(ny).keys()].filter((y) => y !== x)).slice(0, o.coveredPerPrompt - 1);
    others.sort((a, b) => a - b);
    const mine: SyntheticPair[] = others.map((y) => ({ prompt: x, chosen: x, rejected: y }));
    const extra: [number, number][] = [];
    for (let i = 0; i < others.length; i++) {
      for (let j = i + 1; j < others.length; j++) extra.push([others[i], others[j]]);
    }
    for (const [a, b] of r.shuffle(extra).slice(0, o.pairsPerPrompt - mine.length)) {
      const [w, l] = groundTruth[x][a] >= groundTruth[x][b] ? [a, b] : [b, a];
      mine.push({ prompt: x, chosen: w, rejected: l });
    }
    for (const p of mine) coverage[x][p.chosen] = coverage[x][p.rejected] = 1;
    pairs.push(...mine);
  }
  return { options: o, pairs, coverage, groundTruth, optimal: [...Array(nx).keys()] };
}

/** The (prompt, response) cells no pair covers, row by row. */
export function uncoveredCells(coverage: readonly (readonly number[])[]): { row: number; col: number }[] {
  return coverage.flatMap((r, row) => r.flatMap((c, col) => (c === 0 ? [{ row, col }] : [])));
}

/** Mean of `matrix` over `cells` (NaN when there are none). */
export function meanOver(matrix: readonly (readonly number[])[], cells: { row: number; col: number }[]): number {
  return cells.length === 0 ? NaN : cells.reduce((s, c) => s + matrix[c.row][c.col], 0) / cells.length;
}

/** Mean of the diagonal: the mean probability of the optimal response when `matrix` is a policy. */
export function diagonalMean(matrix: readonly (readonly number[])[]): number {
  return matrix.reduce((s, row, i) => s + row[i], 0) / matrix.length;
}

/** One-hot rows [indices.length, n], row-major: the MLPs' input encoding of prompts. */
export function oneHotRows(indices: readonly number[], n: number): Float32Array {
  const out = new Float32Array(indices.length * n);
  indices.forEach((i, r) => {
    if (!(Number.isInteger(i) && i >= 0 && i < n)) {
      throw new RangeError(`oneHotRows: index ${i} at row ${r} is not in [0, ${n})`);
    }
    out[r * n + i] = 1;
  });
  return out;
}
