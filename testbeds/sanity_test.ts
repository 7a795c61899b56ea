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
