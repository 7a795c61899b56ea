/**
 * Reward-model training: one step's gradient against the float64 CPU model (and the CPU objective against finite
 * differences), held-out accuracy on the sanity task, starting from the SFT model, against the Bayes ceiling of its
 * labels, and bad input. Evaluation, the label ceiling and checkpoints are tested in reward_model_eval_test.ts.
 */
import assert from "node:assert/strict";
import { bradleyTerryLossCpu } from "../kernels/bradley_terry.ts";
import { Rng } from "../kernels/rng.ts";
import { assertClose, gpuTest } from "../kernels/testing.ts";
import type { GptConfig } from "../nn/gpt_config.ts";
import { GptCpu, type ParamMap } from "../nn/gpt_cpu.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { resolveConfig } from "../util/config.ts";
import { BatchBuffers, fixedWidth } from "./batch.ts";
import { pairRows } from "./preference_batch.ts";
import { assertGradsClose, finiteDifferenceCheck, GRADIENT_PAIRS as PAIRS, twinModels } from "./gradient_testing.ts";
import { REWARD_MODEL_SCHEMA, RewardModelStep, trainRewardModel } from "./reward_model.ts";
import { labelCeiling } from "./reward_model_eval.ts";
import { sanityFixture } from "./testing.ts";

Deno.env.set("PROGRESS", "0");
const task = new SanityTask();

gpuTest(
  "reward model: a step's gradient matches the float64 CPU model, which matches finite differences",
  async (gpu) => {
    const config: GptConfig = { vocab: 12, ctx: 16, d: 16, layers: 2, heads: 2, lmHead: false, scalarHead: true };
    const { model, cpu, p } = twinModels(gpu, config, 3);
    const P = PAIRS.length, b = fixedWidth(task.tokenizer, pairRows(PAIRS), 15);
    const bufs = new BatchBuffers(gpu, 2 * P, b.T);
    bufs.write(b);
    const ws = model.workspace(2 * P, b.T), step = new RewardModelStep(gpu, P);
    const enc = gpu.encoder();
    enc.zero(model.params.grads);
    step.record(enc, model, ws, bufs);
    const [rg, rl] = [enc.read(model.params.grads), enc.read(step.loss)];
    await enc.submit();
    // CPU: scores at the last tokens, the BT loss, its gradient scattered to the last tokens, the model's backward.
    const lossOf = (q: ParamMap) => {
      const values = new GptCpu(config, q).forward(b.tokens, b.B, b.T).values!;
      const s = Array.from(b.lastIndex, (j: number, r) => values[r * b.T + j]);
      return { s, ...bradleyTerryLossCpu(s.slice(0, P), s.slice(P)) };
    };
    const want = lossOf(p), dvalues = new Float64Array(b.B * b.T);
    [...want.dChosen, ...want.dRejected].forEach((g, r) => (dvalues[r * b.T + b.lastIndex[r]] = g));
    const grads = cpu.backward(cpu.forward(b.tokens, b.B, b.T), { dvalues });
    assertClose(await rl, [want.loss], { atol: 1e-5, label: "loss" });
    const fd = finiteDifferenceCheck((q) => lossOf(q).loss, p, grads);
    console.log(`${assertGradsClose(await rg, model, grads, 1e-4)}; CPU vs finite differences ${fd.toExponential(2)}`);
    step.destroy();
    ws.destroy();
  },
);

gpuTest(
  "reward model: from the SFT model, held-out pair accuracy on the sanity task comes near the labels' Bayes ceiling",
  async (gpu) => {
    // The RM starts from the SFT policy's transformer with a fresh scalar head, as the paper's and ReaLHF's reward
    // models do (reward_model.ts `init`), on the task's two-letter variant with sharp labels (τ 0.02), and its own
    // fixture (base + SFT on that variant, algorithms/testing.ts). The RM must find the prompt's first letter and
    // count it in the response. Measured on llvmpipe (3 fixture seeds x 3 RM seeds, 384 steps): from the SFT model
    // every run reached 0.96-1.0 of the Bayes ceiling; from a random init all three RM seeds stayed on the plateau
    // of ~0.68 (0.75 of the ceiling). The default task (8 letters, τ 0.1; ceiling 0.71) is out of a test's reach
    // even from the SFT model: 0.54-0.57 after 256 steps, 0.57 after 1024.
    const fx = await sanityFixture(gpu, { task: { alphabet: "ab", labelTemperature: 0.02 } });
    const t = fx.task, rng = new Rng(1), { d, layers, heads, ctx } = fx.sft.config;
    const train = SanityTask.many(rng.split("train"), 6144, (r) => t.pair(r));
    const heldOut = SanityTask.many(rng.split("test"), 512, (r) => t.pair(r));
    const ceiling = labelCeiling(heldOut, (p, x) => t.gold(p, x), t.options.labelTemperature);
    const model = [`model.d=${d}`, `model.layers=${layers}`, `model.heads=${heads}`, `model.ctx=${ctx}`];
    const cfg = resolveConfig(REWARD_MODEL_SCHEMA, { sets: ["seed=1", ...model, "batchPairs=32", "logEvery=64"] });
    const t0 = performance.now();
    const r = await trainRewardModel(gpu, { tokenizer: t.tokenizer, train, heldOut, config: cfg, init: fx.sft });
    const secs = (performance.now() - t0) / 1000, acc = r.heldOut!.accuracy;
    const first = r.metrics[0]["rm/train_accuracy"] as number;
    console.log(
      `fixture ${fx.seconds.toFixed(1)} s; ${r.metrics.at(-2)!.step} steps in ${secs.toFixed(1)} s: train accuracy ` +
        `${first.toFixed(3)} (first 64 steps) -> held-out ${acc.toFixed(3)}; Bayes ceiling ${
          ceiling.bayes.toFixed(3)
        }, ` +
        `gold order on these labels ${ceiling.goldOrder.toFixed(3)}, chance 0.5`,
    );
    assert.ok(acc >= 0.8, `held-out accuracy ${acc} should be well above chance (0.5), at least 0.8`);
    assert.ok(acc >= 0.9 * ceiling.bayes, `held-out accuracy ${acc} should reach 90% of the Bayes ceiling`);
    assert.ok(acc <= ceiling.bayes + 0.05, `held-out accuracy ${acc} cannot beat the ceiling ${ceiling.bayes} by much`);
    assert.equal(r.metrics.at(-1)!["rm/accuracy"], acc);
  },
);

gpuTest("reward model: bad input is an error that names it", async (gpu) => {
  const cfg = resolveConfig(REWARD_MODEL_SCHEMA, { sets: ["batchPairs=4"] });
  await assert.rejects(
    trainRewardModel(gpu, { tokenizer: task.tokenizer, train: PAIRS, config: cfg }),
    /3 training pairs, fewer than batchPairs 4/,
  );
});
