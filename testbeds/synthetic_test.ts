import assert from "node:assert/strict";
import { Rng } from "../kernels/rng.ts";
import {
  diagonalMean,
  makeSyntheticData,
  meanOver,
  oneHotRows,
  SYNTHETIC_DEFAULTS,
  type SyntheticOptions,
  uncoveredCells,
} from "./synthetic.ts";

const settings: Partial<SyntheticOptions>[] = [
  {},
  { coveredPerPrompt: 2, pairsPerPrompt: 1 },
  { coveredPerPrompt: 5, pairsPerPrompt: 7 },
  { prompts: 3, responses: 6, coveredPerPrompt: 4, pairsPerPrompt: 3 },
];

Deno.test("synthetic testbed: the diagonal is optimal and the pairs, coverage and labels agree", () => {
  for (const s of settings) {
    for (const seed of [1, 2, 3]) {
      const d = makeSyntheticData(new Rng(seed).split("data"), s);
      const o = { ...SYNTHETIC_DEFAULTS, ...s };
      const label = `${JSON.stringify(s)} seed ${seed}`;
      assert.deepEqual(d.optimal, [...Array(o.prompts).keys()]);
      d.groundTruth.forEach((row, x) => {
        assert.equal(row.length, o.responses);
        assert.ok(row.every((v, y) => y === x || v < row[x]), `${label}: the diagonal is the unique optimum of ${x}`);
      });
      for (let x = 0; x < o.prompts; x++) {
        const mine = d.pairs.filter((p) => p.prompt === x);
        assert.equal(mine.length, o.pairsPerPrompt, `${label}: pairs of prompt ${x}`);
        const keys = new Set(mine.map((p) => [p.chosen, p.rejected].sort().join(",")));
        assert.equal(keys.size, mine.length, `${label}: no pair repeats`);
        const seen = new Set(mine.flatMap((p) => [p.chosen, p.rejected]));
        assert.equal(seen.size, o.coveredPerPrompt, `${label}: covered responses of prompt ${x}`);
        assert.ok(seen.has(x), `${label}: the diagonal of ${x} is covered`);
        d.coverage[x].forEach((c, y) => assert.equal(c, seen.has(y) ? 1 : 0, `${label}: coverage[${x}][${y}]`));
        for (const p of mine) {
          assert.ok(
            d.groundTruth[x][p.chosen] > d.groundTruth[x][p.rejected],
            `${label}: label of ${JSON.stringify(p)}`,
          );
          assert.notEqual(p.rejected, x, `${label}: the optimal response is never rejected`);
        }
      }
      assert.equal(uncoveredCells(d.coverage).length, o.prompts * (o.responses - o.coveredPerPrompt));
    }
  }
});

Deno.test("synthetic testbed: the same stream gives the same data, another stream other data", () => {
  const a = makeSyntheticData(new Rng(7).split("data"));
  assert.deepEqual(makeSyntheticData(new Rng(7).split("data")), a);
  const b = makeSyntheticData(new Rng(8).split("data"));
  assert.notDeepEqual(b.pairs, a.pairs);
  assert.notDeepEqual(b.coverage, a.coverage);
});

Deno.test("synthetic testbed: helpers and bad options", () => {
  const m = [[0.5, 0.1], [0.2, 0.7]];
  assert.equal(diagonalMean(m), 0.6);
  assert.deepEqual(uncoveredCells([[1, 0], [0, 1]]), [{ row: 0, col: 1 }, { row: 1, col: 0 }]);
  assert.ok(Math.abs(meanOver(m, uncoveredCells([[1, 0], [0, 1]])) - 0.15) < 1e-12);
  assert.ok(Number.isNaN(meanOver(m, [])));
  assert.deepEqual([...oneHotRows([2, 0], 3)], [0, 0, 1, 1, 0, 0]);
  assert.throws(() => oneHotRows([3], 3), /index 3 at row 0 is not in \[0, 3\)/);
  const rng = new Rng(1);
  assert.throws(() => makeSyntheticData(rng, { responses: 4 }), /responses must be an integer in \[8, 1024\], got 4/);
  assert.throws(() => makeSyntheticData(rng, { coveredPerPrompt: 1 }), /coveredPerPrompt/);
  assert.throws(() => makeSyntheticData(rng, { pairsPerPrompt: 4 }), /pairsPerPrompt must be an integer in \[2, 3\]/);
  assert.throws(() => makeSyntheticData(rng, { suboptimalMax: 1.5 }), /suboptimalMax/);
});
