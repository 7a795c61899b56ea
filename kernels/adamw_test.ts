import assert from "node:assert/strict";
import {
  ADAMW_DEFAULTS,
  adamwCpu,
  type AdamWHyper,
  type AdamWState,
  adamwUpdate,
  clipCoefficient,
  clipCoefficientCpu,
} from "./adamw.ts";
import type { Gpu } from "./gpu.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

const HP = { beta1: 0.9, beta2: 0.95, eps: 1e-5, weightDecay: 0.05 };

/** A random CPU state of n elements: about half of the entries decay. */
function randomState(seed: number, n: number): AdamWState {
  const rng = new Rng(seed);
  const maskRng = rng.split("mask");
  return {
    params: randomArray(rng.split("p"), n, 1),
    grads: randomArray(rng.split("g"), n, 0.1),
    decayMask: Float32Array.from({ length: n }, () => (maskRng.uniform() < 0.5 ? 1 : 0)),
    m: new Float32Array(n),
    v: new Float32Array(n),
  };
}

/** Runs `steps` AdamW updates on the GPU (one encoder per step; grads rewritten each step) and returns the state. */
async function gpuSteps(
  gpu: Gpu,
  s0: AdamWState,
  grads: Float32Array[],
  coef: number,
  lr: (t: number) => number,
): Promise<AdamWState> {
  const f32 = (a: ArrayLike<number>) => gpu.fromArray(a, [a.length], "f32");
  const t = {
    params: f32(s0.params),
    grads: f32(s0.grads),
    decayMask: f32(s0.decayMask),
    m: f32(s0.m),
    v: f32(s0.v),
    coef: f32([coef]),
  };
  for (let step = 1; step <= grads.length; step++) {
    t.grads.write(grads[step - 1]);
    const enc = gpu.encoder("adamw test");
    adamwUpdate(enc, t, { ...HP, lr: lr(step), step });
    await enc.submit();
  }
  const [params, m, v] = await Promise.all([t.params.read(), t.m.read(), t.v.read()]);
  return { params, grads: s0.grads, decayMask: s0.decayMask, m, v };
}

function cpuSteps(s0: AdamWState, grads: Float32Array[], coef: number, lr: (t: number) => number): AdamWState {
  const s = { ...s0, params: s0.params.slice(), m: s0.m.slice(), v: s0.v.slice() };
  grads.forEach((g, k) => adamwCpu({ ...s, grads: g }, coef, { ...HP, lr: lr(k + 1), step: k + 1 }));
  return s;
}

gpuTest("adamw: several steps match the CPU reference on awkward sizes, clipped and unclipped", async (gpu) => {
  for (const n of [1, 7, 63, 65, 129, 1000, 1024]) { // multiples of 4 take the vec4 kernel
    for (const coef of [1, 0.37]) {
      const s0 = randomState(n, n);
      const grads = [1, 2, 3, 4, 5].map((k) => randomArray(n * 10 + k, n, 0.1 * k));
      const lr = (t: number) => 1e-2 / t;
      const got = await gpuSteps(gpu, s0, grads, coef, lr);
      const want = cpuSteps(s0, grads, coef, lr);
      const label = `n=${n} coef=${coef}`;
      assertClose(got.m, want.m, { atol: 1e-7, rtol: 1e-5, label: `${label} m` });
      assertClose(got.v, want.v, { atol: 1e-9, rtol: 1e-5, label: `${label} v` });
      const r = assertClose(got.params, want.params, { atol: 1e-6, rtol: 1e-5, label: `${label} params` });
      if (n === 1000) console.log(`adamw ${label}: max |gpu - cpu| params ${r.maxAbs.toExponential(2)}`);
    }
  }
});

gpuTest("adamw: decay mask respected, zero padding untouched", async (gpu) => {
  // Zero gradients and zero moments: the adaptive term is 0/(0 + eps) = 0, so only the decay moves θ.
  const n = 130;
  const params = randomArray(4, n, 1);
  const mask = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  for (let i = 120; i < n; i++) [params[i], mask[i]] = [0, 0]; // padding: zero value, grad, mask
  const s0 = { params, grads: new Float32Array(n), decayMask: mask, m: new Float32Array(n), v: new Float32Array(n) };
  const got = await gpuSteps(gpu, s0, [new Float32Array(n), new Float32Array(n)], 1, () => 0.1);
  for (let i = 0; i < n; i++) {
    if (mask[i] === 0) assert.equal(got.params[i], params[i], `element ${i} (no decay) moved`);
    else assertClose([got.params[i]], [params[i] * (1 - 0.1 * 0.05) ** 2], { atol: 1e-7, label: `decayed ${i}` });
  }
  assertBitwiseEqual(got.params.subarray(120), new Float32Array(10), "padding");
  assertBitwiseEqual(got.m, new Float32Array(n), "m stays zero");
});

gpuTest("adamw: clip coefficient on the GPU, active, inactive and disabled", async (gpu) => {
  const grads = randomArray(9, 777, 0.2);
  let ss = 0;
  for (const g of grads) ss += g * g;
  const sumSq = gpu.fromArray([ss]), norm = gpu.tensor([1]), coef = gpu.tensor([1]);
  const trueNorm = Math.sqrt(ss); // about 3.2
  for (const maxNorm of [1.0, 100, null]) {
    const enc = gpu.encoder("clip test");
    clipCoefficient(enc, sumSq, norm, coef, maxNorm);
    const [rn, rc] = [enc.read(norm), enc.read(coef)];
    await enc.submit();
    const want = clipCoefficientCpu(grads, maxNorm);
    assertClose(await rn, [want.norm], { atol: 0, rtol: 1e-6, label: `norm (max ${maxNorm})` });
    assertClose(await rc, [want.coef], { atol: 0, rtol: 1e-6, label: `coef (max ${maxNorm})` });
    if (maxNorm === 1) assertClose([want.coef], [1 / (trueNorm + 1e-6)], { rtol: 1e-6, label: "active coef" });
    else assert.equal(want.coef, 1);
  }
  // A zero gradient: coef 1, not NaN.
  const enc = gpu.encoder("clip zero");
  sumSq.write([0]);
  clipCoefficient(enc, sumSq, norm, coef, 1);
  const rc = enc.read(coef);
  await enc.submit();
  assert.deepEqual([...(await rc)], [1]);
});

gpuTest("adamw: two runs are bitwise equal; the vec4 and scalar variants agree bitwise", async (gpu) => {
  const s0 = randomState(77, 4097);
  const grads = [1, 2, 3].map((k) => randomArray(500 + k, 4097, 0.3));
  const a = await gpuSteps(gpu, s0, grads, 0.5, () => 3e-3); // 4097 elements: scalar kernel
  const b = await gpuSteps(gpu, s0, grads, 0.5, () => 3e-3);
  assertBitwiseEqual(a.params, b.params, "params");
  assertBitwiseEqual(a.v, b.v, "v");
  // The first 4096 elements alone take the vec4 kernel; the update is elementwise, so they must match exactly.
  const cut = (x: Float32Array) => x.subarray(0, 4096);
  const s4 = { params: cut(s0.params), grads: cut(s0.grads), decayMask: cut(s0.decayMask), m: cut(s0.m), v: cut(s0.v) };
  const c = await gpuSteps(gpu, s4, grads.map(cut), 0.5, () => 3e-3);
  assertBitwiseEqual(c.params, cut(a.params), "vec4 vs scalar params");
  assertBitwiseEqual(c.m, cut(a.m), "vec4 vs scalar m");
});

gpuTest("adamw: bad operands and hyper-parameters throw clear errors", (gpu) => {
  const t = (n: number) => gpu.tensor([n]);
  const b = { params: t(8), grads: t(8), decayMask: t(8), m: t(8), v: t(8), coef: t(1) };
  const enc = gpu.encoder("bad");
  const hp: AdamWHyper = { ...HP, lr: 1e-3, step: 1 };
  assert.throws(() => adamwUpdate(enc, { ...b, m: t(7) }, hp), /m \('tensor' \[7\]\) has 7 elements; expected 8/);
  assert.throws(() => adamwUpdate(enc, { ...b, v: b.m }, hp), /v \('tensor'\) and m share a buffer/);
  assert.throws(() => adamwUpdate(enc, b, { ...hp, step: 0 }), /step must be an integer >= 1, got 0/);
  assert.throws(() => adamwUpdate(enc, b, { ...hp, beta2: 1 }), RangeError);
  assert.throws(() => adamwUpdate(enc, b, { ...hp, lr: NaN }), /lr must be a finite number >= 0, got NaN/);
  assert.throws(() => clipCoefficient(enc, t(1), t(1), t(1), 0), /maxGradNorm must be .* got 0/);
  assert.throws(() => clipCoefficient(enc, t(2), t(1), t(1), 1), /sumSq \('tensor'\) must be one f32, got \[2\]/);
});

Deno.test("adamw: CPU reference agrees with a float64 textbook AdamW (PyTorch's formulation)", () => {
  const n = 50;
  const s = randomState(3, n);
  const p64 = Float64Array.from(s.params), m64 = new Float64Array(n), v64 = new Float64Array(n);
  const { beta1: b1, beta2: b2, eps, weightDecay: wd } = ADAMW_DEFAULTS;
  for (let t = 1; t <= 6; t++) {
    const g = randomArray(100 + t, n, 0.5);
    const lr = 1e-3 * t;
    adamwCpu({ ...s, grads: g }, 0.8, { beta1: b1, beta2: b2, eps, weightDecay: wd, lr, step: t });
    for (let i = 0; i < n; i++) {
      // torch.optim.AdamW: θ ← θ(1 − lr·wd); then the bias-corrected Adam step.
      const gi = g[i] * 0.8;
      p64[i] *= 1 - lr * wd * s.decayMask[i];
      m64[i] = b1 * m64[i] + (1 - b1) * gi;
      v64[i] = b2 * v64[i] + (1 - b2) * gi * gi;
      p64[i] -= (lr / (1 - b1 ** t)) * m64[i] / (Math.sqrt(v64[i] / (1 - b2 ** t)) + eps);
    }
  }
  const r = assertClose(s.params, p64, { atol: 1e-6, rtol: 1e-5, label: "f32 reference vs f64 AdamW" });
  assert.ok(r.maxAbs > 0, "the f32 reference should differ from f64 by rounding at least once");
});
