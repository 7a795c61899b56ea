import assert from "node:assert/strict";
import { Rng } from "../kernels/rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "../kernels/testing.ts";
import type { Gpu } from "../kernels/gpu.ts";
import { Mlp, mlpBackwardCpu, type MlpConfig, mlpCpuParams, mlpForwardCpu, mlpParamSpecs } from "./mlp.ts";
import { ParamSet } from "./params.ts";

/** Random float64 parameters of an MLP (biases nonzero, so their gradients are exercised). */
function randomParams(cfg: MlpConfig, seed: number) {
  const widths = [cfg.inputs, ...cfg.hidden, cfg.outputs];
  const rng = new Rng(seed);
  const w = widths.slice(1).map((o, l) => Float64Array.from(rng.normals(widths[l] * o, 1 / Math.sqrt(widths[l]))));
  const b = widths.slice(1).map((o) => Float64Array.from(rng.normals(o, 0.3)));
  return { w, b };
}

for (const activation of ["relu", "gelu"] as const) {
  Deno.test(`mlp (${activation}): CPU backward matches float64 central differences`, () => {
    const cfg: MlpConfig = { inputs: 5, hidden: [7, 6], outputs: 4, activation };
    const n = 3;
    const p = randomParams(cfg, 1);
    const x = Float64Array.from(randomArray(2, n * cfg.inputs));
    const c = Float64Array.from(randomArray(3, n * cfg.outputs)); // loss = Σ c ⊙ out, so dOut = c
    const loss = () => mlpForwardCpu(cfg, p, x, n).out.reduce((s, v, i) => s + v * c[i], 0);
    const { dw, db, dx } = mlpBackwardCpu(cfg, p, x, n, c);
    const eps = 1e-6;
    let worst = 0;
    const check = (arr: Float64Array, grad: Float64Array, what: string) => {
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i];
        arr[i] = v + eps;
        const up = loss();
        arr[i] = v - eps;
        const down = loss();
        arr[i] = v;
        const fd = (up - down) / (2 * eps);
        worst = Math.max(worst, Math.abs(fd - grad[i]));
        assert.ok(Math.abs(fd - grad[i]) < 1e-6 * (1 + Math.abs(fd)), `${what}[${i}]: fd ${fd} vs ${grad[i]}`);
      }
    };
    p.w.forEach((w, l) => check(w, dw[l], `w${l}`));
    p.b.forEach((b, l) => check(b, db[l], `b${l}`));
    check(x, dx, "x");
    console.log(`  max |fd − analytic| = ${worst.toExponential(2)}`);
  });
}

/** Forward and backward on the GPU from the given float64 parameters; returns outputs, gradients and dx. */
async function gpuRun(
  gpu: Gpu,
  cfg: MlpConfig,
  p: { w: Float64Array[]; b: Float64Array[] },
  x: Float32Array,
  n: number,
  dOut: Float32Array,
  passes = 1,
) {
  const ps = new ParamSet(gpu, mlpParamSpecs(cfg, "m."), "mlp-test");
  const flat = new Float32Array(ps.total);
  p.w.forEach((w, l) => flat.set(w, ps.entry(`m.w${l}`).offset));
  p.b.forEach((b, l) => flat.set(b, ps.entry(`m.b${l}`).offset));
  ps.params.write(flat);
  const mlp = new Mlp(ps, cfg, n + 3, "m.");
  const xt = gpu.fromArray(x, [n, cfg.inputs]), dt = gpu.fromArray(dOut, [n, cfg.outputs]);
  const dx = gpu.tensor([n, cfg.inputs]);
  const enc = gpu.encoder("mlp test");
  enc.zero(ps.grads);
  let out = enc.read(mlp.forward(enc, xt));
  for (let i = 0; i < passes; i++) {
    out = enc.read(mlp.forward(enc, xt));
    mlp.backward(enc, xt, dt, dx);
  }
  const grads = enc.read(ps.grads), dxr = enc.read(dx);
  await enc.submit();
  return { out: await out, grads: mlpCpuParams(ps, await grads, cfg, "m."), dx: await dxr };
}

gpuTest("mlp: GPU forward and backward equal the CPU reference on awkward shapes", async (gpu) => {
  const shapes: [number, number[], number, number][] = [
    [1, [1], 1, 1],
    [7, [65], 9, 7],
    [8, [63, 33], 8, 129],
    [65, [129], 7, 63],
    [3, [], 5, 2],
  ];
  for (const activation of ["relu", "gelu"] as const) {
    for (const [inputs, hidden, outputs, n] of shapes) {
      const cfg: MlpConfig = { inputs, hidden, outputs, activation };
      const label = `${activation} ${inputs}-[${hidden}]-${outputs} N=${n}`;
      const p = randomParams(cfg, inputs + n);
      const x = randomArray(n, n * inputs), dOut = randomArray(n + 1, n * outputs);
      const got = await gpuRun(gpu, cfg, p, x, n, dOut);
      const want = mlpBackwardCpu(cfg, p, x, n, dOut);
      const tol = { atol: 1e-4, rtol: 1e-4 };
      assertClose(got.out, mlpForwardCpu(cfg, p, x, n).out, { ...tol, label: `${label} out` });
      got.grads.w.forEach((g, l) => assertClose(g, want.dw[l], { ...tol, label: `${label} dw${l}` }));
      got.grads.b.forEach((g, l) => assertClose(g, want.db[l], { ...tol, label: `${label} db${l}` }));
      assertClose(got.dx, want.dx, { ...tol, label: `${label} dx` });
    }
  }
});

gpuTest("mlp: backward accumulates into the gradients and is bitwise reproducible", async (gpu) => {
  const cfg: MlpConfig = { inputs: 8, hidden: [32, 32], outputs: 8, activation: "gelu" };
  const p = randomParams(cfg, 9);
  const x = randomArray(4, 40 * 8), dOut = randomArray(5, 40 * 8);
  const once = await gpuRun(gpu, cfg, p, x, 40, dOut);
  const again = await gpuRun(gpu, cfg, p, x, 40, dOut);
  const twice = await gpuRun(gpu, cfg, p, x, 40, dOut, 2);
  once.grads.w.forEach((g, l) => {
    assertBitwiseEqual(g, again.grads.w[l], `w${l} run to run`);
    assertBitwiseEqual(Float32Array.from(g, (v) => 2 * v), twice.grads.w[l], `w${l} accumulated twice`);
  });
  once.grads.b.forEach((g, l) => assertBitwiseEqual(Float32Array.from(g, (v) => 2 * v), twice.grads.b[l], `b${l}`));
});

gpuTest("mlp: initialisation and bad shapes", (gpu) => {
  const cfg: MlpConfig = { inputs: 8, hidden: [16], outputs: 8, activation: "relu", outputInitStd: 0.01 };
  const specs = mlpParamSpecs(cfg, "pi.");
  assert.deepEqual(specs.map((s) => [s.name, s.shape]), [["pi.w0", [8, 16]], ["pi.b0", [16]], ["pi.w1", [16, 8]], [
    "pi.b1",
    [8],
  ]]);
  assert.deepEqual(specs.map((s) => s.init), [{ normal: 0.5 }, "zeros", { normal: 0.01 }, "zeros"]);
  const ps = new ParamSet(gpu, specs);
  const mlp = new Mlp(ps, cfg, 4, "pi.");
  const enc = gpu.encoder("bad");
  assert.throws(() => mlp.forward(enc, gpu.tensor([4, 7])), /input x .* must be \[N, 8\], got \[4,7\]/);
  assert.throws(() => mlp.forward(enc, gpu.tensor([5, 8])), /5 rows; .* 1 to 4/);
  assert.throws(() => mlp.backward(enc, gpu.tensor([4, 8]), gpu.tensor([3, 8])), /dOut has 3 rows but x has 4/);
  assert.throws(
    () => new Mlp(ps, { ...cfg, hidden: [17] }, 4, "pi."),
    /'pi.w0' is \[8,16\], the config needs \[8, 17\]/,
  );
  assert.throws(() => mlpParamSpecs({ ...cfg, hidden: [0] }), /hidden\[0\] must be an integer >= 1/);
  assert.throws(() => mlpParamSpecs({ ...cfg, activation: "tanh" as "relu" }), /activation/);
});
