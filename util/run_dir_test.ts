import assert from "node:assert/strict";
import { loadRun, RunDir } from "./run_dir.ts";

Deno.test("run dir: config, metrics, summary; torn last metrics line dropped; truncate for resume", async () => {
  const root = await Deno.makeTempDir();
  const run = await RunDir.create("exp", "r1", { config: { a: 1 }, root });
  for (let s = 1; s <= 3; s++) await run.log(s, { "losses/x": s / 2 });
  await Deno.writeTextFile(run.file("metrics.jsonl"), '{"step": 4, "losses/x"', { append: true });
  assert.deepEqual((await run.readMetrics()).map((r) => r.step), [1, 2, 3]);
  await run.truncateMetrics(2);
  assert.deepEqual((await run.readMetrics()).map((r) => r.step), [1, 2]);
  await run.writeSummary({ done: true });
  const loaded = await loadRun(run.path);
  assert.deepEqual(loaded.record.config, { a: 1 });
  assert.deepEqual(loaded.summary, { done: true });
  assert.equal(loaded.metrics.length, 2);
  await Deno.remove(root, { recursive: true });
});
