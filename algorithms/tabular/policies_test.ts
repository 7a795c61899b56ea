import assert from "node:assert/strict";
import { fitBradleyTerry, softplus } from "./bt.ts";
import { pairsOf, winMatrix } from "./case.ts";
import { parseCase } from "./parse.ts";
import { dpoInfimumAttained, dpoLoss, dpoWitness, ppoTarget, rewardsForPpo } from "./policies.ts";
import { ppoReach } from "./reach.ts";

const TABLE1 = "beta: 0.1\nprompts:\n  x: { reference: { y1: 0.5, y2: 0.5, y3: 0 } }\npairs: [y1 > y2]\n";
const near = (a: number, b: number, tol: number, label: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${label}: ${a} vs ${b} (diff ${Math.abs(a - b)})`);

function setup(text: string, x = 0) {
  const c = parseCase(text, "t.yaml");
  const fit = fitBradleyTerry(winMatrix(c, x));
  return { c, p: c.prompts[x], pairs: pairsOf(c, x), fit, beta: c.settings.beta };
}

Deno.test("policies: Table 1's DPO loss is log(1 + (b/a)^β) and its infimum 0 is attained only with b = 0", () => {
  for (const beta of [0.1, 0.5, 2]) {
    const { p, pairs } = setup(TABLE1.replace("beta: 0.1", `beta: ${beta}`));
    for (const [a, b] of [[0.5, 0.5], [0.1, 0.3], [0.7, 0.01], [0.2, 0.8]]) {
      near(dpoLoss(p, pairs, beta, [a, b, 1 - a - b]), Math.log(1 + (b / a) ** beta), 1e-12, `β ${beta}, (${a}, ${b})`);
    }
    assert.equal(dpoLoss(p, pairs, beta, [0.1, 0, 0.9]), 0);
    assert.equal(dpoLoss(p, pairs, beta, [0, 0.5, 0.5]), Infinity);
    assert.ok(Number.isNaN(dpoLoss(p, pairs, beta, [0, 0, 1])), "both sides at 0 is undefined");
  }
  assert.equal(dpoInfimumAttained(setup(TABLE1).fit).attained, true);
});

Deno.test("policies: PPO's target on Table 1 is (1, 0, 0), the limit of π_ref·exp(r_t/β)/Z as the gap grows", () => {
  const { p, fit, beta } = setup(TABLE1);
  for (const kind of ["min", "max"] as const) {
    const { rewards } = rewardsForPpo(fit, { kind });
    const t = ppoTarget(p.ref, rewards, beta);
    assert.deepEqual(t.policy, [1, 0, 0]);
    assert.equal(t.limit, true);
  }
  // Whatever finite reward y3 gets, π_ref(y3) = 0 keeps it at 0.
  assert.equal(ppoTarget(p.ref, rewardsForPpo(fit, { kind: "value", value: 1e3 }).rewards, beta).policy[2], 0);
  // The family itself: gap t, π_t(y2) = e^{-t/β} / (1 + e^{-t/β}) -> 0, π_t(y1) -> 1.
  let prev = 1;
  for (const gap of [0.1, 1, 5, 20]) {
    const w = [0.5, 0.5 * Math.exp(-gap / beta), 0];
    const pi2 = w[1] / (w[0] + w[1]);
    assert.ok(pi2 < prev);
    prev = pi2;
  }
  assert.ok(prev < 1e-80);
});

Deno.test("policies: with finite rewards PPO's target is attained and matches π_ref·(n12/n21)^(1/β)", () => {
  const { p, fit, beta } = setup(
    "beta: 0.5\nprompts:\n  x: { reference: { a: 0.2, b: 0.8 } }\npairs: ['a > b * 3', 'b > a']\n",
  );
  const t = ppoTarget(p.ref, rewardsForPpo(fit, { kind: "min" }).rewards, beta);
  assert.equal(t.limit, false);
  near(t.policy[0] / t.policy[1], (0.2 / 0.8) * 3 ** (1 / beta), 1e-9, "odds");
  assert.equal(ppoReach(p, fit, beta, t.policy).status, "reachable");
  // A policy off the fitted ratio is not reachable, and says why.
  const off = ppoReach(p, fit, beta, [0.5, 0.5]);
  assert.equal(off.status, "unreachable");
  assert.match(off.reason, /BT fit gives r\(b\) − r\(a\)/);
});

Deno.test("policies: DPO-optimal mass outside the data approaches 1 and is not attained", () => {
  const { p, pairs, fit, beta } = setup(TABLE1);
  for (const eps of [0.5, 0.1, 1e-3, 1e-9]) {
    const w = dpoWitness(p.ref, fit, beta, eps);
    near(w[2], 1 - eps, 1e-15, `ood mass at ε ${eps}`);
    assert.equal(dpoLoss(p, pairs, beta, w), 0, "still DPO-optimal");
  }
  // ε = 0 would need π(y1) = 0 too: the loss is then undefined, so 1 itself is not attained.
  assert.ok(Number.isNaN(dpoLoss(p, pairs, beta, dpoWitness(p.ref, fit, beta, 0))));
  const w = dpoWitness(p.ref, fit, beta, 0.1);
  assert.deepEqual(w.map((v) => Math.round(v * 1e12) / 1e12), [0.1, 0, 0.9]);
  const r = ppoReach(p, fit, beta, w);
  assert.equal(r.status, "unreachable");
  assert.match(r.reason, /0\.9 on y3, where π_ref = 0/);
});

Deno.test("policies: PPO reachability separates limits from unreachable policies", () => {
  const { p, fit, beta } = setup(TABLE1);
  assert.equal(ppoReach(p, fit, beta, [1, 0, 0]).status, "limit");
  assert.match(ppoReach(p, fit, beta, [0.6, 0.4, 0]).reason, /r\(y1\) − r\(y2\) to \+∞/);
  // Chain y1 ≻ y2 ≻ y3 with y4 uncovered (π_ref > 0): mass on y4 is a PPO limit (its reward is free), but the
  // DPO infimum is not attained (y2 would need to be both 0 and positive).
  const chain = setup(
    "prompts:\n  a: { reference: { y1: 1/4, y2: 1/4, y3: 1/4, y4: 1/4 } }\npairs: [y1 > y2, y2 > y3]\n",
  );
  assert.equal(dpoInfimumAttained(chain.fit).attained, false);
  assert.equal(ppoReach(chain.p, chain.fit, chain.beta, [0.1, 0, 0, 0.9]).status, "limit");
  assert.equal(ppoReach(chain.p, chain.fit, chain.beta, [0, 0, 0, 1]).status, "limit");
  assert.equal(ppoReach(chain.p, chain.fit, chain.beta, [0.5, 0, 0.5, 0]).status, "unreachable");
  // Inside one win group the probabilities must be all zero or all positive.
  const tie = setup("prompts:\n  x: { reference: { a: 0.5, b: 0.5 } }\npairs: [a > b, b > a]\n");
  assert.equal(ppoReach(tie.p, tie.fit, tie.beta, [1, 0]).status, "unreachable");
  assert.equal(ppoReach(tie.p, tie.fit, tie.beta, [0.5, 0.5]).status, "reachable");
});

Deno.test("policies: a limit verdict is realised by the construction in reach.ts (chain case)", () => {
  // π = (0.1, 0, 0, 0.9) on the chain: r_t = β·log(π/π_ref) where π > 0, ρ - 2t·depth below; π_t -> π and the BT
  // loss of r_t -> its infimum 0.
  const { p, fit, beta } = setup(
    "prompts:\n  a: { reference: { y1: 1/4, y2: 1/4, y3: 1/4, y4: 1/4 } }\npairs: [y1 > y2, y2 > y3]\n",
  );
  const target = [0.1, 0, 0, 0.9];
  for (const t of [10, 100]) {
    const r = target.map((v, i) => (v > 0 ? beta * Math.log(v / p.ref[i]) : fit.rho[i] - 2 * t * -fit.tier[i]));
    const w = r.map((v, i) => p.ref[i] * Math.exp(v / beta));
    const z = w.reduce((a, b) => a + b, 0);
    const err = Math.max(...w.map((v, i) => Math.abs(v / z - target[i])));
    const bt = softplus(-(r[0] - r[1])) + softplus(-(r[1] - r[2]));
    assert.ok(err < 1e-8 && bt < Math.exp(-t), `t ${t}: policy error ${err}, BT loss ${bt}`);
  }
});
