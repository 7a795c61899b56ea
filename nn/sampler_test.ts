import assert from "node:assert/strict";
import type { Gpu } from "../kernels/gpu.ts";
import { assertClose, gpuTest } from "../kernels/testing.ts";
import type { GptConfig } from "./gpt_config.ts";
import { type GenerateOptions, Sampler } from "./sampler.ts";
import { generateCpu } from "./sampler_cpu.ts";
import { chiSquare, chiSquareBound, prompts, repeatPrompt, twinModels } from "./sampler_testing.ts";

const EOS = 2;
const KEY: [number, number] = [0x2468ace, 0x13579bdf];
// hd 8 runs the vec4 kernels; d 14 (hd 7) the scalar LayerNorm, embedding and attention builds.
const CONFIGS: GptConfig[] = [
  { vocab: 11, ctx: 24, d: 16, layers: 2, heads: 2, lmHead: true, scalarHead: false },
  { vocab: 13, ctx: 20, d: 14, layers: 1, heads: 2, lmHead: true, scalarHead: false },
];
const LENGTHS = [1, 3, 5, 2];

gpuTest("sampler: greedy (and temperature → 0) equals greedy decoding of the CPU reference", async (gpu) => {
  for (const config of CONFIGS) {
    const { model, cpu } = twinModels(gpu, config, 3);
    const sampler = new Sampler(model, { maxBatch: 8 });
    const p = prompts(LENGTHS, config.vocab, 1);
    const opts: GenerateOptions = { maxNewTokens: 8, minNewTokens: 2, eos: EOS, key: KEY, greedy: true };
    const want = generateCpu(cpu, p, opts);
    for (const o of [opts, { ...opts, greedy: false, temperature: 1e-3 }, { ...opts, greedy: false, temperature: 0 }]) {
      const r = await sampler.generate(p, o);
      const label = `d${config.d} T=${o.temperature ?? "greedy"}`;
      assert.equal(r.T, want.T);
      assert.deepEqual([...r.tokens!], [...want.tokens], `tokens ${label}`);
      assert.deepEqual([...r.mask!], [...want.mask], `mask ${label}`);
      assert.deepEqual([...r.responseLen!], [...want.responseLen], `responseLen ${label}`);
      assert.deepEqual([...r.lastIndex!], [...want.lastIndex], `lastIndex ${label}`);
      assert.deepEqual([...r.terminated!], [...want.terminated], `terminated ${label}`);
      const d = assertClose(r.logp!, want.logp, { atol: 2e-5, rtol: 1e-5, label: `logp ${label}` });
      console.log(`${label}: tokens equal; max |Δlogp| ${d.maxAbs.toExponential(2)}; ${r.submits} submits`);
    }
    sampler.destroy();
  }
});

gpuTest("sampler: with the same key it draws the CPU reference's tokens (T = 1, top-k, top-p)", async (gpu) => {
  const config = CONFIGS[0];
  const { model, cpu } = twinModels(gpu, config, 4);
  const sampler = new Sampler(model, { maxBatch: 16 });
  const p = prompts([2, 4, 1, 3, 5, 2, 1, 4], config.vocab, 2);
  for (const extra of [{}, { topK: 3 }, { topP: 0.8, temperature: 0.7 }]) {
    const o = { maxNewTokens: 10, minNewTokens: 1, eos: EOS, key: KEY, counter: 77, ...extra };
    const [r, want] = [await sampler.generate(p, o), generateCpu(cpu, p, o)];
    let compared = 0;
    for (let b = 0; b < p.B; b++) {
      if (want.margin[b] < 1e-4) continue; // a draw float rounding could flip
      compared++;
      const row = (x: ArrayLike<number>) => Array.from(x).slice(b * r.T, (b + 1) * r.T);
      assert.deepEqual(row(r.tokens!), row(want.tokens), `row ${b} tokens ${JSON.stringify(extra)}`);
      assertClose(row(r.behaviourLogp!), row(want.behaviourLogp), { atol: 2e-5, label: `row ${b} behaviourLogp` });
    }
    console.log(`${JSON.stringify(extra)}: ${compared}/${p.B} rows compared, all equal`);
    assert.ok(compared >= p.B / 2, `only ${compared} rows had a safe margin`);
  }
  sampler.destroy();
});

gpuTest("sampler: the KV-cache decode agrees with a full forward pass over the generated sequences", async (gpu) => {
  for (const config of CONFIGS) {
    const { model } = twinModels(gpu, config, 5);
    const sampler = new Sampler(model, { maxBatch: 4 });
    const p = prompts(LENGTHS, config.vocab, 3);
    const r = await sampler.generate(p, { maxNewTokens: 12, eos: EOS, key: KEY, keepLogits: true, chunk: 5 });
    const { B, T } = r, V = config.vocab;
    const ws = model.workspace(B, T);
    const enc = gpu.encoder();
    model.forward(enc, ws, r.gpu.tokens);
    model.tokenLogprobs(enc, ws, r.gpu.targets);
    const [full, kept, logp] = [enc.read(ws.logits!), enc.read(r.logits!), enc.read(ws.logp)];
    await enc.submit();
    const [f, k] = [await full, await kept];
    const decoded = new Float32Array(B * r.positions * V), forward = new Float32Array(B * r.positions * V);
    for (let pos = 0; pos < r.positions; pos++) {
      for (let b = 0; b < B; b++) {
        decoded.set(k.subarray((pos * B + b) * V, (pos * B + b + 1) * V), (b * r.positions + pos) * V);
        forward.set(f.subarray((b * T + pos) * V, (b * T + pos + 1) * V), (b * r.positions + pos) * V);
      }
    }
    const dl = assertClose(decoded, forward, { atol: 1e-5, rtol: 1e-5, label: `logits d${config.d}` });
    const lp = await logp, m = r.mask!;
    const masked = (x: ArrayLike<number>) => Array.from(x, (v, i) => (m[i] ? v : 0));
    const dp = assertClose(masked(r.logp!), masked(lp), { atol: 1e-5, rtol: 1e-5, label: `logp d${config.d}` });
    console.log(
      `d${config.d}: ${r.positions} positions; max |Δlogits| ${dl.maxAbs.toExponential(2)}, ` +
        `max |Δlogp| ${dp.maxAbs.toExponential(2)} (KV cache vs full forward; ` +
        `logits ${dl.maxAbs === 0 ? "bitwise equal" : "not bitwise equal"})`,
    );
    ws.destroy();
    sampler.destroy();
  }
});

/** Counts of the first response token over `calls` generations of `rows` copies of one prompt. */
async function firstTokenCounts(gpu: Gpu, extra: object, rows = 256, calls = 8) {
  const config = CONFIGS[0];
  const { model, cpu } = twinModels(gpu, config, 6);
  const sampler = new Sampler(model, { maxBatch: rows });
  const prompt = [1, 5, 7];
  const counts = new Float64Array(config.vocab);
  for (let i = 0; i < calls; i++) {
    const o = { maxNewTokens: 1, eos: EOS, key: KEY, counter: i * rows * 4, ...extra };
    const r = await sampler.generate(repeatPrompt(prompt, rows), o);
    for (let b = 0; b < rows; b++) counts[r.tokens![b * r.T + prompt.length]]++;
  }
  sampler.destroy();
  const logits = cpu.forward(prompt, 1, prompt.length).logits!.subarray((prompt.length - 1) * config.vocab);
  const m = Math.max(...logits), e = Array.from(logits, (z) => Math.exp(z - m));
  return { counts, logits, probs: e.map((x) => x / e.reduce((a, b) => a + b, 0)) };
}

gpuTest("sampler: first-token frequencies over 2048 samples match the model's softmax (χ², p ≈ 1e-6)", async (gpu) => {
  const { counts, probs } = await firstTokenCounts(gpu, {});
  const { chi2, df } = chiSquare(counts, probs);
  console.log(`χ² ${chi2.toFixed(2)} on ${df} df (bound ${chiSquareBound(df).toFixed(2)}); counts ${[...counts]}`);
  assert.ok(chi2 < chiSquareBound(df), `χ² ${chi2} over the bound ${chiSquareBound(df)}`);
});

gpuTest("sampler: top-k = 3 emits only the 3 most likely first tokens, at their renormalised rates", async (gpu) => {
  const { counts, logits, probs } = await firstTokenCounts(gpu, { topK: 3 });
  const top = [...probs.keys()].sort((a, b) => logits[b] - logits[a] || a - b).slice(0, 3);
  const mass = top.reduce((s, j) => s + probs[j], 0);
  const kept = probs.map((q, j) => (top.includes(j) ? q / mass : 0));
  const { chi2, df } = chiSquare(counts, kept);
  console.log(`top-3 ${top}: χ² ${chi2.toFixed(2)} on ${df} df; counts ${[...counts]}`);
  assert.ok(chi2 < chiSquareBound(df), `χ² ${chi2} (Infinity: a token outside the top 3 was drawn)`);
});

gpuTest("sampler: top-k = 2 never emits a token outside the top 2 of the logits it sampled from", async (gpu) => {
  const config = CONFIGS[0];
  const { model } = twinModels(gpu, config, 7);
  const sampler = new Sampler(model, { maxBatch: 32 });
  const p = prompts(Array.from({ length: 32 }, (_, i) => 1 + (i % 5)), config.vocab, 4);
  const r = await sampler.generate(p, { maxNewTokens: 16, eos: EOS, key: KEY, topK: 2, keepLogits: true });
  const logits = await r.logits!.read(), V = config.vocab;
  let checked = 0;
  for (let b = 0; b < r.B; b++) {
    for (let t = 0; t < r.T; t++) {
      if (!r.mask![b * r.T + t]) continue;
      const z = logits.subarray((t * r.B + b) * V, (t * r.B + b + 1) * V), id = r.targets![b * r.T + t];
      const better = [...z].filter((x, j) => x > z[id] || (x === z[id] && j < id)).length;
      assert.ok(better < 2, `row ${b} position ${t}: token ${id} has rank ${better}`);
      checked++;
    }
  }
  console.log(`${checked} sampled tokens, all within the top 2`);
  assert.ok(checked > 100);
  sampler.destroy();
});
