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

Deno.test("run dir: start skips a finished run of the same key; another config or an unfinished run starts anew", async () => {
  const root = await Deno.makeTempDir();
  try {
    const a = await RunDir.start("exp", "small", { config: { x: 1 }, root });
    assert.ok(a);
    assert.match(a.record.key ?? "", /^[0-9a-f]{64}$/);
    // Unfinished (no summary): a second start opens it again.
    const again = await RunDir.start("exp", "small", { config: { x: 1 }, root });
    assert.ok(again);
    await again.writeSummary({ done: true });
    assert.equal(await RunDir.start("exp", "small", { config: { x: 1 }, root }), null);
    // Another config is another key: the run starts over and its old summary goes.
    const b = await RunDir.start("exp", "small", { config: { x: 2 }, root });
    assert.ok(b);
    await assert.rejects(Deno.stat(b.file("summary.json")), Deno.errors.NotFound);
    assert.notEqual(b.record.key, a.record.key);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
