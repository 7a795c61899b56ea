import assert from "node:assert/strict";
import { join } from "node:path";
import { gpuTest } from "../kernels/testing.ts";
import { readJson } from "../util/fs.ts";
import { readMetricsFile } from "../util/run_dir.ts";

/** Runs `deno task sft` (as its script) with `args` into `runs`; returns its exit code and output. */
async function runSft(runs: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "experiments/sft.ts", ...args],
    env: { RUNS_DIR: runs, PROGRESS: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
}

gpuTest("sft experiment: --scale tiny writes a well-formed, resumable run with gold-scored samples", async () => {
  const runs = await Deno.makeTempDir({ prefix: "sft-runs-" });
  try {
    const first = await runSft(runs, ["--scale", "tiny"]);
    assert.equal(first.code, 0, first.text);
    assert.match(first.text, /sft tiny: 40 steps; train loss \d\.\d{4}, held-out \d\.\d{4}; samples: gold \d\.\d{3}/);
    const dir = join(runs, "sft", "tiny");
    const rows = await readMetricsFile(join(dir, "metrics.jsonl"));
    assert.deepEqual(rows.map((r) => r.step), [10, 20, 30, 40]);
    for (const r of rows) {
      for (const k of ["losses/sft", "perf/tokens_per_s", "perf/gflops", "charts/lr"]) {
        assert.ok(Number.isFinite(r[k]), `step ${r.step}: ${k} = ${r[k]}`);
      }
    }
    assert.ok(Number.isFinite(rows[1]["losses/sft_heldout"]), "held-out loss at step 20");
    const summary = await readJson<Record<string, number>>(join(dir, "summary.json"));
    const samples = await readJson<{ prompt: string; response: string; gold: number }[]>(join(dir, "samples.json"));
    assert.equal(samples.length, 16);
    assert.ok(samples.every((s) => /^[a-h]+$/.test(s.prompt) && /^[a-h]*$/.test(s.response)), "letters only");
    assert.ok(summary.sample_gold_mean >= 0 && summary.sample_gold_mean <= 1);
    // Resuming a finished run changes neither its metrics nor its losses.
    const again = await runSft(runs, ["--scale", "tiny", "--set", "sft.resume=true"]);
    assert.equal(again.code, 0, again.text);
    assert.deepEqual(await readMetricsFile(join(dir, "metrics.jsonl")), rows);
    const s2 = await readJson<Record<string, number>>(join(dir, "summary.json"));
    assert.deepEqual([s2.train_loss, s2.heldout_loss, s2.resumed_from], [summary.train_loss, summary.heldout_loss, 40]);
    // A bad key is an error naming it.
    const bad = await runSft(runs, ["--scale", "tiny", "--set", "sft.lrr=1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.text, /Unknown config key 'sft.lrr'/);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
