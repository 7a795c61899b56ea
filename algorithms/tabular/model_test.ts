import assert from "node:assert/strict";
import { dpoObjective, modelFor, refCrossEntropy } from "./gd.ts";
import { parseCase } from "./parse.ts";
import type { PolicyKind } from "./model.ts";
import { Rng } from "../../kernels/rng.ts";

// Two prompts of different sizes (1 and 7 responses would be degenerate for a softmax with pairs; 2 and 5 are the
// smallest with a pair and with uncovered responses), a π_ref = 0 response, features of length 3, repeated pairs.
const CASE = `beta: 0.3
prompts:
  p:
    reference: { a: 0.2, b: 0.3, c: 0.5 }
    features: { a: [1, 0, 0.5], b: [0, 1, -0.5], c: [1, 1, 0] }
  q:
    reference: { u: 0.1, v: 0.2, w: 0.3, z: 0.4, o: 0 }
    features: { u: [0.3, -1, 2], v: [1, 0.2, 0], w: [-0.5, 0.5, 1], z: [0, 0, 1], o: [2, -1, -1] }
pairs:
  - p: a > b * 2
  - p: b > a
  - q: u > w * 3
  - q: z > v
gd: { hidden: 5, seed: 3 }
`;

/** Central differences of f at θ, in float64, per coordinate. */
function numericGrad(f: (th: Float64Array) => number, th: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(th.length);
  for (let i = 0; i < th.length; i++) {
    const hi = th.slice(), lo = th.slice();
    hi[i] += h;
    lo[i] -= h;
    g[i] = (f(hi) - f(lo)) / (2 * h);
  }
  return g;
}

for (const kind of ["tabular", "linear", "mlp"] as PolicyKind[]) {
  Deno.test(`model: ${kind} backward of the DPO loss and of the reference fit matches finite differences`, () => {
    const c = parseCase(CASE, "fd.yaml");
    const m = modelFor(c, kind);
    // Move away from the initial point so the check does not sit at a symmetric spot.
    const rng = new Rng(11).split(kind);
    const th = m.params.map((v) => v + 0.3 * rng.normal());
    for (const [name, obj] of [["dpo", dpoObjective], ["cross-entropy", refCrossEntropy]] as const) {
      const f = (t: Float64Array) => obj(c, m.logits(t)).value;
      const analytic = m.backward(th, obj(c, m.logits(th)).dlogits);
      const numeric = numericGrad(f, th);
      let maxDiff = 0;
      for (let i = 0; i < th.length; i++) maxDiff = Math.max(maxDiff, Math.abs(analytic[i] - numeric[i]));
      assert.ok(maxDiff < 1e-8, `${kind} ${name}: max |analytic - numeric| = ${maxDiff}`);
    }
  });
}

Deno.test("model: the tabular DPO gradient is zero on every response no pair compares (the log-partition cancels)", () => {
  const c = parseCase(CASE, "fd.yaml");
  const m = modelFor(c, "tabular");
  const th = m.params.map((v, i) => v + 0.1 * i);
  const g = m.backward(th, dpoObjective(c, m.logits(th)).dlogits);
  // Flat order: p: a, b, c; q: u, v, w, z (o has π_ref = 0 and no parameter). Uncovered: c, and none else in q.
  assert.equal(g.length, 7);
  assert.equal(g[2], 0, "c is never compared");
  assert.ok(g.every((v, i) => i === 2 || v !== 0));
  // Its logit is -∞: exactly zero probability, whatever the other logits are.
  assert.equal(m.logits(th)[1][4], -Infinity);
});
