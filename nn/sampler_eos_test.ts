import assert from "node:assert/strict";
import { assertBitwiseEqual, gpuTest } from "../kernels/testing.ts";
import type { GptConfig } from "./gpt_config.ts";
import type { ParamMap } from "./gpt_cpu.ts";
import { Sampler } from "./sampler.ts";
import { generateCpu } from "./sampler_cpu.ts";
import { prompts, twinModels } from "./sampler_testing.ts";

const EOS = 2, PAD = 0;
const KEY: [number, number] = [0xdecade, 0xfeed];
const CONFIG: GptConfig = { vocab: 11, ctx: 24, d: 16, layers: 2, heads: 2, lmHead: true, scalarHead: false };
const LENGTHS = [1, 3, 5, 2, 4];

/** Adds α·wte[EOS] to the final LayerNorm's bias, so EOS outscores every other token at every position. */
const eosBias = (p: ParamMap) => {
  const wte = p.get("wte")!, b = p.get("lnf.b")!;
  for (let j = 0; j < CONFIG.d; j++) b[j] = Math.fround(40 * wte[EOS * CONFIG.d + j]);
};

gpuTest("sampler: EOS is forbidden before min new tokens, ends a response, and PAD follows", async (gpu) => {
  const { model, cpu } = twinModels(gpu, CONFIG, 8, eosBias);
  const sampler = new Sampler(model, { maxBatch: 8 });
  const p = prompts(LENGTHS, CONFIG.vocab, 5);
  // Prompt lengths differ, so some steps forbid EOS in some rows only (the per-row mask).
  const o = { maxNewTokens: 6, minNewTokens: 3, eos: EOS, key: KEY, chunk: 4 };
  const r = await sampler.generate(p, o);
  const T = r.T;
  for (let b = 0; b < p.B; b++) {
    const pl = LENGTHS[b], row = [...r.tokens!.subarray(b * T, (b + 1) * T)];
    assert.deepEqual(row.slice(pl, pl + 3).filter((x) => x === EOS), [], `row ${b}: EOS among the first 3 tokens`);
    assert.equal(row[pl + 3], EOS, `row ${b}: EOS should follow the 3 forced tokens: ${row}`);
    assert.deepEqual(row.slice(pl + 4), new Array(T - pl - 4).fill(PAD), `row ${b}: PAD after EOS`);
    const mask = [...r.mask!.subarray(b * T, (b + 1) * T)];
    assert.deepEqual(mask, row.map((_, t) => (t >= pl - 1 && t < pl + 3 ? 1 : 0)), `row ${b} mask`);
    assert.deepEqual([r.responseLen![b], r.lastIndex![b], r.terminated![b]], [4, pl + 3, 1], `row ${b}`);
    assert.deepEqual([...r.targets!.subarray(b * T, (b + 1) * T)], [...row.slice(1), PAD], `row ${b} targets`);
  }
  // Every row finished at position max(pl) + 3 = 8 < T − 1 = 10: the second chunk of 4 steps reads that back.
  assert.ok(r.positions < T - 1, `expected an early exit, decoded ${r.positions} of ${T - 1} positions`);
  const want = generateCpu(cpu, p, o);
  assert.deepEqual([...r.tokens!], [...want.tokens], "CPU reference tokens");
  sampler.destroy();
});

gpuTest("sampler: min = max new tokens (or EOS forbidden) truncates every response; maxLen truncates", async (gpu) => {
  const { model } = twinModels(gpu, CONFIG, 8, eosBias);
  const sampler = new Sampler(model, { maxBatch: 8, maxLen: 8 });
  const p = prompts(LENGTHS, CONFIG.vocab, 5);
  for (const o of [{ minNewTokens: 6 }, { forbid: [EOS, PAD] }]) {
    const r = await sampler.generate(p, { maxNewTokens: 6, eos: EOS, key: KEY, ...o });
    assert.equal(r.T, 8); // min(maxLen 8, P 5 + 6)
    const lens = LENGTHS.map((pl) => Math.min(6, 8 - pl)); // the row with a prompt of 5 hits maxLen after 3
    assert.deepEqual([...r.responseLen!], lens, JSON.stringify(o));
    assert.deepEqual([...r.terminated!], LENGTHS.map(() => 0), "no response terminates");
    const sampled = [...r.targets!].filter((_, i) => r.mask![i] === 1);
    assert.equal(sampled.length, lens.reduce((a, b) => a + b, 0));
    assert.ok(!sampled.includes(EOS), "EOS was sampled");
    if ("forbid" in o) assert.ok(!sampled.includes(PAD), "a forbidden PAD was sampled");
  }
  sampler.destroy();
});

gpuTest("sampler: the same key twice gives bitwise identical samples; chunking changes nothing", async (gpu) => {
  const { model } = twinModels(gpu, CONFIG, 9);
  const sampler = new Sampler(model, { maxBatch: 8 });
  const p = prompts(LENGTHS, CONFIG.vocab, 6);
  const o = { maxNewTokens: 12, minNewTokens: 1, eos: EOS, key: KEY, topP: 0.9, counter: 5 };
  const a = await sampler.generate(p, o);
  for (const extra of [{}, { chunk: 1 }, { chunk: 3 }, { chunk: 100 }]) {
    const b = await sampler.generate(p, { ...o, ...extra });
    const label = JSON.stringify(extra);
    assert.deepEqual([...b.tokens!], [...a.tokens!], `tokens ${label}`);
    assertBitwiseEqual(b.logp!, a.logp!, `logp ${label}`);
    assertBitwiseEqual(b.behaviourLogp!, a.behaviourLogp!, `behaviourLogp ${label}`);
    assertBitwiseEqual(b.mask!, a.mask!, `mask ${label}`);
    console.log(`${label}: ${b.submits} submits, ${b.positions} positions`);
  }
  const c = await sampler.generate(p, { ...o, counter: 5 + 10000 });
  assert.notDeepEqual([...c.tokens!], [...a.tokens!], "another counter should give other samples");
  sampler.destroy();
});

gpuTest("sampler: bad prompts and options are errors naming the field, raised before any GPU work", async (gpu) => {
  const { model } = twinModels(gpu, CONFIG, 1);
  const sampler = new Sampler(model, { maxBatch: 4, maxLen: 10 });
  const p = prompts([2, 3], CONFIG.vocab, 1);
  const o = { maxNewTokens: 4, eos: EOS, key: KEY };
  const bad: [object, object, RegExp][] = [
    [{ lengths: [0, 3] }, {}, /prompts.lengths\[0\] must be in \[1, 3\]/],
    [{ B: 5 }, {}, /prompts.B must be in \[1, maxBatch=4\]/],
    [{ T: 10, tokens: new Uint32Array(20) }, {}, /prompts of width 10 leave no room/],
    [{ tokens: Uint32Array.from([1, 99, 0, 1, 4, 5]) }, {}, /prompt 0 token 1 is 99/],
    [{}, { minNewTokens: 5 }, /minNewTokens must be an integer in \[0, maxNewTokens=4\]/],
    [{}, { maxNewTokens: 0 }, /maxNewTokens must be an integer >= 1/],
    [{}, { eos: 11 }, /eos must be a token id in \[0, 11\)/],
    [{}, { forbid: [0, 1, 3, 4, 5, 6, 7, 8, 9, 10] }, /forbid leaves no token/],
    [{}, { topP: 0 }, /topP must be in \(0, 1\]/],
    [{}, { key: [1, -1] }, /key must be an Rng or \[k0, k1\]/],
    [{}, { counter: 2 ** 32 - 3 }, /counter must be/],
  ];
  for (const [pp, oo, re] of bad) {
    await assert.rejects(() => sampler.generate({ ...p, ...pp }, { ...o, ...oo }), re);
  }
  assert.throws(() => new Sampler(model, { maxBatch: 2, maxLen: 25 }), /maxLen must be an integer in \[2, ctx=24\]/);
  const running = sampler.generate(p, o);
  await assert.rejects(() => sampler.generate(p, o), /a generation is already running/);
  await running;
  await sampler.generate(p, o); // free again afterwards
  sampler.destroy();
});
