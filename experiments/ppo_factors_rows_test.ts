import assert from "node:assert/strict";
import { PPO_SCHEMA } from "../algorithms/ppo.ts";
import { resolveConfig } from "../util/config.ts";
import { checkRowDiffs, diffKeys, emaEta, ppoRows } from "./ppo_factors_rows.ts";

const base = resolveConfig(PPO_SCHEMA, {});
const factors = { rollouts: 512, smallBatch: 16, largeBatch: 128, refEmaKeep: 0.5, betas: [0, 0.05, 0.1, 0.2] };

Deno.test("ppo-factors rows: Table 3's cumulative rows, Figure 2's sizes and Table 11's β", () => {
  const rows = ppoRows(base, { ...factors, batchSweep: [16, 32, 64, 128] });
  assert.deepEqual(rows.map((r) => r.id), [
    "baseline",
    "adv_norm",
    "large_batch",
    "ref_ema",
    "batch_32",
    "batch_64",
    "beta_0",
    "beta_0.05",
    "beta_0.2",
  ]);
  const by = Object.fromEntries(rows.map((r) => [r.id, r.config]));
  assert.equal(by.baseline.advNorm, false);
  assert.equal(by.baseline.refEmaEta, 0);
  assert.equal([by.baseline.batchSize, by.baseline.iterations].join(), "16,32");
  assert.equal([by.large_batch.batchSize, by.large_batch.iterations].join(), "128,4");
  assert.equal([by.batch_64.batchSize, by.batch_64.iterations, by.batch_64.advNorm].join(), "64,8,true");
  // Every run sees the same number of rollouts.
  for (const r of rows) assert.equal(r.config.batchSize * r.config.iterations, 512, r.id);
  // η leaves half the SFT weights after the large-batch run's 4 iterations × 4 mini-batches.
  assert.ok(Math.abs(Math.pow(1 - by.ref_ema.refEmaEta, 16) - 0.5) < 1e-12);
  assert.equal(by["beta_0.2"].reward.klCoef, 0.2);
  assert.equal(by["beta_0.2"].refEmaEta, by.ref_ema.refEmaEta);
  checkRowDiffs(rows);
  assert.deepEqual(rows.filter((r) => r.uses.includes("figure2")).map((r) => r.id), [
    "adv_norm",
    "large_batch",
    "batch_32",
    "batch_64",
  ]);
  // Without a sweep (dialogue) no row is Figure 2's.
  assert.equal(ppoRows(base, factors).filter((r) => r.uses.includes("figure2")).length, 0);
});

Deno.test("ppo-factors rows: a row that changes more than its factor is caught", () => {
  const rows = ppoRows(base, factors);
  rows[2] = { ...rows[2], config: { ...rows[2].config, clipEps: 0.3 } };
  assert.throws(() => checkRowDiffs(rows), /large_batch differs from adv_norm in \[batchSize, clipEps, iterations\]/);
  assert.deepEqual(diffKeys({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3 }, d: 0 }), ["b.c", "d"]);
  assert.equal(emaEta(0.5, 1), 0.5);
});

Deno.test("ppo-factors rows: budgets that do not divide are errors naming the sizes", () => {
  assert.throws(
    () => ppoRows(base, { ...factors, rollouts: 500 }),
    /rollouts 500 is not a multiple of the batch size 16/,
  );
  assert.throws(() => ppoRows(base, { ...factors, smallBatch: 6, rollouts: 384 }), /batch size 6 is not a multiple of/);
  assert.throws(() => ppoRows(base, { ...factors, largeBatch: 16 }), /largeBatch 16 must exceed smallBatch 16/);
});
