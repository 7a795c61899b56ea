/**
 * Bradley-Terry maximum likelihood for one prompt (Eqs. 3-4), exact up to a stated tolerance, including the case the
 * paper's Table 1 lives in: gaps that the likelihood sends to infinity.
 *
 * The negative log-likelihood L(r) = Σ_{i beat j} n_ij · log(1 + exp(-(r_i - r_j))) splits along the win graph's
 * SCCs (graph.ts): a term inside an SCC depends only on differences inside it; a term between two SCCs always favours
 * the upper one (else they would be one SCC), so it tends to 0 as that gap grows. Hence
 *   inf L = Σ_SCC min L_SCC,
 * attained iff no comparison crosses SCCs. Each SCC's own problem has a unique finite minimiser up to a constant
 * (Ford's condition holds inside it), found here by Newton's method.
 *
 * A minimising family is r_t(y) = ρ(y) + t·tier(y), t -> ∞, with ρ the per-SCC fit (each SCC centred to mean 0) and
 * tier(y) = -depth of y's SCC. Gaps inside an SCC are finite; a gap from an SCC to one below it (reachable by wins)
 * is +∞; any other gap (different connected components, or SCCs that are not ordered) is not identified by the data.
 * @module
 */
import { type WinGraph, winGraph } from "./graph.ts";

/** Newton stops when the largest gradient entry of an SCC's loss falls below this times its comparison count. */
export const BT_TOLERANCE = 1e-10;

/** The fit of one prompt. */
export interface BtFit {
  graph: WinGraph;
  /** Per response: the finite part ρ of the reward (each SCC centred to mean 0); NaN if uncovered. */
  rho: number[];
  /** Per response: 0 for the top SCCs, -k for an SCC k steps down the win order; NaN if uncovered. */
  tier: number[];
  /** Whether the maximiser exists (every connected component's win graph is strongly connected). */
  finite: boolean;
  /** inf of Σ n_ij log(1 + exp(-(r_i - r_j))) over rewards (a sum, not a mean). */
  minLoss: number;
  /** Total count of comparisons. */
  count: number;
  /** Newton iterations, summed over SCCs, and the largest final |∂L/∂r|. */
  iterations: number;
  gradMax: number;
}

/** log(1 + exp(x)) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** The logistic function σ(x). */
export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Fits Bradley-Terry rewards to a win-count matrix (`wins[i][j]` = times i beat j). */
export function fitBradleyTerry(wins: number[][]): BtFit {
  const n = wins.length;
  const graph = winGraph(wins);
  const rho = new Array<number>(n).fill(NaN);
  const tier = new Array<number>(n).fill(NaN);
  let iterations = 0;
  let gradMax = 0;
  let minLoss = 0;
  let count = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) count += wins[i][j];
  graph.members.forEach((ms, k) => {
    const fit = fitScc(ms.map((i) => ms.map((j) => wins[i][j])));
    ms.forEach((i, a) => {
      rho[i] = fit.r[a];
      tier[i] = 0 - graph.depth[k]; // 0 - depth, not -depth: the top tier is +0, never -0
    });
    iterations += fit.iterations;
    gradMax = Math.max(gradMax, fit.gradMax);
    minLoss += fit.loss;
  });
  const finite = graph.beats.every((b) => b.length === 0);
  return { graph, rho, tier, finite, minLoss, count, iterations, gradMax };
}

/**
 * The gap r(a) - r(b) the data pin down: a number, +Infinity / -Infinity, or "free" when it is not identified
 * (a and b in different connected components, or in SCCs that no chain of wins orders).
 */
export function btGap(fit: BtFit, a: number, b: number): number | "free" {
  const { scc, component, reach } = fit.graph;
  if (scc[a] < 0 || scc[b] < 0 || component[a] !== component[b]) return "free";
  if (scc[a] === scc[b]) return fit.rho[a] - fit.rho[b];
  if (reach[scc[a]][scc[b]]) return Infinity;
  if (reach[scc[b]][scc[a]]) return -Infinity;
  return "free";
}

/** Loss, gradient and Hessian of one SCC's negative log-likelihood at r. */
function sccLoss(n: number[][], r: number[]): { loss: number; g: number[]; h: number[][] } {
  const k = r.length;
  const g = new Array<number>(k).fill(0);
  const h = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let loss = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (!(n[i][j] > 0)) continue;
      const d = r[i] - r[j];
      loss += n[i][j] * softplus(-d);
      const s = sigmoid(-d); // ∂/∂d of -log σ(d) is -σ(-d)
      g[i] -= n[i][j] * s;
      g[j] += n[i][j] * s;
      const w = n[i][j] * s * (1 - s);
      h[i][i] += w;
      h[j][j] += w;
      h[i][j] -= w;
      h[j][i] -= w;
    }
  }
  return { loss, g, h };
}

/**
 * Newton's method on one strongly connected SCC with r[0] fixed at 0 (the Hessian restricted to the other
 * coordinates is positive definite because the SCC is connected), with backtracking so every step lowers the loss.
 * Then centred to mean 0.
 */
function fitScc(n: number[][]): { r: number[]; loss: number; iterations: number; gradMax: number } {
  const k = n.length;
  let r = new Array<number>(k).fill(0);
  let cur = sccLoss(n, r);
  const total = n.flat().reduce((a, b) => a + b, 0);
  let it = 0;
  const gmax = (g: number[]) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  while (k > 1 && gmax(cur.g) > BT_TOLERANCE * Math.max(1, total) && it < 200) {
    const sub = cur.h.slice(1).map((row) => row.slice(1));
    const step = [0, ...solveSpd(sub, cur.g.slice(1).map((v) => -v))];
    let t = 1;
    let next = sccLoss(n, r.map((v, i) => v + t * step[i]));
    while (next.loss > cur.loss && t > 1e-12) {
      t /= 2;
      next = sccLoss(n, r.map((v, i) => v + t * step[i]));
    }
    r = r.map((v, i) => v + t * step[i]);
    cur = next;
    it++;
  }
  const mean = r.reduce((a, b) => a + b, 0) / k;
  return { r: r.map((v) => v - mean), loss: cur.loss, iterations: it, gradMax: gmax(cur.g) };
}

/** Solves A x = b for a symmetric positive definite A by Cholesky decomposition. */
export function solveSpd(a: number[][], b: number[]): number[] {
  const n = b.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`solveSpd: matrix is not positive definite (pivot ${i} is ${s})`);
        l[i][i] = Math.sqrt(s);
      } else l[i][j] = s / l[j][j];
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i][k] * y[k];
    y[i] = s / l[i][i];
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k][i] * x[k];
    x[i] = s / l[i][i];
  }
  return x;
}
