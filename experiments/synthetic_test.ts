import assert from "node:assert/strict";
import { join } from "node:path";
import { gpuTest } from "../kernels/testing.ts";
import { buildReport } from "../paper/report.ts";
import { section } from "../paper/sections/synthetic.ts";
import { readJson } from "../util/fs.ts";
import { readMetricsFile } from "../util/run_dir.ts";
import type { SeedMatrices, SyntheticSummary } from "./synthetic_summary.ts";

/** Runs `deno task synthetic` (as its script) with `args` into `runs`; returns its exit code and output. */
async function runSynthetic(runs: string, args: string[]) {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "experiments/synthetic.ts", ...args],
    env: { RUNS_DIR: runs, PROGRESS: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

const isProbRow = (row: number[]) =>
  row.every((p) => p >= 0 && p <= 1) && Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5;

gpuTest("synthetic: --scale tiny writes a well-formed run, and the report section renders it", async () => {
  const runs = await Deno.makeTempDir({ prefix: "synthetic-runs-" });
  const out = await Deno.makeTempDir({ prefix: "synthetic-report-" });
  try {
    const { code, text } = await runSynthetic(runs, ["--scale", "tiny"]);
    assert.equal(code, 0, text);
    assert.match(text, /mean probability on uncovered cells π_ref \d\.\d{3}, π_DPO \d\.\d{3}, π_PPO \d\.\d{3}/);
    const dir = join(runs, "synthetic", "tiny");
    const record = await readJson<{ config: { scale: string; seeds: number } }>(join(dir, "config.json"));
    assert.equal(record.config.scale, "tiny");
    const seeds = record.config.seeds;
    // Curves: every phase of every seed logged at least once, with finite numbers.
    const rows = await readMetricsFile(join(dir, "metrics.jsonl"));
    for (let seed = 1; seed <= seeds; seed++) {
      for (const phase of ["rm", "dpo", "ppo"]) {
        const mine = rows.filter((r) => r.seed === seed && r.phase === phase);
        assert.ok(mine.length >= 1, `no ${phase} rows for seed ${seed}`);
        for (const r of mine) {
          for (const [k, v] of Object.entries(r)) {
            if (typeof v === "number") assert.ok(Number.isFinite(v), `${k} = ${v}`);
          }
        }
      }
    }
    assert.ok(rows.some((r) => "dpo/accuracy" in r && "losses/dpo" in r));
    assert.ok(rows.some((r) => "charts/kl_ref" in r && "losses/clipfrac" in r));
    // Summary: one result per seed and finite aggregates.
    const s = await readJson<SyntheticSummary>(join(dir, "summary.json"));
    assert.equal(s.perSeed.length, seeds);
    assert.equal(s.scale, "tiny");
    for (const [name, i] of Object.entries(s.aggregate.uncovered)) {
      assert.ok(i.n === seeds && Number.isFinite(i.mean) && i.lo <= i.mean && i.mean <= i.hi, `uncovered ${name}`);
    }
    assert.ok(s.choices.some((c) => c.key === "dpo.beta" && c.value === 0.1 && /paper/.test(c.doc)));
    // Matrices: 8 x 8 probability rows, coverage that agrees with the pairs.
    for (const file of Object.values(s.matrices)) {
      const m = await readJson<SeedMatrices>(join(dir, file));
      for (const p of [m.reference, m.dpo, m.ppo, m.ppoTarget]) {
        assert.equal(p.length, 8);
        assert.ok(p.every(isProbRow), `a policy row of ${file} is not a distribution`);
      }
      assert.ok(m.reward.flat().every(Number.isFinite) && m.reward.length === 8);
      const covered = new Set(m.pairs.flatMap((p) => [`${p.prompt},${p.chosen}`, `${p.prompt},${p.rejected}`]));
      m.coverage.forEach((row, x) => row.forEach((c, y) => assert.equal(c, covered.has(`${x},${y}`) ? 1 : 0)));
    }
    // Bitwise reproducible: the same seed again gives byte-identical matrices.
    const again = await runSynthetic(runs, ["--scale", "tiny", "--set", "seeds=1", "--name", "again"]);
    assert.equal(again.code, 0, again.text);
    assert.equal(
      await Deno.readTextFile(join(runs, "synthetic", "again", "seeds", "seed_1.json")),
      await Deno.readTextFile(join(dir, "seeds", "seed_1.json")),
      "a second run of seed 1 wrote other matrices",
    );
    await Deno.remove(join(runs, "synthetic", "again"), { recursive: true });
    // The report section renders the run: Figure 1 (SVG and PNG), the curves, the tables and a verdict.
    const result = await buildReport({ runsDir: runs, outDir: out, sections: [section] });
    assert.deepEqual(result.failed, []);
    for (
      const f of ["figures/synthetic_figure1.svg", "figures/synthetic_figure1.png", "tables/synthetic_uncovered.md"]
    ) {
      assert.ok(result.files.includes(f), `${f} was not written`);
    }
    const svg = await Deno.readTextFile(join(out, "figures/synthetic_figure1.svg"));
    assert.equal((svg.match(/class="mark"/g) ?? []).length, 5 * 8 * 5, "5 panels x 40 uncovered cells circled");
    const readme = await Deno.readTextFile(join(out, "README.md"));
    assert.match(readme, /\*\*Agreement with the paper\.\*\* (Agrees|Partly agrees|Disagrees) \(\d of 3 claims hold/);
    assert.match(readme, /0\.11/);
  } finally {
    await Deno.remove(runs, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

gpuTest("synthetic: a bad setting is a clear error naming the key", async () => {
  const runs = await Deno.makeTempDir({ prefix: "synthetic-runs-" });
  try {
    const { code, text } = await runSynthetic(runs, ["--scale", "tiny", "--set", "data.coveredPerPrompt=9"]);
    assert.equal(code, 2, text);
    assert.match(text, /error: Config key 'data.coveredPerPrompt'|coveredPerPrompt must be an integer in \[2, 8\]/);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
