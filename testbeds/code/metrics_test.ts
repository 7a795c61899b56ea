import assert from "node:assert/strict";
import { type FilteredSample, kAtN, meanBy, passAtK, tierAverage } from "./metrics.ts";

/** All k-subsets of 0..n−1. */
function subsets(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  for (let first = 0; first <= n - k; first++) {
    for (const rest of subsets(n - first - 1, k - 1)) out.push([first, ...rest.map((r) => r + first + 1)]);
  }
  return out;
}

Deno.test("passAtK equals brute-force enumeration over k-subsets", () => {
  for (let n = 1; n <= 8; n++) {
    for (let c = 0; c <= n; c++) {
      for (let k = 1; k <= n; k++) {
        const all = subsets(n, k); // samples 0..c−1 are the correct ones
        const hit = all.filter((s) => s.some((i) => i < c)).length / all.length;
        assert.ok(Math.abs(passAtK(n, c, k) - hit) < 1e-12, `n ${n} c ${c} k ${k}: ${passAtK(n, c, k)} vs ${hit}`);
      }
    }
  }
});

Deno.test("passAtK: edge cases and bad arguments", () => {
  assert.equal(passAtK(5, 0, 5), 0);
  assert.equal(passAtK(5, 5, 1), 1);
  assert.ok(Math.abs(passAtK(200, 7, 1) - 7 / 200) < 1e-12); // c/n at k = 1
  assert.throws(() => passAtK(4, 1, 5), /k must be in \[1, n = 4\]/);
  assert.throws(() => passAtK(4, 5, 1), /c \(5\) is more than n/);
  assert.throws(() => passAtK(4, 1.5, 1), /c must be a non-negative integer/);
});

Deno.test("kAtN on constructed cases", () => {
  const s = (p: boolean, h: boolean): FilteredSample => ({ publicPass: p, hiddenPass: h });
  // Nothing passes the public tests: nothing is submitted, whatever the hidden tests say.
  assert.equal(kAtN([s(false, true), s(false, true)], 10), 0);
  // Fewer kept than k: all are submitted; solved iff one of them is correct.
  assert.equal(kAtN([s(true, false), s(true, true), s(false, false)], 10), 1);
  assert.equal(kAtN([s(true, false), s(true, false), s(false, true)], 10), 0);
  // 4 kept, 1 correct, submit 2 of them at random: 1 − C(3,2)/C(4,2) = 1/2; brute force agrees.
  const four = [s(true, false), s(true, true), s(true, false), s(false, true), s(true, false)];
  assert.ok(Math.abs(kAtN(four, 2) - 0.5) < 1e-12);
  const kept = four.filter((x) => x.publicPass), pairs = subsets(kept.length, 2);
  const bf = pairs.filter((p) => p.some((i) => kept[i].hiddenPass)).length / pairs.length;
  assert.ok(Math.abs(kAtN(four, 2) - bf) < 1e-12);
  assert.throws(() => kAtN(four, 0), /k must be a positive integer/);
});

Deno.test("tierAverage weights the tiers 1 : 3 : 1 and names a missing tier", () => {
  // Table 7's 13B PPO row gives Table 11's 15.1% (PAPER.md §7).
  const avg = tierAverage({ introductory: 0.364, interview: 0.1147, competition: 0.046 });
  assert.ok(Math.abs(avg - 0.15082) < 1e-9);
  assert.throws(() => tierAverage({ introductory: 1, interview: 1 }), /no value for tier 'competition'/);
  assert.deepEqual(meanBy(["a", "b", "a"], [1, 2, 3]), { a: 2, b: 2 });
});
