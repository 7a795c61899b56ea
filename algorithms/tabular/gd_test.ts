import assert from "node:assert/strict";
import { descend, dpoObjective, runGd } from "./gd.ts";
import { tabularModel } from "./model.ts";
import { parseCase } from "./parse.ts";

const examples = (name: string) => new URL(`../../examples/${name}.yaml`, import.meta.url);
const load = async (name: string, sets: string[] = []) =>
  parseCase(await Deno.readTextFile(examples(name)), `examples/${name}.yaml`, sets);

Deno.test("gd: tabular DPO descent on Table 1 never moves y3 (π_ref = 0 stays exactly 0) and drives y2 to 0", async () => {
  const c = await load("table1");
  const run = runGd(c, "tabular");
  assert.equal(run.fit, null, "a tabular policy starts exactly at π_ref");
  assert.deepEqual(run.initial, [[0.5, 0.5, 0]]);
  for (const t of run.trajectory) assert.equal(t.probs[0][2], 0, `y3 at step ${t.step}`);
  const [a, b] = run.final[0];
  assert.ok(a > 0.999 && b < 1e-3, `final (${a}, ${b})`);
  // The loss falls towards its infimum log(1 + (b/a)^β) -> 0.
  const losses = run.trajectory.map((t) => t.loss);
  assert.ok(losses.every((l, i) => i === 0 || l <= losses[i - 1]), "monotone on this convex 1-D problem");
  assert.ok(Math.abs(losses[0] - Math.log(2)) < 1e-12, "log(1 + 1^β) at π_ref");
});

Deno.test("gd: an uncovered response with π_ref > 0 keeps its tabular logit; its probability moves only via Z", async () => {
  const c = await load("noisy_finite");
  const model = tabularModel(c.prompts);
  const opts = { steps: 50, lr: 0.05, optimizer: "adam" as const, logEvery: 10 };
  const { params, trajectory } = descend(model, (l) => dpoObjective(c, l), model.params, opts);
  // Flat order y1..y4 (y5 has π_ref = 0 and no parameter): y4 (index 3) is uncovered, so exactly unchanged.
  assert.equal(params[3], model.params[3]);
  assert.ok([0, 1, 2].every((i) => params[i] !== model.params[i]), "the compared logits moved");
  for (const t of trajectory) assert.equal(t.probs[0][4], 0, `y5 at step ${t.step}`);
  const p4 = trajectory.map((t) => t.probs[0][3]);
  assert.notEqual(p4[p4.length - 1], p4[0], "yet y4's probability changed, through the normaliser");
});

Deno.test("gd: a linear shared policy moves DPO's mass to the uncovered y3 of examples/extrapolation.yaml", async () => {
  const c = await load("extrapolation");
  const run = runGd(c, "linear");
  assert.ok(run.fit !== null && run.fit.maxAbsError < 1e-3, `fit error ${run.fit?.maxAbsError}`);
  const y3 = (probs: number[][]) => probs[0][2];
  assert.ok(y3(run.initial) < 1e-3, `start ${y3(run.initial)}`);
  assert.ok(y3(run.final) > 0.9, `end ${y3(run.final)}`);
  // Tabular descent on the same case leaves it at exactly 0.
  assert.equal(runGd(c, "tabular").final[0][2], 0);
});

Deno.test("gd: descents are deterministic, and the MLP's start depends only on its seed", async () => {
  const c = await load("noisy_finite", ["gd.steps=20", "gd.fitSteps=50"]);
  const a = runGd(c, "mlp"), b = runGd(c, "mlp");
  assert.deepEqual(a.trajectory, b.trajectory, "same seed, bitwise the same trajectory");
  const other = runGd(await load("noisy_finite", ["gd.steps=20", "gd.fitSteps=50", "gd.seed=2"]), "mlp");
  assert.notDeepEqual(other.trajectory[0].probs, a.trajectory[0].probs);
  const sgd = runGd(await load("noisy_finite", ["gd.steps=20", "gd.optimizer=sgd", "gd.lr=1"]), "tabular");
  assert.ok(sgd.trajectory[sgd.trajectory.length - 1].loss < sgd.trajectory[0].loss, "plain descent lowers the loss");
});
