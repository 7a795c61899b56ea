import assert from "node:assert/strict";
import { join } from "node:path";
import { gpuTest } from "../kernels/testing.ts";
import { exists, readJson } from "../util/fs.ts";
import { readMetricsFile } from "../util/run_dir.ts";
import { diffKeys } from "./ppo_factors_rows.ts";
import { metricOf, paired, type PpoFactorsSummary } from "./ppo_factors_summary.ts";
import { runExperiment } from "./testing.ts";

const runFactors = (runs: string, args: string[]) => runExperiment("ppo_factors.ts", runs, args);

gpuTest("ppo-factors: --scale tiny runs every row on both testbeds; a rerun from the model store agrees", async () => {
  const runs = await Deno.makeTempDir({ prefix: "ppo-factors-runs-" });
  try {
    const bad = await runFactors(runs, ["--scale", "tiny", "--set", "code.rollouts=30"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.text, /rollouts 30 is not a multiple of the batch size 4/);
    assert.equal(await exists(join(runs, "ppo-factors")), false, "no run directory was created");
    const r = await runFactors(runs, ["--scale", "tiny"]);
    assert.equal(r.code, 0, r.text);
    const dir = join(runs, "ppo-factors", "tiny");
    const s = await readJson<PpoFactorsSummary>(join(dir, "summary.json"));
    assert.deepEqual(s.testbeds, ["dialogue", "code"]);
    for (const tb of s.testbeds) {
      const rows = s.rows.filter((x) => x.testbed === tb), byId = new Map(rows.map((x) => [x.id, x]));
      // Each row differs from its parent only by its factor, on the recorded configs.
      for (const row of rows) {
        if (row.parent) assert.deepEqual(diffKeys(byId.get(row.parent)!.config, row.config), [...row.changes].sort());
      }
      const betas = tb === "code" ? "dpo_iter_beta" : "dpo_beta";
      const methods = ["sft", ...rows.map((x) => `ppo_${x.id}`), `${betas}_0.05`, `${betas}_0.1`, `${betas}_0.2`];
      for (const seed of s.seeds) {
        for (const m of methods) {
          const rec = s.records.find((x) => x.testbed === tb && x.seed === seed && x.method === m);
          assert.ok(rec, `${tb} seed ${seed} ${m} is evaluated`);
          const v = metricOf(rec, tb === "code" ? "apps:5:average" : "evalReward");
          assert.ok(v !== undefined && Number.isFinite(v), `${tb} ${m}: a finite score`);
        }
      }
      assert.ok(paired(s, tb, "ppo_adv_norm", "ppo_baseline", tb === "code" ? "apps:5:mean" : "evalReward"));
    }
    assert.deepEqual(
      s.rows.filter((x) => x.uses.includes("figure2")).map((x) => x.config.batchSize).sort((a, b) => a - b),
      [4, 8, 16, 32],
    );
    const contest = s.records.filter((x) => x.testbed === "code" && x.contest).map((x) => x.method);
    assert.deepEqual(
      new Set(contest),
      new Set(["sft", "ppo_baseline", "ppo_adv_norm", "ppo_large_batch", "ppo_ref_ema"]),
    );
    const phases = new Set((await readMetricsFile(join(dir, "metrics.jsonl"))).map((x) => `${x.testbed}/${x.phase}`));
    for (const p of ["dialogue/ppo_baseline", "code/ppo_ref_ema", "code/dpo_iter_beta_0.2"]) {
      assert.ok(phases.has(p), p);
    }
    assert.ok(await exists(join(dir, "samples", "code-seed1-ppo_large_batch.json")));
    // A second run finds the base, SFT and reward models in the store and reproduces the first run's numbers.
    const again = await runFactors(runs, [
      "--scale",
      "tiny",
      "--set",
      "testbeds=dialogue",
      "--set",
      "seeds=1",
      "--name",
      "again",
    ]);
    assert.equal(again.code, 0, again.text);
    const s2 = await readJson<PpoFactorsSummary>(join(runs, "ppo-factors", "again", "summary.json"));
    const pick = (x: PpoFactorsSummary) =>
      x.records.filter((y) => y.testbed === "dialogue" && y.seed === 1).map((y) => [y.method, y.evalReward]);
    assert.deepEqual(pick(s2), pick(s));
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
