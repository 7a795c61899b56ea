import { matmul, matmulCpu, type MatmulOptions, matmulShape } from "./matmul.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";
import type { Gpu } from "./gpu.ts";

async function check(gpu: Gpu, batch: number, m: number, n: number, k: number, o: MatmulOptions, bcastB = false) {
  const aShape = o.transA ? [k, m] : [m, k];
  const bShape = o.transB ? [n, k] : [k, n];
  const A = randomArray(m * 1000 + n, batch * m * k);
  const B = randomArray(k * 7 + 3, (bcastB ? 1 : batch) * n * k);
  const O = randomArray(99, batch * m * n);
  const bias = randomArray(5, n);
  const a = gpu.fromArray(A, batch > 1 ? [batch, ...aShape] : aShape);
  const b = gpu.fromArray(B, batch > 1 && !bcastB ? [batch, ...bShape] : bShape);
  const out = gpu.fromArray(O, batch > 1 ? [batch, m, n] : [m, n]);
  const biasT = gpu.fromArray(bias);
  const opts = { ...o, bias: o.bias ? biasT : undefined };
  const enc = gpu.encoder();
  matmul(enc, a, b, out, opts);
  const got = enc.read(out);
  await enc.submit();
  const want = matmulCpu(A, B, O, matmulShape(a, b, out, opts), { ...opts, biasData: o.bias ? bias : undefined });
  assertClose(await got, want, {
    atol: 1e-4,
    rtol: 1e-4,
    label: `matmul ${batch}x${m}x${n}x${k} ${JSON.stringify(o)}`,
  });
}

gpuTest("matmul: three forms on awkward shapes", async (gpu) => {
  for (const [m, n, k] of [[1, 1, 1], [7, 63, 65], [65, 7, 129], [129, 65, 7], [63, 64, 65]]) {
    await check(gpu, 1, m, n, k, {});
    await check(gpu, 1, m, n, k, { transA: true });
    await check(gpu, 1, m, n, k, { transB: true });
  }
});

gpuTest("matmul: batched, broadcast weights, bias, activation, alpha/beta", async (gpu) => {
  await check(gpu, 3, 7, 65, 63, {});
  await check(gpu, 3, 7, 65, 63, { transB: true }, true);
  await check(gpu, 2, 33, 17, 9, { bias: {} as never, activation: "gelu" });
  await check(gpu, 2, 33, 17, 9, { bias: {} as never, activation: "relu", alpha: 0.5, beta: 1 });
});

gpuTest("matmul: two runs give bitwise equal results", async (gpu) => {
  const a = gpu.fromArray(randomArray(1, 65 * 129), [65, 129]);
  const b = gpu.fromArray(randomArray(2, 129 * 63), [129, 63]);
  const outs = [gpu.tensor([65, 63]), gpu.tensor([65, 63])];
  const enc = gpu.encoder();
  for (const o of outs) matmul(enc, a, b, o);
  const r = outs.map((o) => enc.read(o));
  await enc.submit();
  assertBitwiseEqual(await r[0], await r[1]);
});
