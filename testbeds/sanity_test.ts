import assert from "node:assert/strict";
import { Rng } from "../kernels/rng.ts";
import { SanityTask } from "./sanity.ts";

Deno.test("sanity task: gold score counts the target letter in the scored places", () => {
  const task = new SanityTask();
  assert.equal(task.gold("cab", "hbcge"), 1 / 8);
  assert.equal(task.gold("cab", "cccccccccccc"), 1);
  assert.equal(task.gold("a", ""), 0);
  assert.equal(task.gold("ab", task.reference("ab")), 1);
  assert.throws(() => task.gold("", "a"), /prompt is empty/);
  assert.throws(() => new SanityTask({ promptLen: [3, 2] }), /promptLen must be integers/);
});

Deno.test("sanity task: data is deterministic per seed, in range, and labels follow the judge", () => {
  const task = new SanityTask();
  const a = SanityTask.many(new Rng(5), 200, (r) => task.pair(r));
  const b = SanityTask.many(new Rng(5), 100, (r) => task.pair(r));
  assert.deepEqual(a.slice(0, 100), b);
  for (const p of a) {
    assert.ok(p.prompt.length >= 2 && p.prompt.length <= 5);
    assert.ok(p.chosen.length >= 4 && p.chosen.length <= 8);
  }
  // With τ = 0.1 a gap of one scored letter (0.125) is labelled correctly with probability σ(1.25) ≈ 0.78.
  const decided = a.filter((p) => task.gold(p.prompt, p.chosen) !== task.gold(p.prompt, p.rejected));
  const right = decided.filter((p) => task.gold(p.prompt, p.chosen) > task.gold(p.prompt, p.rejected)).length;
  assert.ok(right / decided.length > 0.65, `labels agree with the judge on ${right}/${decided.length} pairs`);
});

Deno.test("sanity task: base responses copy the prompt's letters, at the longest SFT length", () => {
  const task = new SanityTask();
  const ex = SanityTask.many(new Rng(3), 300, (r) => task.baseExample(r));
  assert.deepEqual(SanityTask.many(new Rng(3), 10, (r) => task.baseExample(r)), ex.slice(0, 10));
  for (const { prompt, response } of ex) {
    assert.equal(response.length, 8);
    assert.ok([...response].every((c) => prompt.includes(c)), `${response} uses only letters of ${prompt}`);
  }
  // Every letter of a prompt is copied, not only the judge's target: "ab" answers hold both letters.
  const ab = task.baseResponse("ab", new Rng(1)) + task.baseResponse("ab", new Rng(2));
  assert.ok(ab.includes("a") && ab.includes("b"), ab);
  // Its gold is the prompt's share of target letters on average (1/len for distinct letters): far above 1/8.
  const gold = ex.reduce((s, e) => s + task.gold(e.prompt, e.response), 0) / ex.length;
  assert.ok(gold > 0.3 && gold < 0.6, `mean gold of base responses ${gold}`);
  assert.throws(() => task.baseResponse("", new Rng(1)), /prompt is empty/);
});
