/**
 * End to end: an xs model trained with AdamW (nn/adamw.ts) on one small batch drives the masked cross-entropy to
 * near zero, every step recorded into one encoder and submitted without a readback.
 */
import assert from "node:assert/strict";
import { Rng } from "../kernels/rng.ts";
import { gpuTest } from "../kernels/testing.ts";
import { AdamW } from "./adamw.ts";
import { Gpt } from "./gpt.ts";
import { gptPreset } from "./gpt_config.ts";

gpuTest("gpt train: an xs model overfits a small batch to near-zero loss", async (gpu) => {
  const [b, t, vocab] = [4, 16, 32];
  const model = new Gpt(gpu, gptPreset("xs", { vocab }));
  model.params.initialize(new Rng(7).split("init"));
  // No weight decay: the test is about fitting, and decay would hold the loss a little above zero.
  const opt = new AdamW(model.params, { weightDecay: 0 });
  const ws = model.workspace(b, t);
  const rng = new Rng(7).split("data");
  // Random tokens, except that each row starts with its own token: rows sharing a first token with different
  // second tokens would make the first target ambiguous, and the loss could not reach zero.
  const toks = Uint32Array.from({ length: b * t }, (_, i) => (i % t === 0 ? i / t : rng.int(vocab)));
  const tokens = gpu.fromArray(toks, [b, t]);
  // Targets are the tokens shifted left by one; the last position has no target and is masked out.
  const targets = gpu.fromArray(Uint32Array.from(toks, (_, i) => (i % t === t - 1 ? 0 : toks[i + 1])), [b, t]);
  const mask = gpu.fromArray(Float32Array.from(toks, (_, i) => (i % t === t - 1 ? 0 : 1)), [b, t]);
  const losses: number[] = [];
  const steps = 40;
  for (let s = 0; s < steps; s++) {
    const enc = gpu.encoder("train step");
    opt.zeroGrad(enc);
    model.forward(enc, ws, tokens);
    const loss = model.crossEntropy(enc, ws, targets, mask);
    model.backward(enc, ws, { dlogp: ws.dlogp });
    opt.step(enc, { lr: 1e-2 });
    const r = s === 0 || s === steps - 1 ? enc.read(loss) : null;
    await enc.submit();
    if (r) losses.push((await r)[0]);
  }
  console.log(`loss ${losses[0].toFixed(4)} -> ${losses[1].toFixed(5)} after ${steps} steps`);
  assert.ok(Math.abs(losses[0] - Math.log(vocab)) < 0.1, `initial loss ${losses[0]} should be near ln ${vocab}`);
  assert.ok(losses[1] < 0.01, `final loss ${losses[1]} should be near zero`);
  ws.destroy();
});
