import assert from "node:assert/strict";
import {
  aggregate,
  klTarget,
  type SeedMatrices,
  seedResult,
  softmaxRows,
  studentTQuantile,
  tInterval,
} from "./synthetic_summary.ts";

Deno.test("synthetic summary: Student-t quantiles match published tables", () => {
  // t_{0.975, df} from standard tables.
  for (const [df, t] of [[1, 12.7062], [2, 4.3027], [4, 2.7764], [9, 2.2622], [29, 2.0452], [200, 1.9719]]) {
    const got = studentTQuantile(0.975, df);
    assert.ok(Math.abs(got - t) < 1e-3, `df ${df}: ${got} vs ${t}`);
  }
  assert.ok(Math.abs(studentTQuantile(0.95, 9) - 1.8331) < 1e-3);
  assert.throws(() => studentTQuantile(0.4, 3), RangeError);
});

Deno.test("synthetic summary: t-interval, softmax and the KL-regularised target", () => {
  const i = tInterval([1, 2, 3, 4, 5]);
  const half = 2.7764 * Math.sqrt(2.5) / Math.sqrt(5);
  assert.equal(i.mean, 3);
  assert.ok(Math.abs(i.hi - (3 + half)) < 1e-3 && Math.abs(i.lo - (3 - half)) < 1e-3);
  assert.equal(tInterval([2]).hi, Infinity);
  assert.throws(() => tInterval([]), RangeError);
  const p = softmaxRows([0, Math.log(3)], 1, 2);
  assert.ok(Math.abs(p[0][0] - 0.25) < 1e-12);
  // π* ∝ π_ref·exp(r/β): equal rewards keep π_ref; a gap of β·log 3 triples the odds.
  const t = klTarget([[0.5, 0.5], [0.2, 0.8]], [[0, 0.1 * Math.log(3)], [5, 5]], 0.1);
  assert.ok(Math.abs(t[0][1] - 0.75) < 1e-12 && Math.abs(t[1][0] - 0.2) < 1e-12);
});

Deno.test("synthetic summary: per-seed numbers from hand-made matrices", () => {
  const u = 1 / 3;
  const m: SeedMatrices = {
    seed: 1,
    pairs: [{ prompt: 0, chosen: 0, rejected: 1 }, { prompt: 1, chosen: 1, rejected: 0 }],
    coverage: [[1, 1, 0], [1, 1, 0]],
    groundTruth: [[1, 0, 0], [0, 1, 0]],
    reference: [[u, u, u], [u, u, u]],
    dpo: [[0.2, 0, 0.8], [0.1, 0.9, 0]],
    ppo: [[0.9, 0.05, 0.05], [0.05, 0.9, 0.05]],
    reward: [[3, -3, 5], [-3, 3, 0]],
    ppoTarget: [[0.1, 0, 0.9], [0, 1, 0]],
  };
  const r = seedResult(m);
  assert.ok(Math.abs(r.uncovered.dpo - 0.4) < 1e-12); // (0.8 + 0) / 2
  assert.ok(Math.abs(r.uncoveredMass.reference - u) < 1e-12);
  assert.ok(Math.abs(r.uncoveredMax.dpo - 0.4) < 1e-12); // max(0.8, 0) per prompt, averaged
  assert.equal(r.argmaxUncovered.dpo, 0.5);
  assert.equal(r.argmaxDiagonal.ppo, 1);
  assert.ok(Math.abs(r.diagonal.dpo - 0.55) < 1e-12);
  assert.equal(r.uncoveredAboveReference.dpo, 0.5);
  assert.equal(r.rewardArgmaxUncovered, 0.5);
  assert.equal(r.argmaxIsRewardArgmax.dpo, 1);
  assert.equal(r.argmaxIsRewardArgmax.ppo, 0.5);
  const a = aggregate([r, { ...r, uncovered: { ...r.uncovered, dpo: 0.6 } }]);
  assert.ok(Math.abs(a.uncovered.dpo.mean - 0.5) < 1e-12);
  assert.ok(Math.abs(a.uncoveredDelta.dpoMinusReference.mean - (0.5 - u)) < 1e-12);
});
