import assert from "node:assert/strict";
import { AdamW } from "./adamw.ts";
import { ParamSet, type ParamSpec } from "./params.ts";
import { cosineSchedule } from "./schedule.ts";
import { adamwCpu, clipCoefficientCpu } from "../kernels/adamw.ts";
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "../kernels/testing.ts";

const SPECS: ParamSpec[] = [
  { name: "w1", shape: [7, 9], init: { normal: 0.5 }, decay: true },
  { name: "b1", shape: [9], init: "zeros", decay: false },
  { name: "ln.w", shape: [65], init: "ones", decay: false },
  { name: "w2", shape: [9, 13], init: { normal: 0.5 }, decay: true },
];

/** Random gradients on the real entries, zero on the padding. */
function gradsFor(ps: ParamSet, seed: number, scale: number): Float32Array {
  const g = new Float32Array(ps.total);
  for (const e of ps.entries) g.set(randomArray(seed * 31 + e.offset, e.size, scale), e.offset);
  return g;
}

/** Trains `steps` steps on the GPU (one encoder each) and on the CPU reference; returns both and the GPU norms. */
async function compare(gpu: Gpu, maxGradNorm: number | null, scale: number, steps = 4) {
  const ps = new ParamSet(gpu, SPECS);
  ps.initialize(new Rng(5).split("init"));
  const opt = new AdamW(ps, { maxGradNorm });
  const lr = cosineSchedule({ lr: 0.05, totalSteps: steps, warmupSteps: 1, minLrRatio: 0.1 });
  const cpu = {
    params: ps.initialValues(new Rng(5).split("init")),
    grads: new Float32Array(ps.total),
    decayMask: await ps.decayMask.read(),
    m: new Float32Array(ps.total),
    v: new Float32Array(ps.total),
  };
  const norms: number[] = [], cpuNorms: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const g = gradsFor(ps, t, scale);
    ps.grads.write(g);
    const enc = gpu.encoder("train step");
    opt.step(enc, { lr: lr(t) });
    assert.equal(enc.dispatches, 4, "sum of squares (2 passes), clip coefficient, update: one encoder, no readback");
    const norm = enc.read(opt.gradNorm);
    await enc.submit();
    norms.push((await norm)[0]);
    const { norm: n, coef } = clipCoefficientCpu(g, maxGradNorm);
    cpuNorms.push(n);
    adamwCpu({ ...cpu, grads: g }, coef, { ...opt.config, lr: lr(t), step: t });
  }
  assert.equal(opt.t, steps);
  return { ps, opt, cpu, norms, cpuNorms, gpuParams: await ps.params.read() };
}

gpuTest(
  "AdamW object: steps match the CPU reference with clipping active; norm exposed; padding untouched",
  async (gpu) => {
    const r = await compare(gpu, 1.0, 1.0);
    assert.ok(r.cpuNorms.every((n) => n > 5), `clipping must be active (norms ${r.cpuNorms})`);
    assertClose(r.norms, r.cpuNorms, { atol: 0, rtol: 1e-5, label: "pre-clip grad norm" });
    const d = assertClose(r.gpuParams, r.cpu.params, { atol: 2e-6, rtol: 1e-5, label: "params (clipped)" });
    assertClose(await r.opt.m.read(), r.cpu.m, { atol: 1e-7, rtol: 1e-4, label: "m" });
    console.log(`clipped: max |gpu - cpu| params ${d.maxAbs.toExponential(2)}`);
    for (const [i, e] of r.ps.entries.entries()) {
      const end = i + 1 < r.ps.entries.length ? r.ps.entries[i + 1].offset : r.ps.total;
      assertBitwiseEqual(
        r.gpuParams.subarray(e.offset + e.size, end),
        new Float32Array(end - e.offset - e.size),
        "pad",
      );
    }
  },
);

gpuTest(
  "AdamW object: clipping inactive (small gradients) and disabled (null) match the CPU reference",
  async (gpu) => {
    const small = await compare(gpu, 1.0, 0.01);
    assert.ok(small.cpuNorms.every((n) => n < 1), `clipping must be inactive (norms ${small.cpuNorms})`);
    assertClose(small.gpuParams, small.cpu.params, { atol: 2e-6, rtol: 1e-5, label: "params (unclipped)" });
    const off = await compare(gpu, null, 1.0, 2);
    assertClose(off.gpuParams, off.cpu.params, { atol: 2e-6, rtol: 1e-5, label: "params (no clipping)" });
    assert.deepEqual([...(await off.opt.clipCoef.read())], [1]);
  },
);

gpuTest("AdamW object: two runs are bitwise equal", async (gpu) => {
  const a = await compare(gpu, 1.0, 1.0, 3), b = await compare(gpu, 1.0, 1.0, 3);
  assertBitwiseEqual(a.gpuParams, b.gpuParams, "params");
  assertBitwiseEqual(a.norms, b.norms, "norms");
});

gpuTest("AdamW object: settings are validated and a bad lr records nothing", (gpu) => {
  const ps = new ParamSet(gpu, SPECS);
  assert.throws(() => new AdamW(ps, { beta3: 1 } as never), /Unknown AdamW setting 'beta3'/);
  assert.throws(() => new AdamW(ps, { beta2: 1 }), /AdamW beta2 must be in \[0, 1\), got 1/);
  assert.throws(() => new AdamW(ps, { maxGradNorm: -1 }), /maxGradNorm must be .* got -1/);
  const opt = new AdamW(ps);
  assert.deepEqual(opt.config, { beta1: 0.9, beta2: 0.95, eps: 1e-5, weightDecay: 0.05, maxGradNorm: 1 });
  const enc = gpu.encoder("bad lr");
  assert.throws(() => opt.step(enc, { lr: -1 }), /lr must be a finite number >= 0, got -1/);
  assert.equal(enc.dispatches, 0);
  assert.equal(opt.t, 0);
});
