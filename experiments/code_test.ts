import assert from "node:assert/strict";
import { join } from "node:path";
import { gpuTest } from "../kernels/testing.ts";
import { OUTCOMES } from "../testbeds/code/mod.ts";
import { readJson } from "../util/fs.ts";
import { parsePresets } from "./code.ts";
import type { CodeSummary } from "./code_summary.ts";
import { METHODS } from "./code_summary.ts";
import { runExperiment } from "./testing.ts";

const runCode = (runs: string, args: string[]) => runExperiment("code.ts", runs, args);

Deno.test("code experiment: presets are checked and a bad one is named", () => {
  assert.deepEqual(parsePresets("xs, s"), ["xs", "s"]);
  assert.throws(() => parsePresets("xs,xl"), /presets must be distinct names from xs, s, m .*got 'xs,xl'/);
  assert.throws(() => parsePresets("xs,xs"), /distinct/);
  assert.throws(() => parsePresets(""), /presets/);
});

gpuTest("code experiment: a bad config key or value is an error naming it, and nothing is written", async () => {
  const runs = await Deno.makeTempDir({ prefix: "code-runs-" });
  try {
    const key = await runCode(runs, ["--scale", "tiny", "--set", "eval.sample=3"]);
    assert.notEqual(key.code, 0);
    assert.match(key.text, /eval\.sample/);
    const value = await runCode(runs, ["--scale", "tiny", "--set", "presets=xs,q"]);
    assert.notEqual(value.code, 0);
    assert.match(value.text, /presets must be distinct names/);
    assert.deepEqual([...Deno.readDirSync(runs)], [], "no run directory was created");
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});

gpuTest(
  "code experiment: --scale tiny writes every method's evaluations, outcome shares and kept programs",
  async () => {
    const runs = await Deno.makeTempDir({ prefix: "code-runs-" });
    try {
      const r = await runCode(runs, ["--scale", "tiny", "--set", "seeds=1"]);
      assert.equal(r.code, 0, r.text);
      const dir = join(runs, "code", "tiny");
      const s = await readJson<CodeSummary>(join(dir, "summary.json"));
      assert.deepEqual(new Set(s.records.map((x) => x.method)), new Set(METHODS));
      for (const rec of s.records) {
        const shares = OUTCOMES.reduce((a, o) => a + rec.outcomes[o], 0);
        assert.ok(Math.abs(shares - 1) < 1e-9, `${rec.method}: outcome shares sum to ${shares}`);
        for (const v of Object.values(rec.passAtK)) assert.ok(v.mean >= 0 && v.mean <= 1);
      }
      assert.ok(s.records.some((x) => x.set === "contest" && x.split === "validation" && x.method === "dpo"));
      const kept = await readJson<Record<string, { program: string; outcome: string }[]>>(
        join(dir, "samples", "xs-seed1-sft.json"),
      );
      assert.ok(kept["apps/test"].length > 0 && kept["apps/test"].every((p) => OUTCOMES.includes(p.outcome as never)));
      assert.ok(s.choices.length > 0 && s.choices.every((c) => c.doc.length > 0));
    } finally {
      await Deno.remove(runs, { recursive: true });
    }
  },
);

gpuTest("code calibration: --scale tiny writes the base's and each SFT model's pass@k per tier", async () => {
  const runs = await Deno.makeTempDir({ prefix: "code-runs-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "experiments/code_calibrate.ts", "--scale", "tiny", "--set", "sftLrs=[1e-3,1e-4]"],
      env: { RUNS_DIR: runs, PROGRESS: "0", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const s = await readJson<{ rows: { variant: string; base: unknown; sft: { lr: number; passAtK: unknown }[] }[] }>(
      join(runs, "code_calibration", "tiny", "summary.json"),
    );
    assert.deepEqual(s.rows.map((r) => r.variant), ["gentle"]);
    assert.deepEqual(s.rows[0].sft.map((x) => x.lr), [1e-3, 1e-4]);
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "experiments/code_calibrate.ts", "--scale", "tiny", "--set", "variants=hard"],
      env: { RUNS_DIR: runs, PROGRESS: "0", NO_COLOR: "1" },
      stderr: "piped",
    }).output();
    assert.notEqual(bad.code, 0);
    assert.match(new TextDecoder().decode(bad.stderr), /variants must name ones of .*got 'hard'/);
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
