/**
 * What the synthetic study (§4.2) writes besides its training curves, and the statistics over seeds: each seed's
 * matrices (the Figure 1 panels: coverage, π_ref, π_PPO, π_DPO, the learned reward, and PPO's exact target), the
 * per-seed numbers derived from them, and 95% Student-t confidence intervals over seeds. The report section
 * (paper/sections/synthetic.ts) reads these files, never the training script's memory.
 * @module
 */
import { diagonalMean, meanOver, type SyntheticPair, uncoveredCells } from "../testbeds/synthetic.ts";

/** The matrices of one seed, as `seeds/seed_<seed>.json` holds them ([prompt][response]). */
export interface SeedMatrices {
  seed: number;
  pairs: SyntheticPair[];
  coverage: number[][];
  groundTruth: number[][];
  /** π_ref, π_DPO, π_PPO: probabilities. */
  reference: number[][];
  dpo: number[][];
  ppo: number[][];
  /** The learned reward r_φ(x, y) (raw scores; Bradley-Terry fixes them only up to a constant per prompt). */
  reward: number[][];
  /** The exact maximiser of Eq. 2 for the learned reward: π_ref · exp(r_φ/β), normalised per prompt (Eq. 5). */
  ppoTarget: number[][];
}

/** The policies compared. */
export const POLICIES = ["reference", "dpo", "ppo", "ppoTarget"] as const;
/** One of {@link POLICIES}. */
export type PolicyName = typeof POLICIES[number];

/** Numbers of one seed, from its matrices. */
export interface SeedResult {
  seed: number;
  /** Mean probability on the uncovered cells (the circled cells of Figure 1). */
  uncovered: Record<PolicyName, number>;
  /** Mean probability of the optimal (diagonal) response. */
  diagonal: Record<PolicyName, number>;
  /** Fraction of prompts whose most probable response is the diagonal. */
  argmaxDiagonal: Record<PolicyName, number>;
  /** Fraction of uncovered cells where the policy puts more mass than π_ref. */
  uncoveredAboveReference: Record<PolicyName, number>;
  /** Mean over prompts of the total probability on the prompt's uncovered responses. */
  uncoveredMass: Record<PolicyName, number>;
  /** Mean over prompts of the largest probability on one uncovered response. */
  uncoveredMax: Record<PolicyName, number>;
  /** Fraction of prompts whose most probable response is uncovered. */
  argmaxUncovered: Record<PolicyName, number>;
  /** Fraction of prompts whose most probable response is the learned reward's highest-scored response. */
  argmaxIsRewardArgmax: Record<PolicyName, number>;
  /** Fraction of prompts whose highest learned reward is on an uncovered response (reward misspecification). */
  rewardArgmaxUncovered: number;
}

/** A mean over seeds with its 95% Student-t confidence interval. */
export interface Interval {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1). */
  sd: number;
  lo: number;
  hi: number;
}

/** Row-wise softmax of logits [rows, cols] in float64. */
export function softmaxRows(logits: ArrayLike<number>, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, r) => {
    const z = Array.from({ length: cols }, (_, c) => logits[r * cols + c]);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

/** Rows [rows, cols] of a flat array. */
export function matrixRows(x: ArrayLike<number>, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => x[r * cols + c]));
}

/** π*(y|x) ∝ π_ref(y|x) exp(r(x, y)/β): the KL-regularised optimum of Eq. 2 (Eq. 5), in log space. */
export function klTarget(reference: number[][], reward: number[][], beta: number): number[][] {
  return reference.map((row, x) => {
    const z = row.map((p, y) => Math.log(p) + reward[x][y] / beta);
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => sum(xs) / xs.length;
const argmax = (row: number[]) => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);

/** The per-seed numbers of {@link SeedResult}. */
export function seedResult(m: SeedMatrices): SeedResult {
  const cells = uncoveredCells(m.coverage);
  const per = (f: (p: number[][]) => number) =>
    Object.fromEntries(POLICIES.map((name) => [name, f(m[name])])) as Record<PolicyName, number>;
  return {
    seed: m.seed,
    uncovered: per((p) => meanOver(p, cells)),
    diagonal: per(diagonalMean),
    argmaxDiagonal: per((p) => p.filter((row, x) => argmax(row) === x).length / p.length),
    uncoveredAboveReference: per((p) =>
      cells.filter((c) => p[c.row][c.col] > m.reference[c.row][c.col]).length / cells.length
    ),
    uncoveredMass: per((p) => mean(p.map((row, x) => sum(row.filter((_, y) => m.coverage[x][y] === 0))))),
    uncoveredMax: per((p) => mean(p.map((row, x) => Math.max(0, ...row.filter((_, y) => m.coverage[x][y] === 0))))),
    argmaxUncovered: per((p) => p.filter((row, x) => m.coverage[x][argmax(row)] === 0).length / p.length),
    argmaxIsRewardArgmax: per((p) => p.filter((row, x) => argmax(row) === argmax(m.reward[x])).length / p.length),
    rewardArgmaxUncovered: m.reward.filter((row, x) => m.coverage[x][argmax(row)] === 0).length / m.reward.length,
  };
}

/** log Γ(x) (Lanczos, g = 7), for the Student-t distribution. */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised incomplete beta I_x(a, b) by its continued fraction (Lentz), accurate to ~1e-12 here. */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const front = Math.exp(a * Math.log(x) + b * Math.log(1 - x) - logGamma(a) - logGamma(b) + logGamma(a + b)) / a;
  let f = 1, c = 1, d = 0;
  for (let i = 0; i <= 400; i++) {
    const m = Math.floor(i / 2);
    const num = i === 0
      ? 1
      : i % 2 === 0
      ? (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m))
      : -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + num * d;
    d = Math.abs(d) < 1e-300 ? 1e-300 : d;
    c = 1 + num / c;
    c = Math.abs(c) < 1e-300 ? 1e-300 : c;
    d = 1 / d;
    f *= c * d;
    if (Math.abs(1 - c * d) < 1e-15) break;
  }
  return front * (f - 1);
}

/** The Student-t quantile t_{q, df} (q > 0.5), by bisection on the CDF. */
export function studentTQuantile(q: number, df: number): number {
  if (!(q > 0.5 && q < 1) || !(df >= 1)) throw new RangeError(`studentTQuantile needs q in (0.5, 1) and df >= 1`);
  const upper = (t: number) => 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5); // P(T > t)
  let lo = 0, hi = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (upper(mid) > 1 - q) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean and 95% Student-t interval mean ± t_{0.975, n−1} · sd/√n (a single value has an infinite interval). */
export function tInterval(xs: number[]): Interval {
  const n = xs.length;
  if (n === 0) throw new RangeError("tInterval needs at least one value");
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, sd: NaN, lo: -Infinity, hi: Infinity };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = studentTQuantile(0.975, n - 1) * sd / Math.sqrt(n);
  return { n, mean, sd, lo: mean - half, hi: mean + half };
}

/** Aggregates over seeds: each per-policy number's interval, and paired differences against π_ref and PPO. */
export function aggregate(results: SeedResult[]) {
  const over = (f: (r: SeedResult) => number) => tInterval(results.map(f));
  const per = (key: Exclude<keyof SeedResult, "seed" | "rewardArgmaxUncovered">) =>
    Object.fromEntries(POLICIES.map((p) => [p, over((r) => r[key][p])])) as Record<PolicyName, Interval>;
  return {
    uncovered: per("uncovered"),
    diagonal: per("diagonal"),
    argmaxDiagonal: per("argmaxDiagonal"),
    uncoveredAboveReference: per("uncoveredAboveReference"),
    uncoveredMass: per("uncoveredMass"),
    uncoveredMax: per("uncoveredMax"),
    argmaxUncovered: per("argmaxUncovered"),
    argmaxIsRewardArgmax: per("argmaxIsRewardArgmax"),
    rewardArgmaxUncovered: over((r) => r.rewardArgmaxUncovered),
    /** Paired per-seed differences of the uncovered mean. */
    uncoveredDelta: {
      dpoMinusReference: over((r) => r.uncovered.dpo - r.uncovered.reference),
      ppoMinusReference: over((r) => r.uncovered.ppo - r.uncovered.reference),
      dpoMinusPpo: over((r) => r.uncovered.dpo - r.uncovered.ppo),
    },
  };
}

/** The aggregates {@link aggregate} returns. */
export type Aggregates = ReturnType<typeof aggregate>;

/** What `summary.json` holds. */
export interface SyntheticSummary {
  experiment: "synthetic";
  scale: string;
  /** The seed whose matrices Figure 1 shows (the first). */
  figureSeed: number;
  /** Seed -> matrices file, relative to the run directory. */
  matrices: Record<string, string>;
  perSeed: SeedResult[];
  aggregate: Aggregates;
  /** The β of DPO and of PPO's KL penalty (paper: 0.1). */
  beta: { dpo: number; ppo: number };
  /** Every config setting of the run with its one-line doc (which says whether it is the paper's or ours). */
  choices: { key: string; value: unknown; doc: string }[];
}
