/**
 * Scorers: the gold judge through both entry points; the reward-model scorer against the float64 CPU model (score
 * at the last token, ReaLHF's affine transform), the token path equal bitwise to the text path, and bad input.
 */
import assert from "node:assert/strict";
import { assertBitwiseEqual, assertClose, gpuTest } from "../kernels/testing.ts";
import { Gpt } from "../nn/gpt.ts";
import type { GptConfig } from "../nn/gpt_config.ts";
import { GptCpu } from "../nn/gpt_cpu.ts";
import { flatten, randomParams, roundToF32 } from "../nn/gpt_testing.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { buildBatch } from "../testbeds/tokenizer.ts";
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { checkGptConfig } from "../nn/gpt_config.ts";
import { CharTokenizer } from "../testbeds/tokenizer.ts";
import { GoldScorer, RewardModelScorer, SCORE_CHUNK } from "./scorer.ts";

const task = new SanityTask();
const PROMPTS = ["ab", "hgfe", "c", "dddd", "eab", "ba", "fc"];
const RESPONSES = ["aaab", "h", "cccccccccc", "", "eeee", "abab", "gfedcba"];

gpuTest("scorer: the gold judge scores text through score and scoreInto alike", async (gpu) => {
  const gold = new GoldScorer(gpu, "sanity-gold", (p, r) => task.gold(p, r));
  const want = PROMPTS.map((p, i) => task.gold(p, RESPONSES[i]));
  assert.deepEqual([...await gold.score(PROMPTS, RESPONSES)], want.map(Math.fround));
  const out = gpu.tensor([PROMPTS.length], "f32");
  const enc = gpu.encoder();
  gold.scoreInto(enc, { prompts: PROMPTS, responses: RESPONSES }, out);
  const r = enc.read(out);
  await enc.submit();
  assert.deepEqual([...await r], want.map(Math.fround));
  assert.throws(() => gold.scoreInto(gpu.encoder(), { prompts: PROMPTS }, out), /gold judge reads text/);
  assert.throws(() => gold.scoreTexts(["a"], ["a", "b"]), /1 prompts but 2 responses/);
  const bad = new GoldScorer(gpu, "nan-judge", () => NaN);
  assert.throws(() => bad.scoreTexts(["ab"], ["a"]), /judge gave NaN for example 0/);
  assert.throws(
    () => gold.scoreInto(gpu.encoder(), { prompts: ["a"], responses: ["a"] }, out),
    /prompts 1, responses 1, out 7 disagree/,
  );
});

gpuTest("scorer: a reward model scores at the last token, as the float64 CPU model does", async (gpu) => {
  const vocab = task.tokenizer.vocabSize;
  const config: GptConfig = { vocab, ctx: 16, d: 16, layers: 2, heads: 2, lmHead: false, scalarHead: true };
  const model = new Gpt(gpu, config);
  const p = roundToF32(randomParams(config, 11));
  model.params.params.write(flatten(model.params.entries, model.params.total, p));
  const cpu = new GptCpu(config, p);
  const batch = buildBatch(task.tokenizer, PROMPTS.map((prompt, i) => ({ prompt, response: RESPONSES[i] })), {
    context: config.ctx,
  });
  const values = cpu.forward(batch.tokens, batch.B, batch.T).values!;
  const raw = Array.from(batch.lastIndex, (j, b) => values[b * batch.T + j]);
  for (const [scaling, bias] of [[1, 0], [2.5, 0.3]]) {
    const rm = new RewardModelScorer(model, task.tokenizer, { outputScaling: scaling, outputBias: bias });
    const got = await rm.score(PROMPTS, RESPONSES);
    const rep = assertClose(got, raw.map((s) => (s - bias) * scaling), {
      atol: 1e-4,
      rtol: 1e-4,
      label: `scores (scaling ${scaling}, bias ${bias})`,
    });
    console.log(`scaling ${scaling} bias ${bias}: max |GPU - CPU| ${rep.maxAbs.toExponential(2)}`);
    // The token path (what PPO hands over from the sampler) gives the same scores bitwise.
    const tokens = gpu.fromArray(batch.tokens, [batch.B, batch.T]), lastIndex = gpu.fromArray(batch.lastIndex);
    const out = gpu.tensor([batch.B], "f32");
    const enc = gpu.encoder();
    rm.scoreInto(enc, { tokens, lastIndex }, out);
    const r = enc.read(out);
    await enc.submit();
    assertBitwiseEqual(await r, got, "token path vs text path");
    rm.destroy();
  }
});

gpuTest("scorer: a reward-model scorer rejects models and batches it cannot score", (gpu) => {
  const vocab = task.tokenizer.vocabSize;
  const lm = new Gpt(gpu, { vocab, ctx: 8, d: 8, layers: 1, heads: 1, lmHead: true, scalarHead: false });
  assert.throws(() => new RewardModelScorer(lm, task.tokenizer), /has no scalar head/);
  const small = new Gpt(gpu, { vocab: 5, ctx: 8, d: 8, layers: 1, heads: 1, lmHead: false, scalarHead: true });
  assert.throws(() => new RewardModelScorer(small, task.tokenizer), /tokenizer has 12 ids but the model's vocab is 5/);
  const rm = new RewardModelScorer(
    new Gpt(gpu, { vocab, ctx: 8, d: 8, layers: 1, heads: 1, lmHead: false, scalarHead: true }),
    task.tokenizer,
  );
  assert.throws(() => rm.scoreInto(gpu.encoder(), {}, gpu.tensor([2], "f32")), /give tokens and lastIndex/);
  const tokens = gpu.tensor([3, 4], "u32");
  assert.throws(
    () => rm.scoreInto(gpu.encoder(), { tokens, lastIndex: gpu.tensor([3], "u32") }, gpu.tensor([2], "f32")),
    /tokens rows 3, lastIndex 3, out 2 disagree in batch size/,
  );
  assert.throws(() => new RewardModelScorer(rm.model, task.tokenizer, { outputScaling: NaN }), /outputScaling/);
});

gpuTest("reward-model scorer: more rows than one chunk score as each chunk alone would", async () => {
  const gpu = await getGpu();
  const tok = new CharTokenizer("ab");
  const cfg = { vocab: tok.vocabSize, ctx: 12, d: 16, layers: 1, heads: 2, lmHead: false, scalarHead: true };
  const model = new Gpt(gpu, checkGptConfig(cfg), "rm-chunks");
  model.params.initialize(new Rng(3));
  const rm = new RewardModelScorer(model, tok);
  const n = SCORE_CHUNK + 5, prompts = Array.from({ length: n }, (_, i) => (i % 2 ? "ab" : "b"));
  const responses = Array.from({ length: n }, (_, i) => "ab".repeat(1 + (i % 3)));
  const all = await rm.score(prompts, responses);
  const tail = await rm.score(prompts.slice(SCORE_CHUNK), responses.slice(SCORE_CHUNK));
  assert.deepEqual(Array.from(all.subarray(SCORE_CHUNK)), Array.from(tail));
  assert.ok(all.every(Number.isFinite));
  await assert.rejects(() => rm.score(["a"], []), /1 prompts but 0 responses/);
  rm.destroy();
});
