import assert from "node:assert/strict";
import { Rng } from "../../kernels/rng.ts";
import { DEFAULT_JUDGE, goldVerdict, judgeTwice, pairwiseVerdict, winTieLose } from "./evaluators.ts";
import { DEFAULT_LABELS } from "./labels.ts";
import { AssistantTestbed } from "./testbed.ts";
import { World } from "./world.ts";

const world = new World(1);
const r = world.prompts().find((p) => p.id === "color/dog")!;
const good = world.answer(r), bad = "sorry , i can not help with that .";

Deno.test("judge: a known position bias, and the swap-and-tie rule that cancels it", () => {
  const n = 4000, rng = new Rng(2), judge = { temperature: 1, positionBias: 2 };
  // Equal responses: the biased judge picks the first one σ(2) of the time in one call ...
  const first = Array.from({ length: n }, () => pairwiseVerdict(world, r, good, good, judge, DEFAULT_LABELS, rng));
  const share = first.filter(Boolean).length / n;
  assert.ok(Math.abs(share - 1 / (1 + Math.exp(-2))) < 0.02, `${share}`);
  // ... but asked twice with the positions swapped it never prefers either: wins and losses are equally rare.
  const twice = winTieLose(
    Array.from({ length: n }, () => judgeTwice(world, r, good, good, judge, DEFAULT_LABELS, rng)),
  );
  assert.ok(Math.abs(twice.win - twice.lose) < 0.03 && twice.tie > 0.7, JSON.stringify(twice));
  // Utility 2 vs −1, τ 1, bias 2: P(a wins) = σ(3 + 2)·(1 − σ(−3 + 2)), a tie otherwise mostly.
  const s = (x: number) => 1 / (1 + Math.exp(-x));
  const v = winTieLose(Array.from({ length: n }, () => judgeTwice(world, r, good, bad, judge, DEFAULT_LABELS, rng)));
  assert.ok(Math.abs(v.win - s(5) * (1 - s(-1))) < 0.03, JSON.stringify(v));
  assert.ok(Math.abs(v.lose - (1 - s(5)) * s(-1)) < 0.01, JSON.stringify(v));
  assert.throws(() => pairwiseVerdict(world, r, good, bad, { ...judge, temperature: 0 }, DEFAULT_LABELS, rng), /> 0/);
  assert.throws(() => winTieLose([]), /no verdicts/);
  assert.ok(DEFAULT_JUDGE.positionBias > 0);
});

Deno.test("gold judge: noise-free, ties on equal utility", () => {
  assert.equal(goldVerdict(world, r, good, bad, DEFAULT_LABELS), "a");
  assert.equal(goldVerdict(world, r, bad, good, DEFAULT_LABELS), "b");
  assert.equal(goldVerdict(world, r, good, good, DEFAULT_LABELS), "tie");
});

Deno.test("evaluation pairs: gold-labelled, on held-out requests only, never a training prompt", () => {
  const tb = new AssistantTestbed({ pairs: 300 });
  const train = new Set(tb.safetyPairs().map((p) => p.request.text));
  for (const split of ["validation", "test"] as const) {
    const pairs = tb.goldPairs(split, 200);
    assert.ok(pairs.length > 100 && pairs.length <= 200);
    for (const p of pairs) {
      const req = tb.request(p.prompt)!;
      assert.equal(tb.splitOf(req), split);
      assert.ok(!train.has(p.prompt), p.prompt);
      assert.equal(goldVerdict(tb.world, req, p.chosen, p.rejected, tb.options.labels), "a");
    }
  }
});
