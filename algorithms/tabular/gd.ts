/**
 * Gradient descent on the DPO loss (Eq. 7) from the reference, under a tabular softmax policy and under a
 * shared-parameter policy (model.ts), recording where the probability mass goes.
 *
 * Why the two differ (PAPER.md §3.3, notes): for a tabular policy the gradient of each pair's term with respect to
 * the logits is β·σ(-m)·(e_chosen - e_rejected)/N — the log-partition cancels in the log-ratio difference — so an
 * uncovered response's logit never moves. Its probability can still change through the normaliser, but a response
 * with π_ref = 0 (logit -∞) stays at exactly 0: Table 1's y3. A shared-parameter policy moves every logit that
 * shares parameters with the compared ones, which is how DPO's freedom outside the data is actually used (§4.2).
 *
 * Deterministic: float64, fixed loop order, and the only randomness (MLP init) comes from kernels/rng.ts.
 * @module
 */
import { sigmoid, softplus } from "./bt.ts";
import type { AuditSettings, TabularCase } from "./case.ts";
import { linearModel, mlpModel, type PolicyKind, type PolicyModel, softmaxRows, tabularModel } from "./model.ts";
import { Rng } from "../../kernels/rng.ts";

/** A scalar objective of the logits and its gradient. */
export interface Objective {
  value: number;
  /** ∂value/∂logits, [prompt][response]; 0 at held-out (-∞) logits. */
  dlogits: number[][];
}

/** Per prompt, log-softmax of the logits. */
function logSoftmax(logits: number[][]): number[][] {
  return logits.map((row) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    return row.map((v) => v - lse);
  });
}

/** Maps ∂/∂log π to ∂/∂logits through the log-softmax: d_j - π_j·Σ_k d_k. */
function throughLogSoftmax(logp: number[][], dlogp: number[][]): number[][] {
  return logp.map((row, x) => {
    const s = dlogp[x].reduce((a, b) => a + b, 0);
    return row.map((lp, j) => (lp === -Infinity ? 0 : dlogp[x][j] - Math.exp(lp) * s));
  });
}

/** The DPO loss (Eq. 7) over the whole dataset, a count-weighted mean over comparisons, and its gradient. */
export function dpoObjective(c: TabularCase, logits: number[][]): Objective {
  const beta = c.settings.beta;
  const logp = logSoftmax(logits);
  const dlogp = logp.map((row) => row.map(() => 0));
  const total = c.pairs.reduce((s, q) => s + q.count, 0);
  let value = 0;
  for (const q of c.pairs) {
    const ref = c.prompts[q.prompt].ref;
    const lp = logp[q.prompt];
    const m = beta * ((lp[q.chosen] - Math.log(ref[q.chosen])) - (lp[q.rejected] - Math.log(ref[q.rejected])));
    value += (q.count * softplus(-m)) / total;
    const g = (-q.count * sigmoid(-m) * beta) / total; // ∂/∂m of softplus(-m) is -σ(-m)
    dlogp[q.prompt][q.chosen] += g;
    dlogp[q.prompt][q.rejected] -= g;
  }
  // Each pair adds +g and -g to one prompt's row, so Σ_j ∂L/∂log π_j = 0 and the softmax term π_j·Σ_k ∂L/∂log π_k
  // of throughLogSoftmax vanishes: the log-partition cancels and ∂L/∂logits = ∂L/∂log π. Using that identity keeps an
  // uncompared logit's gradient exactly 0 (summing the row in floating point leaves ~1e-17, which Adam amplifies).
  return { value, dlogits: dlogp };
}

/**
 * Cross-entropy of the policy against π_ref, averaged over prompts: how a shared policy is fitted to start at π_ref.
 */
export function refCrossEntropy(c: TabularCase, logits: number[][]): Objective {
  const logp = logSoftmax(logits);
  const n = c.prompts.length;
  let value = 0;
  const dlogp = logp.map((row, x) =>
    row.map((lp, j) => {
      const r = c.prompts[x].ref[j];
      if (r > 0) value -= (r * lp) / n; // 0·log π is 0, also where the policy holds a response at -∞
      return -r / n;
    })
  );
  return { value, dlogits: throughLogSoftmax(logp, dlogp) };
}

/** One logged point of a descent. */
export interface TrajectoryPoint {
  step: number;
  loss: number;
  /** The policy, [prompt][response]. */
  probs: number[][];
}

/** Options of {@link descend}. */
export interface DescentOptions {
  steps: number;
  lr: number;
  optimizer: "adam" | "sgd";
  /** Record every this many steps (0 records nothing but the ends). */
  logEvery: number;
}

/**
 * Minimises `objective(model.logits(θ))` from θ = `params` by Adam (β1 0.9, β2 0.999, ε 1e-8, no weight decay) or
 * plain gradient descent. Returns the final parameters and the trajectory (step 0 and the last step included).
 */
export function descend(
  model: PolicyModel,
  objective: (logits: number[][]) => Objective,
  params: Float64Array,
  o: DescentOptions,
): { params: Float64Array; trajectory: TrajectoryPoint[] } {
  const th = params.slice();
  const m = new Float64Array(th.length);
  const v = new Float64Array(th.length);
  const trajectory: TrajectoryPoint[] = [];
  for (let step = 0;; step++) {
    const logits = model.logits(th);
    const obj = objective(logits);
    if (step === o.steps || (o.logEvery > 0 && step % o.logEvery === 0)) {
      trajectory.push({ step, loss: obj.value, probs: softmaxRows(logits) });
    }
    if (step === o.steps) break;
    const g = model.backward(th, obj.dlogits);
    for (let i = 0; i < th.length; i++) {
      if (o.optimizer === "sgd") {
        th[i] -= o.lr * g[i];
        continue;
      }
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      const mh = m[i] / (1 - 0.9 ** (step + 1));
      const vh = v[i] / (1 - 0.999 ** (step + 1));
      th[i] -= (o.lr * mh) / (Math.sqrt(vh) + 1e-8);
    }
  }
  return { params: th, trajectory };
}

/** What one descent did. */
export interface GdRun {
  policy: PolicyKind;
  /** For a shared policy: how well its starting point matches π_ref (the fit of {@link refCrossEntropy}). */
  fit: null | { steps: number; crossEntropy: number; maxAbsError: number };
  trajectory: TrajectoryPoint[];
  initial: number[][];
  final: number[][];
}

/** Builds the model of `kind` for a case (the MLP's weights from the case's seed). */
export function modelFor(c: TabularCase, kind: PolicyKind): PolicyModel {
  if (kind === "tabular") return tabularModel(c.prompts);
  if (kind === "linear") return linearModel(c.prompts);
  return mlpModel(c.prompts, c.settings.gd.hidden, new Rng(c.settings.gd.seed).split("gd/mlp_init"));
}

/** Runs the DPO descent of `kind` with the case's settings (`gd.*`), fitting a shared policy to π_ref first. */
export function runGd(c: TabularCase, kind: PolicyKind, s: AuditSettings["gd"] = c.settings.gd): GdRun {
  const model = modelFor(c, kind);
  let params = model.params;
  let fit: GdRun["fit"] = null;
  if (kind !== "tabular") {
    const r = descend(model, (l) => refCrossEntropy(c, l), params, {
      steps: s.fitSteps,
      lr: s.fitLr,
      optimizer: "adam",
      logEvery: 0,
    });
    params = r.params;
    const probs = r.trajectory[r.trajectory.length - 1].probs;
    const maxAbsError = Math.max(...probs.flatMap((row, x) => row.map((p, j) => Math.abs(p - c.prompts[x].ref[j]))));
    fit = { steps: s.fitSteps, crossEntropy: r.trajectory[r.trajectory.length - 1].loss, maxAbsError };
  }
  const opts = { steps: s.steps, lr: s.lr, optimizer: s.optimizer as "adam" | "sgd", logEvery: s.logEvery };
  const { trajectory } = descend(model, (l) => dpoObjective(c, l), params, opts);
  return {
    policy: kind,
    fit,
    trajectory,
    initial: trajectory[0].probs,
    final: trajectory[trajectory.length - 1].probs,
  };
}
