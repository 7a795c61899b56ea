import assert from "node:assert/strict";
import { join } from "node:path";
import { Rng } from "../kernels/rng.ts";
import { assertBitwiseEqual, gpuTest } from "../kernels/testing.ts";
import { AdamW } from "../nn/adamw.ts";
import { checkpointDir, latestCheckpoint, loadCheckpoint, saveCheckpoint } from "../nn/checkpoint.ts";
import { Gpt } from "../nn/gpt.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { WordTokenizer } from "../testbeds/tokenizer.ts";
import { resolveConfig } from "../util/config.ts";
import { RunDir } from "../util/run_dir.ts";
import { loadSftModel, SFT_SCHEMA, type SftConfig, type SftData, trainSft } from "./sft.ts";

Deno.env.set("PROGRESS", "0");

/** The sanity task's SFT data: `n` training and 48 held-out examples from separate streams. */
function sanityData(n: number): SftData {
  const task = new SanityTask(), rng = new Rng(11).split("data");
  return {
    tokenizer: task.tokenizer,
    train: SanityTask.many(rng.split("train"), n, (r) => task.sftExample(r)),
    heldout: SanityTask.many(rng.split("heldout"), 48, (r) => task.sftExample(r)),
  };
}

/** A tiny config: xs (d 64, 2 layers) with a context of 24. */
function tiny(sets: string[]): SftConfig {
  return resolveConfig(SFT_SCHEMA, { sets: ["ctx=24", "batchSize=16", ...sets] });
}

/** The losses of a run's metrics rows (perf columns differ from run to run and are left out). */
async function losses(run: RunDir) {
  return (await run.readMetrics()).map((r) => [r.step, r["losses/sft"], r["losses/sft_heldout"] ?? null]);
}

gpuTest("sft: the loss falls on the sanity task, train and held out", async (gpu) => {
  const root = await Deno.makeTempDir();
  const cfg = tiny(["steps=80", "logEvery=10", "evalEvery=40", "checkpointEvery=80"]);
  const run = await RunDir.create("sft", "learn", { config: cfg, root });
  const t0 = performance.now();
  const r = await trainSft(gpu, cfg, sanityData(512), { run });
  const first = r.rows[0]["losses/sft"] as number;
  console.log(
    `${r.step} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s: train loss ${first.toFixed(3)} -> ` +
      `${r.trainLoss.toFixed(3)}, held-out ${r.heldoutLoss.toFixed(3)} (ln V = ${Math.log(12).toFixed(3)}); ` +
      `${(r.rows.at(-1)!["perf/tokens_per_s"] as number).toFixed(0)} tokens/s`,
  );
  // Responses are 4-8 uniform letters of 8, then EOS: the best possible loss is 14.09 nats over 7 tokens, 2.01 per
  // token; an untrained model scores ln 12 = 2.48.
  assert.ok(r.trainLoss < first - 0.15, `train loss ${r.trainLoss} should fall well below its first mean ${first}`);
  assert.ok(r.heldoutLoss < 2.15, `held-out loss ${r.heldoutLoss} should approach the data's entropy (2.01)`);
  const summary = JSON.parse(await Deno.readTextFile(run.file("summary.json")));
  assert.equal(summary.step, 80);
  assert.equal(await latestCheckpoint(run.path), checkpointDir(run.path, 80));
  await Deno.remove(root, { recursive: true });
});

gpuTest("sft: a run killed mid-training resumes from disk and ends bitwise like an uninterrupted run", async (gpu) => {
  const root = await Deno.makeTempDir(), data = sanityData(96);
  const cfg = tiny(["steps=12", "logEvery=2", "evalEvery=4", "checkpointEvery=4"]);
  const whole = await RunDir.create("sft", "whole", { config: cfg, root });
  const a = await trainSft(gpu, cfg, data, { run: whole });
  // Killed after step 6: the last checkpoint is step 4, so steps 5-6 run again after the restart.
  const cut = await RunDir.create("sft", "cut", { config: cfg, root });
  const b = await trainSft(gpu, cfg, data, { run: cut, stopAfter: 6 });
  assert.equal(b.step, 6);
  const again = await RunDir.create("sft", "cut", { config: { ...cfg, resume: true }, root, resume: true });
  const c = await trainSft(gpu, { ...cfg, resume: true }, data, { run: again });
  assert.equal(c.resumedFrom, 4);
  assertBitwiseEqual([c.trainLoss, c.heldoutLoss], [a.trainLoss, a.heldoutLoss], "final losses");
  assert.deepEqual(await losses(again), await losses(whole), "metrics rows (no step logged twice)");
  assertBitwiseEqual(await c.model.params.params.read(), await a.model.params.params.read(), "final parameters");
  console.log(`final loss ${a.trainLoss} (uninterrupted) = ${c.trainLoss} (resumed from step 4)`);
  await Deno.remove(root, { recursive: true });
});

gpuTest("sft: the same seed twice gives bitwise identical losses; another seed does not", async (gpu) => {
  const data = sanityData(96), cfg = tiny(["steps=6", "logEvery=2", "evalEvery=6", "checkpointEvery=6"]);
  const [a, b] = [await trainSft(gpu, cfg, data), await trainSft(gpu, cfg, data)];
  const l = (r: typeof a) => r.rows.flatMap((x) => [x["losses/sft"] as number, x["losses/grad_norm"] as number]);
  assertBitwiseEqual(l(b), l(a), "losses and gradient norms");
  const c = await trainSft(gpu, { ...cfg, seed: 2 }, data);
  assert.notDeepEqual(l(c), l(a));
});

gpuTest("sft: a checkpoint saved, loaded and saved again is byte-identical", async (gpu) => {
  const root = await Deno.makeTempDir(), data = sanityData(64);
  const cfg = tiny(["steps=4", "logEvery=2", "evalEvery=4", "checkpointEvery=4"]);
  const run = await RunDir.create("sft", "ckpt", { config: cfg, root });
  const r = await trainSft(gpu, cfg, data, { run });
  const dir = (await latestCheckpoint(run.path))!;
  const model = new Gpt(gpu, r.config), opt = new AdamW(model.params);
  const { config, state } = await loadCheckpoint(dir, { params: model.params, optimizer: opt });
  const copy = join(root, "copy", "step-000004");
  await saveCheckpoint(copy, { params: model.params, config, optimizer: opt, state });
  for (const f of ["model.safetensors", "optimizer.safetensors", "config.json", "state.json"]) {
    assert.deepEqual(await Deno.readFile(join(copy, f)), await Deno.readFile(join(dir, f)), f);
  }
  assert.deepEqual(state, { step: 4, cursor: 64 });
  // The loader downstream algorithms start from: the same parameters and tokenizer.
  const loaded = await loadSftModel(gpu, dir);
  assertBitwiseEqual(await loaded.model.params.params.read(), await r.model.params.params.read(), "loaded params");
  assert.deepEqual(loaded.tokenizer.toJSON(), data.tokenizer.toJSON());
  await Deno.remove(root, { recursive: true });
});

gpuTest("sft: a run on a word tokenizer writes a checkpoint that loads back with the same words", async (gpu) => {
  const root = await Deno.makeTempDir(), words = ["add", "sub", "1", "2", "3", "=>"];
  const ex = (p: string, r: string) => ({ prompt: p, response: r });
  const data: SftData = {
    tokenizer: new WordTokenizer(words),
    train: [ex("add 1 2", "3"), ex("sub 3 1", "2"), ex("add 1 1", "2"), ex("sub 3 2", "1 =>")],
    heldout: [ex("add 2 1", "3")],
  };
  const cfg = tiny(["ctx=8", "layers=1", "batchSize=4", "steps=2", "logEvery=2", "evalEvery=2", "checkpointEvery=2"]);
  const run = await RunDir.create("sft", "words", { config: cfg, root });
  const r = await trainSft(gpu, cfg, data, { run });
  const loaded = await loadSftModel(gpu, (await latestCheckpoint(run.path))!);
  assert.ok(loaded.tokenizer instanceof WordTokenizer);
  assert.deepEqual(loaded.tokenizer.words, words);
  assert.equal(loaded.model.config.vocab, 4 + words.length);
  assertBitwiseEqual(await loaded.model.params.params.read(), await r.model.params.params.read(), "loaded params");
  await Deno.remove(root, { recursive: true });
});

gpuTest("sft: config errors name the field", async (gpu) => {
  const data = sanityData(16);
  await assert.rejects(
    () => trainSft(gpu, tiny(["evalEvery=5"]), data),
    /evalEvery \(5\) must be a multiple of logEvery/,
  );
  await assert.rejects(() => trainSft(gpu, tiny(["ctx=8"]), data), /over the model's context of 8/);
  assert.throws(() => tiny(["preset=xl"]), /preset/);
});
