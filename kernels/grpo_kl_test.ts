import assert from "node:assert/strict";
import type { Gpu } from "./gpu.ts";
import { namedStats } from "./loss_common.ts";
import { f32, fdGrad, responseMask } from "./loss_testing.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";
import { KL_PENALTY_STATS, klPenalty, klPenaltyCpu } from "./grpo_kl.ts";

async function run(
  gpu: Gpu,
  lp: ArrayLike<number>,
  lr: ArrayLike<number>,
  m: ArrayLike<number>,
  B: number,
  T: number,
  dl0: ArrayLike<number>,
  beta: number,
) {
  const dlogp = gpu.fromArray(f32(dl0), [B, T]), stats = gpu.tensor([2]);
  const enc = gpu.encoder("kl penalty test");
  klPenalty(
    enc,
    {
      logp: gpu.fromArray(f32(lp), [B, T]),
      logpRef: gpu.fromArray(f32(lr), [B, T]),
      mask: gpu.fromArray(f32(m), [B, T]),
    },
    { dlogp, stats },
    { beta },
  );
  const [g, s] = [enc.read(dlogp), enc.read(stats)];
  await enc.submit();
  return { dlogp: await g, stats: namedStats(KL_PENALTY_STATS, await s) };
}

gpuTest("GRPO KL penalty: hand-computed k3 values and gradient", async (gpu) => {
  // Tokens: d = log π_ref − log π_θ = 0 (KL 0, gradient 0), ln 2 (KL 2 − 1 − ln 2), masked-out (ignored).
  const lp = [-1, -2, -5], lr = [-1, -2 + Math.LN2, 0], m = [1, 1, 0];
  const got = await run(gpu, lp, lr, m, 1, 3, [0, 0, 7], 0.5);
  const k = 1 - Math.LN2;
  assertClose([got.stats.kl, got.stats.loss], [k / 2, 0.5 * k / 2], { atol: 1e-6, label: "stats" });
  // β (1 − e^d) / N with N = 2: 0 and 0.5·(1 − 2)/2 = −0.25; the unmasked slot keeps its 7 (accumulation).
  assertClose(got.dlogp, [0, -0.25, 7], { atol: 1e-6, label: "dlogp" });
});

gpuTest("GRPO KL penalty: GPU matches float64 on awkward shapes and accumulates into dlogp", async (gpu) => {
  for (const [i, [B, T]] of [[1, 1], [7, 63], [65, 7], [3, 129], [40, 65]].entries()) {
    const { mask } = responseMask(20 + i, B, T);
    const lp = randomArray(30 + i, B * T, 2).map((v) => v - 2);
    const lr = randomArray(40 + i, B * T, 2).map((v) => v - 2);
    const prev = randomArray(50 + i, B * T, 1);
    const got = await run(gpu, lp, lr, mask, B, T, prev, 0.04);
    const want = klPenaltyCpu(f32(lp), f32(lr), mask, 0.04);
    assertClose(got.dlogp, want.dlogp.map((g, j) => g + prev[j]), {
      atol: 1e-6,
      rtol: 1e-4,
      label: `dlogp [${B}, ${T}]`,
    });
    assertClose([got.stats.kl, got.stats.loss], want.stats, { atol: 1e-6, rtol: 1e-4, label: `stats [${B}, ${T}]` });
  }
});

Deno.test("GRPO KL penalty: the CPU gradient matches central finite differences of the CPU loss", () => {
  const [B, T] = [3, 7];
  const { mask } = responseMask(3, B, T);
  const lp = Float64Array.from(randomArray(4, B * T, 1.5), (v) => v - 1);
  const lr = Float64Array.from(randomArray(5, B * T, 1.5), (v) => v - 1);
  const { dlogp } = klPenaltyCpu(lp, lr, mask, 0.3);
  const fd = fdGrad((x) => klPenaltyCpu(x, lr, mask, 0.3).loss, lp);
  const r = assertClose(dlogp, fd, { atol: 1e-8, rtol: 1e-6, label: "analytic vs FD" });
  console.log(`KL penalty FD check: max |diff| ${r.maxAbs.toExponential(2)}`);
});

gpuTest("GRPO KL penalty: bitwise reproducible; bad inputs are errors naming them", async (gpu) => {
  const [B, T] = [65, 33];
  const { mask } = responseMask(8, B, T);
  const lp = randomArray(9, B * T, 1), lr = randomArray(10, B * T, 1), z = new Float32Array(B * T);
  const a = await run(gpu, lp, lr, mask, B, T, z, 0.1), b = await run(gpu, lp, lr, mask, B, T, z, 0.1);
  assertBitwiseEqual(a.dlogp, b.dlogp, "dlogp");
  const enc = gpu.encoder("bad");
  const t = (s: number[]) => gpu.tensor(s);
  assert.throws(
    () =>
      klPenalty(enc, { logp: t([2, 3]), logpRef: t([2, 4]), mask: t([2, 3]) }, { dlogp: t([2, 3]), stats: t([2]) }, {
        beta: 0.1,
      }),
    /logpRef must have shape \[2, 3\] like logp, got \[2, 4\]/,
  );
  assert.throws(
    () =>
      klPenalty(enc, { logp: t([2, 3]), logpRef: t([2, 3]), mask: t([2, 3]) }, { dlogp: t([2, 3]), stats: t([2]) }, {
        beta: -1,
      }),
    /beta must be in \[0, Infinity\), got -1/,
  );
});
