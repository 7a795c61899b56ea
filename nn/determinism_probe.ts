/**
 * A digest of what the GPU computes for one seed: an `xs` GPT (and a scalar-head copy, as the reward model and the
 * critic use it) trained a few AdamW steps on random tokens, then sampled with the KV cache. Prints one JSON line:
 * the adapter, llvmpipe's vector width, and SHA-256 digests of the parameters, the losses and the sampled tokens
 * and log-probabilities.
 *
 * nn/determinism_test.ts runs it in separate processes at different `LP_NATIVE_VECTOR_WIDTH`s and compares the
 * digests: same seed, same bits, whatever the SIMD width.
 *
 *   deno run -A nn/determinism_probe.ts
 * @module
 */
import { createGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { AdamW } from "./adamw.ts";
import { Gpt } from "./gpt.ts";
import { gptPreset } from "./gpt_config.ts";
import { Sampler } from "./sampler.ts";

/** SHA-256 of a typed array's bytes, hex. */
async function digest(x: ArrayBufferView): Promise<string> {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength).slice();
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

const gpu = await createGpu();
const [B, T, V, STEPS] = [4, 16, 32, 3];
const rng = new Rng(11);
const toks = Uint32Array.from({ length: B * T }, () => rng.int(V));
const tokens = gpu.fromArray(toks, [B, T]);
const targets = gpu.fromArray(Uint32Array.from(toks, (_, i) => (i % T === T - 1 ? 0 : toks[i + 1])), [B, T]);
const mask = gpu.fromArray(Float32Array.from(toks, (_, i) => (i % T === T - 1 ? 0 : 1)), [B, T]);

const model = new Gpt(gpu, gptPreset("xs", { vocab: V }));
model.params.initialize(new Rng(7).split("init"));
const opt = new AdamW(model.params);
const ws = model.workspace(B, T);
const losses: number[] = [];
for (let s = 0; s < STEPS; s++) {
  const enc = gpu.encoder("probe step");
  opt.zeroGrad(enc);
  model.forward(enc, ws, tokens);
  const loss = model.crossEntropy(enc, ws, targets, mask);
  model.backward(enc, ws, { dlogp: ws.dlogp });
  opt.step(enc, { lr: 3e-3 });
  const r = enc.read(loss);
  await enc.submit();
  losses.push((await r)[0]);
}

// The scalar head: a value per position, its gradient seeded with a fixed upstream gradient.
const critic = new Gpt(gpu, { ...model.config, lmHead: false, scalarHead: true }, "critic");
critic.params.initialize(new Rng(8).split("init"));
const cws = critic.workspace(B, T);
const dvalues = gpu.fromArray(Float32Array.from({ length: B * T }, (_, i) => Math.sin(i) / T), [B, T]);
const cenc = gpu.encoder("probe critic");
critic.forward(cenc, cws, tokens);
critic.backward(cenc, cws, { dvalues });
await cenc.submit();

const sampler = new Sampler(model, { maxBatch: B, maxLen: T });
const prompts = { B, T: 4, tokens: toks.slice(0, B * 4), lengths: new Uint32Array(B).fill(4) };
const out = await sampler.generate(prompts, { maxNewTokens: T - 4, eos: 2, key: new Rng(12).split("sample") });

console.log(JSON.stringify({
  adapter: gpu.info.description,
  vectorWidth: gpu.info.vectorWidth,
  params: await digest(await gpu.read(model.params.params)),
  criticGrads: await digest(await gpu.read(critic.params.grads)),
  losses: await digest(Float32Array.from(losses)),
  tokens: await digest(out.tokens!),
  logp: await digest(out.logp!),
}));
