/**
 * The GPU model against the float64 CPU reference: forward outputs of both heads, every parameter gradient, the
 * adapters the algorithms use, an f32 finite-difference spot check on the GPU, bitwise reproducibility, and errors.
 */
import assert from "node:assert/strict";
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "../kernels/testing.ts";
import { responseMask } from "../kernels/loss_testing.ts";
import { Gpt } from "./gpt.ts";
import { type GptConfig, gptPreset } from "./gpt_config.ts";
import { GptCpu, type ParamMap } from "./gpt_cpu.ts";
import { flatten, randomParams, roundToF32 } from "./gpt_testing.ts";
import { gptWorkspaceBytes } from "./gpt_workspace.ts";

const TINY: GptConfig = { vocab: 13, ctx: 10, d: 16, layers: 2, heads: 4, lmHead: true, scalarHead: true };

function setup(gpu: Gpu, config: GptConfig, b: number, t: number, seed: number) {
  const model = new Gpt(gpu, config);
  const p = roundToF32(randomParams(config, seed));
  model.params.params.write(flatten(model.params.entries, model.params.total, p));
  const rng = new Rng(seed + 1);
  const toks = Uint32Array.from({ length: b * t }, () => rng.int(config.vocab));
  const tgts = Uint32Array.from({ length: b * t }, () => rng.int(config.vocab));
  const tokens = gpu.fromArray(toks, [b, t]), targets = gpu.fromArray(tgts, [b, t]);
  return { model, p, toks, tgts, tokens, targets, ws: model.workspace(b, t), cpu: new GptCpu(config, p) };
}

/** Compares every parameter's gradient; returns the worst tensor and its max abs diff (relative to its scale). */
function compareGrads(got: Float32Array, model: Gpt, want: ParamMap, tol: number): string {
  let worst = { name: "", diff: 0, rel: 0 };
  for (const e of model.params.entries) {
    const w = want.get(e.name)!, g = got.subarray(e.offset, e.offset + e.size);
    const scale = Math.max(1e-3, ...Array.from(w, Math.abs));
    let diff = 0;
    for (let i = 0; i < e.size; i++) diff = Math.max(diff, Math.abs(g[i] - w[i]));
    if (!(diff / scale <= worst.rel)) worst = { name: e.name, diff, rel: diff / scale };
  }
  const msg = `worst tensor ${worst.name}: max diff ${worst.diff.toExponential(2)} (${
    worst.rel.toExponential(2)
  } of its max)`;
  assert.ok(worst.rel <= tol, msg);
  return msg;
}

gpuTest("gpt: forward (logits, logp, entropy, values) and every gradient match the float64 CPU model", async (gpu) => {
  for (const [b, t] of [[2, 7], [3, 10], [1, 1]]) {
    const { model, toks, tgts, tokens, targets, ws, cpu } = setup(gpu, TINY, b, t, 100 + t);
    const DL = randomArray(3, b * t), DV = randomArray(4, b * t);
    const G0 = randomArray(5, model.params.total, 0.1); // backward accumulates onto what is there
    model.params.grads.write(G0);
    const enc = gpu.encoder();
    model.forward(enc, ws, tokens);
    model.tokenLogprobs(enc, ws, targets);
    model.backward(enc, ws, { dlogp: gpu.fromArray(DL, [b, t]), dvalues: gpu.fromArray(DV, [b, t]) });
    const r = [ws.logits!, ws.logp, ws.entropy, ws.values!, model.params.grads].map((x) => enc.read(x));
    await enc.submit();
    const cache = cpu.forward(toks, b, t), lp = cpu.tokenLogprobs(cache, tgts);
    const label = `B${b} T${t}`;
    const rl = assertClose(await r[0], cache.logits!, { atol: 1e-4, rtol: 1e-4, label: `logits ${label}` });
    assertClose(await r[1], lp.logp, { atol: 1e-4, rtol: 1e-4, label: `logp ${label}` });
    assertClose(await r[2], lp.entropy, { atol: 1e-4, rtol: 1e-4, label: `entropy ${label}` });
    assertClose(await r[3], cache.values!, { atol: 1e-4, rtol: 1e-4, label: `values ${label}` });
    const want = cpu.backward(cache, { dlogp: DL, dvalues: DV, targets: tgts });
    for (const e of model.params.entries) {
      const w = want.get(e.name)!;
      for (let i = 0; i < e.size; i++) w[i] += G0[e.offset + i];
    }
    console.log(
      `${label}: logits max diff ${rl.maxAbs.toExponential(2)}; ${compareGrads(await r[4], model, want, 1e-4)}`,
    );
  }
});

gpuTest("gpt: LM-only and scalar-only models, and the xs preset, match the CPU model", async (gpu) => {
  const cases: [GptConfig, number, number][] = [
    [{ ...TINY, scalarHead: false }, 2, 9],
    [{ ...TINY, lmHead: false, heads: 1 }, 2, 5],
    [gptPreset("xs", { vocab: 29 }), 2, 17],
  ];
  for (const [config, b, t] of cases) {
    const { model, toks, tgts, tokens, targets, ws, cpu } = setup(gpu, config, b, t, 7);
    const D = randomArray(8, b * t);
    const enc = gpu.encoder();
    enc.zero(model.params.grads);
    model.forward(enc, ws, tokens);
    if (config.lmHead) model.tokenLogprobs(enc, ws, targets);
    const d = gpu.fromArray(D, [b, t]);
    model.backward(enc, ws, config.lmHead ? { dlogp: d } : { dvalues: d });
    const r = enc.read(model.params.grads);
    await enc.submit();
    const cache = cpu.forward(toks, b, t);
    const want = cpu.backward(cache, config.lmHead ? { dlogp: D, targets: tgts } : { dvalues: D });
    console.log(`${JSON.stringify(config)}: ${compareGrads(await r, model, want, 2e-4)}`);
  }
});

gpuTest("gpt: adapters (cross-entropy, sequence log-probs, last-token score) and their backward", async (gpu) => {
  const b = 3, t = 8;
  const { model, toks, tgts, tokens, targets, ws, cpu } = setup(gpu, TINY, b, t, 21);
  const { mask: M } = responseMask(4, b, t);
  const mask = gpu.fromArray(M, [b, t]);
  const last = new Uint32Array([7, 3, 5]), DSEQ = randomArray(9, b), DSC = randomArray(10, b);
  const enc = gpu.encoder();
  enc.zero(model.params.grads);
  model.forward(enc, ws, tokens);
  const loss = model.crossEntropy(enc, ws, targets, mask);
  const seq = model.sequenceLogprobs(enc, ws, mask);
  const score = model.lastTokenScore(enc, ws, gpu.fromArray(last));
  const rl = [loss, seq, score].map((x) => enc.read(x));
  // d(loss + Σ dseq·seq + Σ dscore·score): the CE gradient plus the sequence-logprob gradient, and the score's.
  model.sequenceLogprobsBackward(enc, ws, gpu.fromArray(DSEQ), mask, { accumulate: true });
  model.lastTokenScoreBackward(enc, ws, gpu.fromArray(DSC), gpu.fromArray(last));
  model.backward(enc, ws, { dlogp: ws.dlogp, dvalues: ws.dvalues! });
  const rg = enc.read(model.params.grads);
  await enc.submit();
  const cache = cpu.forward(toks, b, t), { logp } = cpu.tokenLogprobs(cache, tgts);
  const count = M.reduce((s, m) => s + m, 0);
  const wantSeq = Array.from(
    { length: b },
    (_, i) => M.slice(i * t, i * t + t).reduce((s, m, j) => s + m * logp[i * t + j], 0),
  );
  assertClose(await rl[0], [-wantSeq.reduce((s, v) => s + v, 0) / count], { atol: 1e-5, label: "cross-entropy" });
  assertClose(await rl[1], wantSeq, { atol: 1e-4, label: "sequence log-probs" });
  assertClose(await rl[2], Array.from(last, (j, i) => cache.values![i * t + j]), { atol: 1e-5, label: "score" });
  const dlogp = Float64Array.from(M, (m, i) => -m / count + DSEQ[Math.floor(i / t)] * m);
  const dvalues = new Float64Array(b * t);
  last.forEach((j, i) => dvalues[i * t + j] = DSC[i]);
  console.log(
    `adapters: ${compareGrads(await rg, model, cpu.backward(cache, { dlogp, dvalues, targets: tgts }), 1e-4)}`,
  );
});

gpuTest("gpt: GPU gradients agree with f32 finite differences of the GPU forward (spot check)", async (gpu) => {
  const b = 2, t = 6;
  const { model, tokens, targets, ws } = setup(gpu, TINY, b, t, 33);
  const D = randomArray(11, b * t), dlogp = gpu.fromArray(D, [b, t]);
  const base = await model.params.params.read();
  const enc = gpu.encoder();
  enc.zero(model.params.grads);
  model.forward(enc, ws, tokens);
  model.tokenLogprobs(enc, ws, targets);
  model.backward(enc, ws, { dlogp });
  const rg = enc.read(model.params.grads);
  await enc.submit();
  const grads = await rg;
  // One parameter per tensor kind, moved by ±h in f32; the objective is Σ D·logp, read back after each forward.
  const names = ["wte", "wpe", "h0.attn.wqkv", "h1.attn.bqkv", "h0.mlp.wfc", "h1.mlp.wproj", "h0.ln1.w", "lnf.b"];
  const h = 1e-2;
  for (const name of names) {
    const e = model.params.entry(name), i = e.offset + ((e.size * 7) >> 4);
    const f: number[] = [];
    for (const s of [h, -h]) {
      const moved = base.slice();
      moved[i] += s;
      model.params.params.write(moved);
      const e2 = gpu.encoder();
      model.forward(e2, ws, tokens);
      model.tokenLogprobs(e2, ws, targets);
      const r = e2.read(ws.logp);
      await e2.submit();
      f.push((await r).reduce((acc, v, k) => acc + v * D[k], 0));
    }
    const fd = (f[0] - f[1]) / (2 * h);
    assert.ok(Math.abs(fd - grads[i]) < 2e-3 + 3e-2 * Math.abs(fd), `${name}: GPU grad ${grads[i]} vs f32 FD ${fd}`);
  }
  model.params.params.write(base);
});

gpuTest("gpt: the same seed twice gives bitwise identical losses and gradients", async (gpu) => {
  const config = gptPreset("xs", { vocab: 31 });
  const runs: Float32Array[][] = [];
  for (let run = 0; run < 2; run++) {
    const model = new Gpt(gpu, config);
    model.params.initialize(new Rng(1234).split("init"));
    const data = new Rng(1234).split("data");
    const b = 2, t = 16;
    const tokens = gpu.fromArray(Uint32Array.from({ length: b * t }, () => data.int(31)), [b, t]);
    const targets = gpu.fromArray(Uint32Array.from({ length: b * t }, () => data.int(31)), [b, t]);
    const ws = model.workspace(b, t);
    const enc = gpu.encoder();
    enc.zero(model.params.grads);
    model.forward(enc, ws, tokens);
    const loss = model.crossEntropy(enc, ws, targets, gpu.fromArray(new Float32Array(b * t).fill(1), [b, t]));
    model.backward(enc, ws, { dlogp: ws.dlogp });
    const r = [enc.read(loss), enc.read(model.params.grads)];
    await enc.submit();
    runs.push(await Promise.all(r));
    ws.destroy();
  }
  assert.ok(Math.abs(runs[0][0][0] - Math.log(31)) < 0.05, `initial loss ${runs[0][0][0]} should be near ln 31`);
  assertBitwiseEqual(runs[0][0], runs[1][0], "loss");
  assertBitwiseEqual(runs[0][1], runs[1][1], "gradients");
});

gpuTest("gpt: a forward-only workspace gives bitwise the same logits, log-probs and values", async (gpu) => {
  const b = 2, t = 9;
  const { model, tokens, targets, ws } = setup(gpu, TINY, b, t, 61);
  const fwd = model.workspace(b, t, { grad: false });
  const enc = gpu.encoder();
  const reads = [ws, fwd].map((w) => {
    model.forward(enc, w, tokens);
    model.tokenLogprobs(enc, w, targets);
    return [w.logits!, w.logp, w.values!].map((x) => enc.read(x));
  });
  await enc.submit();
  for (let i = 0; i < 3; i++) assertBitwiseEqual(await reads[0][i], await reads[1][i], ["logits", "logp", "values"][i]);
  assert.ok(fwd.bytes < ws.bytes);
});

gpuTest("gpt: matmulShapes lists exactly the matmul problems a training step records", (gpu) => {
  const config = { ...TINY, vocab: 17 }, b = 3, t = 5;
  const model = new Gpt(gpu, config), ws = model.workspace(b, t);
  const enc = gpu.encoder();
  const seen = new Set<string>();
  // Watch the encoder's dispatches: every matmul variant takes m, n, k, transA, transB (and the batch stride).
  const dispatch = enc.dispatch.bind(enc);
  enc.dispatch = (k, bufs, params, grid) => {
    if (k.name.startsWith("matmul") && params) {
      const { m, n, k: kk, transA, transB } = params;
      seen.add(JSON.stringify([m, n, kk, !!transA, !!transB]));
    }
    dispatch(k, bufs, params, grid);
  };
  model.forward(enc, ws, gpu.tensor([b, t], "u32"));
  model.tokenLogprobs(enc, ws, gpu.tensor([b, t], "u32"));
  model.backward(enc, ws, { dlogp: gpu.tensor([b, t]), dvalues: gpu.tensor([b, t]) });
  const listed = new Set(model.matmulShapes(b, t).map((p) => JSON.stringify([p.m, p.n, p.k, !!p.transA, !!p.transB])));
  assert.deepEqual([...seen].sort(), [...listed].sort());
  assert.equal(listed.size, model.matmulShapes(b, t).length, "no duplicates");
});

gpuTest("gpt: bad configs, shapes and heads throw clear errors; workspace memory is as documented", (gpu) => {
  assert.throws(
    () => new Gpt(gpu, { ...TINY, heads: 3 }),
    /GptConfig.d \(16\) must be a multiple of GptConfig.heads \(3\)/,
  );
  assert.throws(() => new Gpt(gpu, { ...TINY, vocab: 0 }), /GptConfig.vocab must be a positive integer, got 0/);
  assert.throws(() => gptPreset("xl" as "xs", { vocab: 5 }), /Unknown GPT preset 'xl'/);
  const model = new Gpt(gpu, { ...TINY, scalarHead: false });
  assert.throws(() => model.workspace(2, 11), /T \(11\) is longer than the context \(10\)/);
  const ws = model.workspace(2, 4);
  const enc = gpu.encoder();
  assert.throws(
    () => model.forward(enc, ws, gpu.tensor([2, 5], "u32")),
    /tokens \('tensor'\) must be \[B=2, T=4\], got \[2,5\]/,
  );
  assert.throws(() => model.forward(enc, ws, gpu.tensor([2, 4])), /tokens \('tensor'\) must be u32, got f32/);
  assert.throws(() => model.backward(enc, ws, {}), /give dlogp and\/or dvalues/);
  assert.throws(() => model.backward(enc, ws, { dvalues: gpu.tensor([2, 4]) }), /no scalar head/);
  assert.throws(() => model.lastTokenScore(enc, ws, gpu.tensor([2], "u32")), /no scalar head/);
  assert.throws(() => new Gpt(gpu, TINY).forward(enc, ws, gpu.tensor([2, 4], "u32")), /another model configuration/);
  const xs = gptPreset("xs", { vocab: 256 });
  const [mb, fwd] = [true, false].map((grad) => gptWorkspaceBytes(xs, 16, 64, { grad }) / 1e6);
  console.log(`xs workspace at B 16, T 64, V 256: ${mb.toFixed(1)} MB (forward only ${fwd.toFixed(1)} MB)`);
  assert.ok(mb > 13.5 && mb < 14, `${mb} MB`); // 52·R·C floats, see gpt_workspace.ts
  assert.ok(fwd > 9.9 && fwd < 10.3, `${fwd} MB`); // 38·R·C floats
  const fwdOnly = model.workspace(2, 4, { grad: false });
  assert.equal(fwdOnly.grad, null);
  assert.throws(() => model.backward(enc, fwdOnly, { dlogp: gpu.tensor([2, 4]) }), /made with \{ grad: false \}/);
  assert.equal(ws.bytes, gptWorkspaceBytes(model.config, 2, 4));
});
