import assert from "node:assert/strict";
import { constantSchedule, cosineSchedule, makeSchedule, warmupStepsFor } from "./schedule.ts";

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-15, `${what}: ${a} vs ${b}`);

Deno.test("schedule: constant is the same at every step", () => {
  const s = constantSchedule(3e-4);
  for (const t of [1, 2, 100, 1e6]) assert.equal(s(t), 3e-4);
});

Deno.test("schedule: cosine warm-up endpoints, midpoint, cosine endpoint = min ratio, clamped after the end", () => {
  const lr = 1e-3, s = cosineSchedule({ lr, totalSteps: 110, warmupSteps: 10, minLrRatio: 0.1 });
  close(s(1), lr / 10, "first warm-up step");
  close(s(5), lr / 2, "mid warm-up");
  close(s(10), lr, "end of warm-up = peak");
  close(s(60), 0.1 * lr + 0.9 * lr * 0.5, "cosine midpoint = (lr + min)/2");
  close(s(110), 0.1 * lr, "last step = minLrRatio·lr");
  close(s(500), 0.1 * lr, "after the end");
  for (let t = 11; t <= 110; t++) assert.ok(s(t) < s(t - 1), `strictly decreasing after warm-up at ${t}`);
  for (let t = 2; t <= 10; t++) assert.ok(s(t) > s(t - 1), `strictly increasing in warm-up at ${t}`);
});

Deno.test("schedule: cosine without warm-up, min ratio 0 (ReaLHF default) and warm-up over the whole run", () => {
  const s = cosineSchedule({ lr: 2, totalSteps: 4, warmupSteps: 0, minLrRatio: 0 });
  close(s(1), 2 * 0.5 * (1 + Math.cos(Math.PI / 4)), "first step");
  close(s(4), 0, "end at 0");
  const w = cosineSchedule({ lr: 2, totalSteps: 4, warmupSteps: 4, minLrRatio: 0 });
  assert.deepEqual([1, 2, 3, 4].map(w), [0.5, 1, 1.5, 2]);
  assert.equal(warmupStepsFor(1000, 0.02), 20);
  assert.equal(warmupStepsFor(49, 0.02), 0);
});

Deno.test("schedule: makeSchedule, and bad settings and steps throw RangeError naming the field", () => {
  assert.equal(makeSchedule({ kind: "constant", lr: 1 })(7), 1);
  assert.equal(makeSchedule({ kind: "cosine", lr: 1, totalSteps: 5, warmupSteps: 5, minLrRatio: 0 })(5), 1);
  assert.throws(() => makeSchedule({ kind: "linear" } as never), /Unknown schedule kind 'linear'/);
  const ok = { lr: 1, totalSteps: 10, warmupSteps: 2, minLrRatio: 0 };
  assert.throws(() => cosineSchedule({ ...ok, warmupSteps: 11 }), /warmupSteps must be .* got 11/);
  assert.throws(() => cosineSchedule({ ...ok, minLrRatio: 1.5 }), /minLrRatio must be in \[0, 1\], got 1.5/);
  assert.throws(() => cosineSchedule({ ...ok, totalSteps: 0 }), /totalSteps must be an integer >= 1, got 0/);
  assert.throws(() => constantSchedule(-1), /lr must be a finite number >= 0, got -1/);
  assert.throws(() => cosineSchedule(ok)(0), /step must be an integer >= 1 .* got 0/);
  assert.throws(() => warmupStepsFor(10, 2), /proportion must be in \[0, 1\], got 2/);
});
