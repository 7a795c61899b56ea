/**
 * The preference trainers' shared update loop (train_common.ts UpdateLoop): its step count, the rows it logs (when,
 * numbered how, with which keys), that the logged loss is the mean over the steps since the last row, and that the
 * logging cadence does not change the training (the parameters end bitwise the same).
 */
import assert from "node:assert/strict";
import type { StepEncoder } from "../kernels/encoder.ts";
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { assertBitwiseEqual, assertClose, gpuTest } from "../kernels/testing.ts";
import { Gpt } from "../nn/gpt.ts";
import type { GptWorkspace } from "../nn/gpt_workspace.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { type BatchBuffers, fixedWidth } from "./batch.ts";
import { SCHEDULE_FIELDS, type StepRecorder, UpdateLoop } from "./train_common.ts";

Deno.env.set("PROGRESS", "0");

/** Next-token cross-entropy on the batch; its one stat is the loss. */
class CrossEntropyStep implements StepRecorder {
  readonly stats: Tensor<"f32">; // [1]
  constructor(gpu: Gpu) {
    this.stats = gpu.tensor([1], "f32", "test.stats");
  }
  record(enc: StepEncoder, model: Gpt, ws: GptWorkspace, batch: BatchBuffers): void {
    model.forward(enc, ws, batch.tokens);
    enc.copy(model.crossEntropy(enc, ws, batch.targets, batch.mask), this.stats);
    model.backward(enc, ws, { dlogp: ws.dlogp });
  }
}

const defaults = Object.fromEntries(Object.entries(SCHEDULE_FIELDS).map(([k, f]) => [k, f.value])) as {
  warmupProportion: number;
  minLrRatio: number;
  weightDecay: number;
};

/** Trains a tiny model for `items`·epochs/perStep steps of `perStep` sanity examples, logging every `logEvery`. */
async function run(gpu: Gpu, logEvery: number, o: { items?: number; perStep?: number; epochs?: number } = {}) {
  const { items = 10, perStep = 4, epochs = 2 } = o;
  const task = new SanityTask();
  const examples = SanityTask.many(new Rng(3), items, (r) => task.sftExample(r));
  const model = new Gpt(gpu, {
    vocab: task.tokenizer.vocabSize,
    ctx: 24,
    d: 16,
    layers: 1,
    heads: 2,
    lmHead: true,
    scalarHead: false,
  }, "test");
  model.params.initialize(new Rng(1).split("init"));
  const recorder = new CrossEntropyStep(gpu);
  const config = { ...defaults, lr: 1e-2, epochs, logEvery };
  const loop = new UpdateLoop(model, recorder, {
    config,
    items,
    perStep,
    rows: perStep,
    width: 24,
    stats: ["loss"],
    label: "test",
  });
  for (let step = 1; step <= loop.totalSteps; step++) {
    const batch = Array.from({ length: perStep }, (_, i) => examples[((step - 1) * perStep + i) % items]);
    loop.bufs.write(fixedWidth(task.tokenizer, batch, 24));
    await loop.update(step, (m) => ({ "losses/test": m.loss }), 100 + step);
  }
  loop.log.stop();
  const params = await model.params.params.read();
  loop.destroy();
  recorder.stats.destroy();
  return { loop, rows: loop.log.rows, params };
}

gpuTest(
  "update loop: steps, logged rows (cadence, numbering, keys, means) and training independent of logging",
  async (gpu) => {
    const every = await run(gpu, 1), sparse = await run(gpu, 2);
    // ⌊2 epochs · 10 items / 4 per step⌋ = 5 steps; a data set smaller than a step still takes one.
    assert.equal(sparse.loop.totalSteps, 5);
    assert.equal((await run(gpu, 1, { items: 3, epochs: 1 })).loop.totalSteps, 1);
    // Rows every logEvery steps and at the last, numbered by the caller's logStep.
    assert.deepEqual(sparse.rows.map((r) => r.step), [102, 104, 105]);
    assert.deepEqual(every.rows.map((r) => r.step), [101, 102, 103, 104, 105]);
    const keys = ["step", "losses/test", "losses/grad_norm", "charts/lr", "perf/tokens_per_s", "perf/gflops"];
    for (const r of sparse.rows) assert.deepEqual(Object.keys(r), keys);
    // The logged loss is the mean over the steps since the last row; the rate is the schedule's at that step.
    const loss = every.rows.map((r) => r["losses/test"] as number);
    const want = [(loss[0] + loss[1]) / 2, (loss[2] + loss[3]) / 2, loss[4]];
    assertClose(sparse.rows.map((r) => r["losses/test"] as number), want, { atol: 1e-6, rtol: 1e-6, label: "means" });
    assert.deepEqual(sparse.rows.map((r) => r["charts/lr"]), [2, 4, 5].map((s) => sparse.loop.lr(s)));
    assert.ok(loss[4] < loss[0], `the loss falls: ${loss}`);
    // Logging reads back and resets the sums; it must not touch the training.
    assertBitwiseEqual(sparse.params, every.params, "parameters after 5 steps, logged every 2 vs every step");
  },
);
