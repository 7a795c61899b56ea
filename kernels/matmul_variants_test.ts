import { matmul, matmulCpu, type MatmulOptions, matmulShape } from "./matmul.ts";
import { loadModes, VARIANT_NAMES, variantInfo, variantKernel } from "./matmul_variants.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";
import type { Gpu } from "./gpu.ts";
import assert from "node:assert/strict";

interface Case {
  batch: number;
  m: number;
  n: number;
  k: number;
  o: MatmulOptions;
  /** B is 2-D and broadcast over the batch (a weight). */
  bcastB?: boolean;
  bias?: boolean;
}

/** Largest |variant - CPU| seen per variant, printed at the end. */
const maxDiff = new Map<string, number>();

/** Runs every variant on one problem in one submit; each must match the CPU and be bitwise equal to `naive`. */
async function checkAllVariants(gpu: Gpu, c: Case) {
  const { batch, m, n, k, o } = c;
  const aShape = o.transA ? [k, m] : [m, k];
  const bShape = o.transB ? [n, k] : [k, n];
  const A = randomArray(m * 1000 + n, batch * m * k);
  const B = randomArray(k * 7 + 3, (c.bcastB ? 1 : batch) * n * k);
  const O = randomArray(99, batch * m * n);
  const bias = randomArray(5, n);
  const a = gpu.fromArray(A, batch > 1 ? [batch, ...aShape] : aShape);
  const b = gpu.fromArray(B, batch > 1 && !c.bcastB ? [batch, ...bShape] : bShape);
  const biasT = gpu.fromArray(bias);
  const opts = { ...o, bias: c.bias ? biasT : undefined };
  // One output per variant, each starting from O (beta reads it): [batch, m, n] or [m, n].
  const outs = VARIANT_NAMES.map(() => gpu.fromArray(O, batch > 1 ? [batch, m, n] : [m, n]));
  const enc = gpu.encoder();
  const reads = VARIANT_NAMES.map((variant, i) => {
    matmul(enc, a, b, outs[i], { ...opts, variant });
    return enc.read(outs[i]);
  });
  await enc.submit();
  const s = matmulShape(a, b, outs[0], opts);
  const want = matmulCpu(A, B, O, s, { ...opts, biasData: c.bias ? bias : undefined });
  const label = `${batch}x${m}x${n}x${k} ${o.transA ? "T" : "N"}${o.transB ? "T" : "N"}${c.bias ? " bias" : ""}` +
    `${o.activation ? " " + o.activation : ""}${o.beta ? " beta" : ""}`;
  const results = await Promise.all(reads);
  VARIANT_NAMES.forEach((variant, i) => {
    const r = assertClose(results[i], want, { atol: 1e-4, rtol: 1e-4, label: `${variant} ${label}` });
    maxDiff.set(variant, Math.max(maxDiff.get(variant) ?? 0, r.maxAbs));
    assertBitwiseEqual(results[i], results[0], `${variant} vs naive, ${label}`);
  });
}

/**
 * Problems chosen to reach every code path with few compiled kernels (llvmpipe compiles a large register block in
 * seconds; Mesa caches it on disk): all four forms through scalar loads, each vec4 load mode, one mixed pair,
 * partial blocks and tiles everywhere, batches with broadcast weights, bias, both activations, alpha and beta.
 */
const CASES: Case[] = [
  { batch: 1, m: 1, n: 1, k: 1, o: {} },
  // No extent divisible by 4: scalar loads for all four forms.
  ...[{}, { transA: true }, { transB: true }, { transA: true, transB: true }].map((o) => ({
    batch: 1,
    m: 7,
    n: 63,
    k: 65,
    o,
  })),
  // N and K divisible by 4: vec4 along k for A and along columns of B (A·B), along k for both (A·Bᵀ).
  { batch: 1, m: 129, n: 68, k: 36, o: {} },
  { batch: 1, m: 129, n: 68, k: 36, o: { transB: true } },
  // M and N divisible by 4 with an odd K (Aᵀ·B): vec4 along the rows of a stored-transposed A and columns of B.
  { batch: 1, m: 132, n: 20, k: 9, o: { transA: true } },
  // Batched, broadcast weights, bias, activations, alpha and beta; the last two mix vec4 A with scalar B (in
  // steps of 4 k, and of 1).
  { batch: 3, m: 33, n: 20, k: 36, o: {} },
  {
    batch: 3,
    m: 33,
    n: 20,
    k: 36,
    o: { transB: true, activation: "gelu", alpha: 0.5, beta: 1 },
    bcastB: true,
    bias: true,
  },
  { batch: 2, m: 17, n: 9, k: 64, o: { activation: "gelu" }, bcastB: true, bias: true },
  { batch: 2, m: 12, n: 65, k: 17, o: { transA: true, activation: "relu", beta: -0.5 }, bias: true },
];

gpuTest("matmul variants: every variant matches the CPU and is bitwise equal to naive", async (gpu) => {
  for (const c of CASES) await checkAllVariants(gpu, c);
  console.log(
    "max |variant - cpu|:",
    [...maxDiff].map(([v, d]) => `${v} ${d.toExponential(2)}`).join(", "),
  );
});

gpuTest("matmul variants: vec4 loads are used exactly when the shape allows", () => {
  const v = variantInfo("rb8x8v4");
  const s = (m: number, n: number, k: number) => ({ batch: 1, m, n, k, strideA: 0, strideB: 0 });
  assert.deepEqual(loadModes(v, s(129, 68, 36), false, false), ["k4", "x4"]);
  assert.deepEqual(loadModes(v, s(129, 68, 36), true, false), ["s", "x4"]);
  assert.deepEqual(loadModes(v, s(12, 65, 17), true, false), ["x4", "s"]);
  assert.deepEqual(loadModes(v, s(17, 9, 64), false, false), ["k4", "s"]);
  assert.deepEqual(loadModes(v, s(129, 68, 36), false, true), ["k4", "k4"]);
  assert.deepEqual(loadModes(v, s(132, 20, 9), true, false), ["x4", "x4"]);
  assert.deepEqual(loadModes(v, s(7, 63, 65), false, false), ["s", "s"]);
  assert.deepEqual(loadModes(variantInfo("rb8x8"), s(128, 128, 128), false, false), ["s", "s"]);
  // The specialisations the cases above exercise really declare vec4 bindings.
  const k = variantKernel(v, s(129, 68, 36), false, true);
  assert.ok(k.buffers.filter((b) => b.wgslType === "vec4<f32>").length === 2, k.name);
});
