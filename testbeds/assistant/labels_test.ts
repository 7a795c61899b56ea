import assert from "node:assert/strict";
import { Rng } from "../../kernels/rng.ts";
import { consolidate, consolidatedWinner, DEFAULT_LABELS, labelHh, type LabelledPair, labelSafety } from "./labels.ts";
import { World } from "./world.ts";

const world = new World(1);
const harm = world.prompts().find((r) => r.id === "harm/how/steal/car")!;
const color = world.prompts().find((r) => r.id === "color/car")!;
const refuse = "sorry , i can not help with that .", comply = "to steal the car , use the lockpick .";
const right = world.answer(color), verbose = `well , ${right} i hope this helps .`;

Deno.test("labels: noise rates match the Bradley-Terry and flip settings", () => {
  const n = 4000, noise = { ...DEFAULT_LABELS, helpTemperature: 0.5, safetyTemperature: 1, flagFlip: 0.2 };
  const raw = Array.from({ length: n }, () => ({ request: harm, a: comply, b: refuse, by: ["x", "y"] as const }));
  const got = labelSafety(world, raw, noise, new Rng(3));
  // help 2 vs −1: P(a more helpful) = σ(3/0.5); cost 2 vs −2: P(a safer) = σ(−4/1); flags flipped 20%.
  const share = (f: (p: LabelledPair) => boolean) => got.filter(f).length / n;
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 0.02, `${what}: ${a} vs ${b}`);
  close(share((p) => p.moreHelpful === 0), sig(6), "help label");
  close(share((p) => p.safer === 0), sig(-4), "safety label");
  close(share((p) => p.safeA), 0.2, "flag of the unsafe response");
  close(share((p) => !p.safeB), 0.2, "flag of the safe response");
  assert.deepEqual(got[0].gold, { helpA: 2, helpB: -1, costA: 2, costB: -2 });
  assert.throws(() => labelSafety(world, raw, { ...noise, flagFlip: 2 }, new Rng(1)), /flagFlip must be in \[0, 1\]/);
  assert.throws(() => labelSafety(world, raw, { ...noise, helpTemperature: 0 }, new Rng(1)), /helpTemperature/);
});

function pair(safeA: boolean, safeB: boolean, moreHelpful: 0 | 1, safer: 0 | 1, a = "a", b = "b"): LabelledPair {
  return {
    request: color,
    a,
    b,
    by: ["x", "y"],
    moreHelpful,
    safer,
    safeA,
    safeB,
    gold: { helpA: 0, helpB: 0, costA: 0, costB: 0 },
  };
}

Deno.test("labels: consolidation is helpfulness when both are flagged safe, else safety; both filters", () => {
  assert.equal(consolidatedWinner(pair(true, true, 1, 0)), 1);
  assert.equal(consolidatedWinner(pair(true, false, 1, 0)), 0);
  assert.equal(consolidatedWinner(pair(false, true, 0, 1)), 1);
  assert.equal(consolidatedWinner(pair(false, false, 0, 1)), 1);
  const all = [pair(true, true, 0, 1, "ss"), pair(false, false, 0, 1, "uu"), pair(true, false, 1, 0, "su")];
  assert.deepEqual(consolidate(all).map((p) => p.chosen), ["ss", "b", "su"]);
  assert.deepEqual(consolidate(all, { dualUnsafe: true }).map((p) => p.chosen), ["ss", "su"]);
  assert.deepEqual(consolidate(all, { dualUnsafe: true, dualSafe: true }).map((p) => p.chosen), ["su"]);
  assert.deepEqual(consolidate(all, { dualSafe: true }).map((p) => p.chosen), ["b", "su"]);
});

Deno.test("labels: HH-RLHF-style preference folds harm into helpfulness", () => {
  const n = 2000, rng = new Rng(4), noise = { ...DEFAULT_LABELS, hhTemperature: 0.5, harmWeight: 1 };
  // Harmful request: compliance u = 2 − 2 = 0, refusal u = −1 → compliance still wins σ(2) of the time.
  const hh = labelHh(
    world,
    Array.from({ length: n }, () => ({ request: harm, a: comply, b: refuse, by: ["", ""] })),
    noise,
    rng,
  );
  const share = hh.filter((p) => p.chosen === comply).length / n;
  assert.ok(Math.abs(share - 1 / (1 + Math.exp(-2))) < 0.03, `${share}`);
  // A heavier harm weight makes the refusal win.
  const hh2 = labelHh(
    world,
    [{ request: harm, a: comply, b: refuse, by: ["", ""] }],
    { ...noise, harmWeight: 10 },
    rng,
  );
  assert.equal(hh2[0].chosen, refuse);
  const benign = labelHh(world, [{ request: color, a: verbose, b: right, by: ["", ""] }], noise, new Rng(9));
  assert.equal(benign.length, 1);
});
