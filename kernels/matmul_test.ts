import {
  defaultMatmulVariant,
  matmul,
  matmulCpu,
  type MatmulOptions,
  matmulShape,
  parseMatmulVariantEnv,
  selectMatmulVariant,
} from "./matmul.ts";
import { Tensor } from "./tensor.ts";
import assert from "node:assert/strict";
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

gpuTest("matmul: bad shapes and options throw errors naming the operand and the values", (gpu) => {
  const t = (shape: number[], label: string) => gpu.tensor(shape, "f32", label);
  const enc = gpu.encoder();
  const [a, b, out] = [t([5, 7], "a"), t([8, 3], "b"), t([5, 3], "out")];
  assert.throws(() => matmul(enc, a, b, out), { name: "RangeError", message: /shapes do not agree: A \[5,7\]/ });
  assert.throws(() => matmul(enc, t([2, 5, 7], "a3"), t([3, 7, 3], "b3"), t([2, 5, 3], "o3")), {
    name: "RangeError",
    message: /batch sizes do not agree \(A 2, B 3, out 2/,
  });
  assert.throws(() => matmul(enc, t([2, 5, 7], "a3"), t([7, 3], "w"), t([5, 3], "o2")), {
    name: "RangeError",
    message: /out must be 3-D/,
  });
  assert.throws(() => matmul(enc, t([5, 7], "a"), t([7, 3], "w"), out, { bias: t([4], "bias") }), {
    name: "RangeError",
    message: /bias has 4 values, N is 3/,
  });
  assert.throws(() => matmul(enc, t([35], "flat"), t([7, 3], "w"), out), {
    name: "RangeError",
    message: /A \('flat'\) must be 2-D or 3-D/,
  });
  assert.throws(() => matmul(enc, t([5, 7], "a"), t([7, 3], "w"), out, { alpha: NaN }), {
    name: "RangeError",
    message: /alpha and beta must be finite/,
  });
  assert.throws(() => matmul(enc, t([5, 7], "a"), t([7, 3], "w"), out, { variant: "fast" }), {
    name: "TypeError",
    message: /unknown variant 'fast'; valid: naive, /,
  });
  assert.throws(() => matmul(enc, t([5, 7], "a"), t([7, 3], "w"), out, { activation: "tanh" as never }), {
    name: "TypeError",
    message: /unknown activation 'tanh'/,
  });
});

gpuTest("matmul: an operand over maxStorageBufferBindingSize is a RangeError naming it", (gpu) => {
  const max = gpu.limits.maxStorageBufferBindingSize;
  // A tensor whose shape claims more than one binding may hold, over a small buffer: matmul must refuse it before
  // binding anything, so no buffer of that size is needed (on a GPU with large limits it could not be allocated).
  const rows = Math.floor(max / 4 / 64) + 1; // [rows, 64] is just over the limit
  const dummy = gpu.dummy();
  const huge = new Tensor(gpu, dummy.buffer, 0, [rows, 64], "f32", "activations");
  const w = gpu.tensor([64, 8], "f32", "w");
  const out = new Tensor(gpu, dummy.buffer, 0, [rows, 8], "f32", "y");
  assert.throws(() => matmul(gpu.encoder(), huge, w, out), {
    name: "RangeError",
    message: new RegExp(`operand A \\('activations', \\[${rows},64\\]\\) is ${rows * 256} bytes, over .*\\(${max}\\)`),
  });
});

gpuTest("matmul: variant selection: option, MATMUL_VARIANT, per-adapter default", async (gpu) => {
  const s = { batch: 1, m: 1024, n: 1024, k: 64, strideA: 0, strideB: 0 };
  assert.equal(selectMatmulVariant(gpu, s, { variant: "tile32x32" }), "tile32x32");
  assert.equal(parseMatmulVariantEnv(undefined), null);
  assert.equal(parseMatmulVariantEnv(" rb8x8v4 "), "rb8x8v4");
  assert.throws(() => parseMatmulVariantEnv("rb3x3"), { name: "TypeError", message: /MATMUL_VARIANT='rb3x3' is not/ });
  // Register blocks on a CPU adapter, tiles on a GPU; small products get smaller blocks so both threads work.
  const small = { ...s, m: 16, n: 16 };
  if (gpu.info.isFallbackAdapter) {
    assert.equal(defaultMatmulVariant(gpu, s), "rb16x16v4");
    assert.equal(defaultMatmulVariant(gpu, small), "rb4x4v4");
  } else {
    assert.equal(defaultMatmulVariant(gpu, s), "tile64x64");
    assert.equal(defaultMatmulVariant(gpu, small), "tile32x32");
  }
  // The environment variable forces the variant for every call of a process.
  const code = `import { getGpu } from "./kernels/gpu.ts"; import { selectMatmulVariant } from "./kernels/matmul.ts";
    console.log(selectMatmulVariant(await getGpu(), { batch: 1, m: 64, n: 64, k: 64, strideA: 0, strideB: 0 }));`;
  const run = (value: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", code],
      cwd: new URL("..", import.meta.url).pathname,
      env: { MATMUL_VARIANT: value, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
  const [ok, bad] = await Promise.all([run("tile32x32"), run("bogus")]);
  assert.equal(new TextDecoder().decode(ok.stdout).trim(), "tile32x32", new TextDecoder().decode(ok.stderr));
  assert.ok(!bad.success);
  assert.match(new TextDecoder().decode(bad.stderr), /MATMUL_VARIANT='bogus' is not a matmul variant/);
});
