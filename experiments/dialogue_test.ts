import assert from "node:assert/strict";
import { join } from "node:path";
import { gpuTest } from "../kernels/testing.ts";
import { readJson } from "../util/fs.ts";
import { DIALOGUE_METHODS, type DialogueSummary, winTieLoseOver } from "./dialogue_summary.ts";
import { runExperiment } from "./testing.ts";

const runDialogue = (runs: string, args: string[]) => runExperiment("dialogue.ts", runs, args);

gpuTest("dialogue experiment: a bad key is named and nothing is written; --scale tiny judges every pair", async () => {
  const runs = await Deno.makeTempDir({ prefix: "dialogue-runs-" });
  try {
    const bad = await runDialogue(runs, ["--scale", "tiny", "--set", "judge.bias=1"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.text, /judge\.bias/);
    assert.deepEqual([...Deno.readDirSync(runs)], [], "no run directory was created");
    const r = await runDialogue(runs, ["--scale", "tiny", "--set", "seeds=1"]);
    assert.equal(r.code, 0, r.text);
    const s = await readJson<DialogueSummary>(join(runs, "dialogue", "tiny", "summary.json"));
    assert.deepEqual(new Set(s.records.map((x) => x.method)), new Set(DIALOGUE_METHODS));
    assert.equal(s.evalRm.sharesATrainingPrompt, false, "the evaluation RM never sees a training prompt");
    for (const c of s.comparisons) {
      assert.equal(c.judge.length, s.judgePrompts);
      assert.equal(c.gold.length, s.judgePrompts);
    }
    for (const [a, b] of [["ppo", "chosen"], ["dpo", "sft"], ["ppo", "dpo"], ["ppo", "dpo_iter"]]) {
      const w = winTieLoseOver(s, a, b, "judge")!;
      assert.ok(Math.abs(w.win.mean + w.tie.mean + w.lose.mean - 1) < 1e-9, `${a} vs ${b}`);
    }
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
