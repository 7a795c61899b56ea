/**
 * Reward-model evaluation and checkpoints: a checkpoint that loads into a scalar-head Gpt (PPO's critic) and scores
 * the same, the label ceiling itself, and a checkpoint directory that is not a reward model's.
 */
import assert from "node:assert/strict";
import { assertBitwiseEqual, assertClose, gpuTest } from "../kernels/testing.ts";
import { loadCheckpoint } from "../nn/checkpoint.ts";
import { Gpt } from "../nn/gpt.ts";
import type { GptConfig } from "../nn/gpt_config.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { GRADIENT_PAIRS as PAIRS, twinModels } from "./gradient_testing.ts";
import { evaluatePairs, labelCeiling, loadRewardModel, saveRewardModel } from "./reward_model_eval.ts";
import { RewardModelScorer } from "./scorer.ts";

const task = new SanityTask();

gpuTest(
  "reward model: a checkpoint loads into a scalar-head Gpt that scores the same (PPO's critic init)",
  async (gpu) => {
    const config: GptConfig = { vocab: 12, ctx: 16, d: 16, layers: 1, heads: 2, lmHead: false, scalarHead: true };
    const { model } = twinModels(gpu, config, 9);
    const dir = await Deno.makeTempDir();
    await saveRewardModel(dir, model, task.tokenizer, { outputScaling: 2, outputBias: 0.5 });
    const { model: loaded, tokenizer, record } = await loadRewardModel(gpu, dir);
    assert.deepEqual(loaded.config, config);
    assert.deepEqual(tokenizer.toJSON(), task.tokenizer.toJSON());
    assert.deepEqual([record.outputScaling, record.outputBias], [2, 0.5]);
    assertBitwiseEqual(await loaded.params.params.read(), await model.params.params.read(), "parameters");
    // A critic is a Gpt of the same config: the same checkpoint loads into it.
    const critic = new Gpt(gpu, { ...config }, "critic");
    await loadCheckpoint(dir, { params: critic.params });
    const a = await evaluatePairs(model, task.tokenizer, PAIRS), c = await evaluatePairs(critic, task.tokenizer, PAIRS);
    assertBitwiseEqual(c.chosen, a.chosen, "critic scores");
    const scorer = new RewardModelScorer(loaded, tokenizer, record);
    const s = await scorer.score(PAIRS.map((x) => x.prompt), PAIRS.map((x) => x.chosen));
    assertClose(s, Array.from(a.chosen, (x) => (x - 0.5) * 2), { atol: 1e-6, label: "scorer with scaling and bias" });
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("reward model: the label ceiling is the Bayes accuracy of Bradley-Terry labels", () => {
  const gold = (_: string, r: string) => r.length / 8;
  const pairs = [
    { prompt: "a", chosen: "xx", rejected: "x" }, // d = 1/8: P(label) = σ(1.25)
    { prompt: "a", chosen: "x", rejected: "xx" }, // the label goes against gold: Bayes still max(p, 1 - p)
    { prompt: "a", chosen: "x", rejected: "y" }, // a tie: 1/2
  ];
  const q = 1 / (1 + Math.exp(-1.25));
  const c = labelCeiling(pairs, gold, 0.1);
  assert.ok(Math.abs(c.bayes - (2 * q + 0.5) / 3) < 1e-12, `bayes ${c.bayes}`);
  assert.equal(c.goldOrder, 0.5); // 1 + 0 + 1/2 over 3
  assert.throws(() => labelCeiling(pairs, gold, 0), /temperature must be > 0/);
});

gpuTest("reward model: a checkpoint that is not a reward model's is an error that names it", async (gpu) => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ model: {}, tokenizer: {} }));
  await assert.rejects(loadRewardModel(gpu, dir), /is not a reward model/);
  await Deno.remove(dir, { recursive: true });
});
