import assert from "node:assert/strict";
import { Rng } from "../kernels/rng.ts";
import { assertClose, gpuTest } from "../kernels/testing.ts";
import { Gpt } from "../nn/gpt.ts";
import { gptPreset } from "../nn/gpt_config.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { BatchBuffers, DataOrder, fixedWidth, StackedBatches, widthOf } from "./batch.ts";
import { heldoutLoss } from "./sft_eval.ts";

Deno.test("data order: epochs are permutations; a cursor resumes the exact stream", () => {
  const rng = new Rng(3).split("data");
  const a = new DataOrder(rng, 5);
  const first = a.take(12);
  for (const e of [0, 5]) assert.deepEqual([...first.slice(e, e + 5)].sort(), [0, 1, 2, 3, 4], `epoch at ${e}`);
  assert.notDeepEqual(first.slice(0, 5), first.slice(5, 10), "epochs should be shuffled differently");
  const b = new DataOrder(rng, 5);
  assert.deepEqual([...b.take(7), ...b.take(5)], first, "taking in pieces gives the same stream");
  const resumed = new DataOrder(rng, 5, 7);
  assert.deepEqual(resumed.take(5), first.slice(7), "a fresh order at cursor 7 continues the stream");
  assert.equal(resumed.epochs, 12 / 5);
  assert.throws(() => new DataOrder(rng, 0), /n must be an integer >= 1/);
});

Deno.test("width: the longest sequence with BOS, SEP and EOS; over the context is an error naming it", () => {
  const tok = new SanityTask().tokenizer;
  const ex = [{ prompt: "ab", response: "cde" }, { prompt: "abcd", response: "e" }];
  assert.equal(widthOf(tok, ex, 64), 8);
  assert.throws(() => widthOf(tok, ex, 7), /Example 0 has 8 tokens, over the model's context of 7/);
  const b = fixedWidth(tok, ex, 10);
  assert.deepEqual([b.B, b.T], [2, 10]);
});

gpuTest("batches: uploads round-trip; held-out loss over padded stacked batches equals one big batch", async (gpu) => {
  const task = new SanityTask(), tok = task.tokenizer;
  const examples = SanityTask.many(new Rng(4), 7, (r) => task.sftExample(r));
  const T = widthOf(tok, examples, 24);
  const bufs = new BatchBuffers(gpu, 7, T);
  const batch = fixedWidth(tok, examples, T);
  bufs.write(batch);
  assert.deepEqual([...(await bufs.tokens.read())], [...batch.tokens]);
  assert.deepEqual([...(await bufs.mask.read())], [...batch.mask]);
  assert.throws(() => bufs.write(fixedWidth(tok, examples.slice(0, 3), T)), /batch is \[3, \d+\], the buffers are \[7/);
  const model = new Gpt(gpu, gptPreset("xs", { vocab: tok.vocabSize, ctx: 24 }));
  model.params.initialize(new Rng(5).split("init"));
  // 7 examples as batches of 3: 3 + 3 + 1 real rows, the last batch padded with masked-out filler rows.
  const stacked = new StackedBatches(gpu, tok, examples, 3, T);
  assert.equal(stacked.count, 3);
  assert.deepEqual(stacked.tokensPerBatch.map((n, i) => n > 0 && i), [0, 1, 2]);
  const got = await heldoutLoss(model, model.workspace(3, T), stacked);
  const whole = await heldoutLoss(model, model.workspace(7, T), new StackedBatches(gpu, tok, examples, 7, T));
  console.log(`held-out loss ${got} (batches of 3) vs ${whole} (one batch of 7)`);
  assertClose([got], [whole], { atol: 1e-6, rtol: 1e-6, label: "held-out loss" });
  assert.ok(Math.abs(got - Math.log(tok.vocabSize)) < 0.2, `an untrained model's loss ${got} should be near ln V`);
});
