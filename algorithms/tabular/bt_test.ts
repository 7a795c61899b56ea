import assert from "node:assert/strict";
import { btGap, fitBradleyTerry, sigmoid, softplus } from "./bt.ts";
import { winGraph } from "./graph.ts";
import { Rng } from "../../kernels/rng.ts";

const near = (a: number, b: number, tol: number, label: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${label}: ${a} vs ${b} (diff ${Math.abs(a - b)}, tol ${tol})`);

Deno.test("bt: two responses with n12, n21 > 0 give r1 - r2 = log(n12 / n21) and the closed-form minimum", () => {
  for (const [n12, n21] of [[3, 1], [1, 1], [7, 2], [0.5, 4]]) {
    const fit = fitBradleyTerry([[0, n12], [n21, 0]]);
    assert.ok(fit.finite);
    near(btGap(fit, 0, 1) as number, Math.log(n12 / n21), 1e-9, `gap ${n12}:${n21}`);
    // At the optimum σ(r1 - r2) = n12 / (n12 + n21): the loss is the binary entropy of the empirical frequencies.
    const p = n12 / (n12 + n21);
    near(fit.minLoss, -n12 * Math.log(p) - n21 * Math.log(1 - p), 1e-9, "min loss");
    assert.equal(fit.rho[0] + fit.rho[1], 0, "each win group is centred to mean 0");
  }
});

Deno.test("bt: a strongly connected case satisfies the likelihood equations (expected wins = observed wins)", () => {
  const wins = [[0, 3, 2, 0], [1, 0, 2, 1], [1, 1, 0, 4], [2, 0, 1, 0]];
  const fit = fitBradleyTerry(wins);
  assert.ok(fit.finite);
  for (let i = 0; i < 4; i++) {
    let observed = 0, expected = 0;
    for (let j = 0; j < 4; j++) {
      observed += wins[i][j];
      expected += (wins[i][j] + wins[j][i]) * sigmoid(fit.rho[i] - fit.rho[j]);
    }
    near(expected, observed, 1e-8, `response ${i}`);
  }
  // And the minimum is a minimum: moving any reward raises the loss.
  const loss = (r: number[]) => {
    let s = 0;
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) s += wins[i][j] * softplus(-(r[i] - r[j]));
    return s;
  };
  near(loss(fit.rho), fit.minLoss, 1e-12, "reported loss");
  for (let i = 0; i < 4; i++) {
    for (const h of [1e-3, -1e-3]) assert.ok(loss(fit.rho.map((v, k) => (k === i ? v + h : v))) > fit.minLoss);
  }
});

Deno.test("bt: Table 1 (only y1 ≻ y2) has an infinite gap, tiers, and an uncovered y3", () => {
  const fit = fitBradleyTerry([[0, 1, 0], [0, 0, 0], [0, 0, 0]]);
  assert.equal(fit.finite, false);
  assert.equal(btGap(fit, 0, 1), Infinity);
  assert.equal(btGap(fit, 1, 0), -Infinity);
  assert.equal(btGap(fit, 0, 2), "free");
  assert.deepEqual(fit.tier.slice(0, 2), [0, -1]);
  assert.ok(Number.isNaN(fit.rho[2]) && Number.isNaN(fit.tier[2]));
  assert.equal(fit.minLoss, 0);
});

Deno.test("bt: unordered groups and separate components leave gaps free; ordered ones are infinite", () => {
  // 0 and 1 both beat 2 (never compared with each other); {3, 4} beat each other and are compared with no one else.
  const w = [[0, 0, 1, 0, 0], [0, 0, 2, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0]];
  const fit = fitBradleyTerry(w);
  assert.equal(btGap(fit, 0, 1), "free");
  assert.equal(btGap(fit, 0, 2), Infinity);
  assert.equal(btGap(fit, 3, 0), "free");
  near(btGap(fit, 3, 4) as number, 0, 1e-12, "tied pair");
  // A chain orders transitively: 0 ≻ 1 ≻ 2 gives r0 - r2 = +∞ and depth 2.
  const chain = fitBradleyTerry([[0, 1, 0], [0, 0, 1], [0, 0, 0]]);
  assert.equal(btGap(chain, 0, 2), Infinity);
  assert.deepEqual(chain.tier, [0, -1, -2]);
});

Deno.test("bt: win groups match brute-force reachability on random win graphs", () => {
  const rng = new Rng(7).split("bt_graph");
  for (let trial = 0; trial < 40; trial++) {
    const n = 2 + rng.int(7);
    const w = Array.from(
      { length: n },
      (_, i) => Array.from({ length: n }, (_, j) => (i !== j && rng.uniform() < 0.3 ? 1 + rng.int(3) : 0)),
    );
    const g = winGraph(w);
    // Floyd-Warshall closure of "i beat j".
    const r = w.map((row, i) => row.map((c, j) => c > 0 || i === j));
    for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) r[i][j] ||= r[i][k] && r[k][j];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (g.scc[i] < 0 || g.scc[j] < 0) continue;
        assert.equal(g.scc[i] === g.scc[j], r[i][j] && r[j][i], `trial ${trial}: same group ${i}, ${j}`);
        if (g.scc[i] !== g.scc[j]) {
          assert.equal(g.reach[g.scc[i]][g.scc[j]], r[i][j], `trial ${trial}: ${i} above ${j}`);
        }
        // Group ids are a topological order: a group only beats groups after it.
        if (w[i][j] > 0 && g.scc[i] !== g.scc[j]) assert.ok(g.scc[i] < g.scc[j]);
      }
    }
    // The fit is finite exactly when no win crosses groups; then each component's likelihood equations hold.
    const fit = fitBradleyTerry(w);
    assert.equal(fit.finite, g.beats.every((b) => b.length === 0));
    assert.ok(fit.gradMax <= 1e-8, `trial ${trial}: gradient ${fit.gradMax}`);
  }
});
