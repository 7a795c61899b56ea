import assert from "node:assert/strict";
import { join } from "node:path";
import { gpuTest } from "../kernels/testing.ts";
import { readJson } from "../util/fs.ts";
import { SAFETY_METHODS, type SafetySummary } from "./safety_summary.ts";
import { runExperiment } from "./testing.ts";

const runSafety = (runs: string, args: string[]) => runExperiment("safety.ts", runs, args);

gpuTest("safety experiment: a bad config key or value is an error naming it, and nothing is written", async () => {
  const runs = await Deno.makeTempDir({ prefix: "safety-runs-" });
  try {
    const key = await runSafety(runs, ["--scale", "tiny", "--set", "testbed.pair=3"]);
    assert.notEqual(key.code, 0);
    assert.match(key.text, /testbed\.pair/);
    const value = await runSafety(runs, ["--scale", "tiny", "--set", "testbed.heldoutPairs=0.9"]);
    assert.notEqual(value.code, 0);
    assert.match(value.text, /heldoutPairs/);
    assert.deepEqual([...Deno.readDirSync(runs)], [], "no run directory was created");
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

gpuTest(
  "safety experiment: --scale tiny evaluates every row of Tables 2, 10, 13, and Table 6's at a second size",
  async () => {
    const runs = await Deno.makeTempDir({ prefix: "safety-runs-" });
    try {
      const r = await runSafety(runs, ["--scale", "tiny", "--set", "seeds=1", "--set", "presets=xs,s"]);
      assert.equal(r.code, 0, r.text);
      const dir = join(runs, "safety", "tiny");
      const s = await readJson<SafetySummary>(join(dir, "summary.json"));
      const methods = (p: string) => new Set(s.records.filter((x) => x.preset === p).map((x) => x.method));
      assert.deepEqual(methods("xs"), new Set(SAFETY_METHODS));
      assert.deepEqual(methods("s"), new Set(["sft_alpaca", "ppo", "dpo_safe_both", "dpo_iter4"]));
      for (const rec of s.records) {
        for (const k of ["safetyRate", "harmfulSafetyRate", "refusalHarmful", "refusalBenign", "truncated"] as const) {
          assert.ok(rec[k] >= 0 && rec[k] <= 1, `${rec.method} ${k} ${rec[k]}`);
        }
        assert.ok(Math.abs(rec.deltaHelp - (rec.help - s.beaver.help)) < 1e-9);
        assert.ok(rec.harm >= -2 && rec.harm <= 2);
      }
      assert.deepEqual(Object.keys(s.rewardModels).sort(), ["all", "filter_both", "filter_du"]);
      assert.ok(s.beaver.safetyRate > 0.5);
      const kept = await readJson<{ prompt: string; harmful: boolean; response: string }[]>(
        join(dir, "samples", "xs-seed1-dpo_iter4.json"),
      );
      assert.ok(kept.some((e) => e.harmful) && kept.some((e) => !e.harmful));
      const phases = new Set(
        (await Deno.readTextFile(join(dir, "metrics.jsonl"))).trim().split("\n")
          .map((l) => JSON.parse(l).phase),
      );
      for (const p of ["base", "sft_alpaca", "sft_safe", "rm_all", "ppo", "dpo", "dpo_iter4"]) {
        assert.ok(phases.has(p), p);
      }
    } finally {
      await Deno.remove(runs, { recursive: true });
    }
  },
);
