/**
 * The three policy classes the audit descends the DPO loss with, each as logits per (prompt, response) with a
 * hand-written backward (CPU float64; finite-difference checked in model_test.ts):
 *
 * - tabular: one free logit per response, initialised at log π_ref. A response with π_ref = 0 is held at a logit of
 *   -∞ and never updated (it is outside the softmax), which is what "π_ref = 0" means for a tabular policy.
 * - linear: logits = w·φ(x, y) on the case's features; one weight vector shared by every response and prompt.
 * - mlp: logits = v·tanh(W φ(x, y) + b), one hidden layer (the §4.2 policies are MLPs; sizes there are not in the
 *   paper).
 * A shared-parameter policy cannot put exactly 0 anywhere, so it starts from its best fit to π_ref (gd.ts).
 * @module
 */
import type { PromptCase } from "./case.ts";
import { Rng } from "../../kernels/rng.ts";

/** Which policy class. */
export type PolicyKind = "tabular" | "linear" | "mlp";

/** A policy model: its parameters, and logits with their backward. */
export interface PolicyModel {
  kind: PolicyKind;
  /** The initial parameters (a fresh copy per call is the caller's business). */
  params: Float64Array;
  /** Logits per prompt and response; -Infinity marks a response held out of the softmax. */
  logits(params: Float64Array): number[][];
  /** ∂L/∂params given ∂L/∂logits (entries at -Infinity logits are ignored). */
  backward(params: Float64Array, dlogits: number[][]): Float64Array;
}

/** A tabular softmax policy per prompt, starting exactly at π_ref. */
export function tabularModel(prompts: PromptCase[]): PolicyModel {
  // Flat index of each (prompt, response) with π_ref > 0; -1 where the logit is fixed at -∞.
  const index = prompts.map(() => [] as number[]);
  const init: number[] = [];
  prompts.forEach((p, x) =>
    p.ref.forEach((r) => {
      index[x].push(r > 0 ? init.length : -1);
      if (r > 0) init.push(Math.log(r));
    })
  );
  return {
    kind: "tabular",
    params: Float64Array.from(init),
    logits: (th) => index.map((row) => row.map((k) => (k < 0 ? -Infinity : th[k]))),
    backward: (_th, d) => {
      const g = new Float64Array(init.length);
      index.forEach((row, x) => row.forEach((k, y) => k >= 0 && (g[k] = d[x][y])));
      return g;
    },
  };
}

/** A linear policy on the features: logits[x][y] = w·φ(x, y), w starting at 0 (the uniform policy). */
export function linearModel(prompts: PromptCase[]): PolicyModel {
  const phi = features(prompts);
  const f = phi[0][0].length;
  return {
    kind: "linear",
    params: new Float64Array(f),
    logits: (w) => phi.map((rows) => rows.map((v) => dot(w, v, 0, f))),
    backward: (_w, d) => {
      const g = new Float64Array(f);
      phi.forEach((rows, x) => rows.forEach((v, y) => v.forEach((vk, k) => (g[k] += d[x][y] * vk))));
      return g;
    },
  };
}

/**
 * A one-hidden-layer tanh MLP on the features: logits = v·tanh(W φ + b). Parameters laid out as [W (H×F), b (H),
 * v (H)]; W and v drawn N(0, 1/fan_in) from the stream `rng`, b = 0.
 */
export function mlpModel(prompts: PromptCase[], hidden: number, rng: Rng): PolicyModel {
  const phi = features(prompts);
  const f = phi[0][0].length;
  const h = hidden;
  const [oW, oB, oV] = [0, h * f, h * f + h];
  const params = new Float64Array(h * f + 2 * h);
  for (let i = 0; i < h * f; i++) params[oW + i] = rng.normal() / Math.sqrt(f);
  for (let i = 0; i < h; i++) params[oV + i] = rng.normal() / Math.sqrt(h);
  const hiddenOf = (th: Float64Array, v: number[]) =>
    Array.from({ length: h }, (_, j) => Math.tanh(dot(th, v, oW + j * f, f) + th[oB + j]));
  return {
    kind: "mlp",
    params,
    logits: (th) => phi.map((rows) => rows.map((v) => dot(th, hiddenOf(th, v), oV, h))),
    backward: (th, d) => {
      const g = new Float64Array(params.length);
      phi.forEach((rows, x) =>
        rows.forEach((v, y) => {
          const a = hiddenOf(th, v); // [H]
          for (let j = 0; j < h; j++) {
            g[oV + j] += d[x][y] * a[j];
            const dz = d[x][y] * th[oV + j] * (1 - a[j] * a[j]); // tanh' = 1 - tanh²
            g[oB + j] += dz;
            for (let k = 0; k < f; k++) g[oW + j * f + k] += dz * v[k];
          }
        })
      );
      return g;
    },
  };
}

/** The case's features as [prompt][response][feature]; a RangeError if the case has none. */
function features(prompts: PromptCase[]): number[][][] {
  const missing = prompts.find((p) => !p.features);
  if (missing) throw new RangeError(`Prompt '${missing.name}' has no features; a shared-parameter policy needs them`);
  return prompts.map((p) => p.features!);
}

/** Σ_k th[off + k] · v[k] in index order. */
function dot(th: ArrayLike<number>, v: ArrayLike<number>, off: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += th[off + k] * v[k];
  return s;
}

/** Per prompt, the softmax of the logits (exp(-∞) = 0, so held-out responses get exactly 0). */
export function softmaxRows(logits: number[][]): number[][] {
  return logits.map((row) => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  });
}
