import assert from "node:assert/strict";
import type { Gpu } from "./gpu.ts";
import { f32, fdGrad, responseMask } from "./loss_testing.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";
import {
  PPO_VALUE_STATS,
  type PpoValueCpuInputs,
  ppoValueLoss,
  ppoValueLossCpu,
  type PpoValueOptions,
} from "./value_loss.ts";

async function runValue(gpu: Gpu, x: PpoValueCpuInputs, B: number, T: number, o: PpoValueOptions = {}) {
  const t = (a: ArrayLike<number>) => gpu.fromArray(f32(a), [B, T]);
  const loss = gpu.tensor([1]), dvalues = gpu.tensor([B, T]), stats = gpu.tensor([PPO_VALUE_STATS.length]);
  const enc = gpu.encoder("ppo value test");
  ppoValueLoss(enc, { values: t(x.values), valuesOld: t(x.valuesOld), returns: t(x.returns), mask: t(x.mask) }, {
    loss,
    dvalues,
    stats,
  }, o);
  const r = [enc.read(loss), enc.read(dvalues), enc.read(stats)];
  await enc.submit();
  const [l, g, s] = await Promise.all(r);
  return { loss: l[0], dvalues: g, stats: s };
}

function randomBatch(seed: number, B: number, T: number): PpoValueCpuInputs {
  const rng = new Rng(seed);
  const valuesOld = randomArray(rng.split("old"), B * T, 2);
  const step = randomArray(rng.split("step"), B * T, 0.5);
  return {
    values: f32(valuesOld.map((v, i) => v + step[i])),
    valuesOld,
    returns: randomArray(rng.split("r"), B * T, 3),
    mask: responseMask(seed + 1, B, T, true).mask,
  };
}

gpuTest("ppo value: hand-computed clipped loss, gradient, explained variance (eps_v = 0.2)", async (gpu) => {
  // Tok  V    V_old  R    V_clip  ½(V−R)²  ½(V_clip−R)²  max           ∂/∂V
  // 0    1.0  0.5    2.0  0.7     0.5      0.845         0.845 (clip)  0
  // 1    1.0  0.5    0.0  0.7     0.5      0.245         0.5           (1 − 0) / 4 = 0.25
  // 2    0.1  0.0    0.5  0.1     0.08     0.08          0.08          (0.1 − 0.5) / 4 = −0.1
  // 3   −1.0  0.0   −2.0 −0.2     0.5      1.62          1.62 (clip)   0
  // 4    masked out.
  // loss = (0.845 + 0.5 + 0.08 + 1.62) / 4 = 0.76125; clip_frac = 0.5.
  // Explained variance: R = 2, 0, 0.5, −2 (mean 0.125), Σ(R − R̄)² = 1.875² + 0.125² + 0.375² + 2.125² = 8.1875;
  //   R − V = 1, −1, 0.4, −1 (mean −0.15), Σ(· − mean)² = 1.15² + 0.85² + 0.55² + 0.85² = 3.07;
  //   EV = 1 − 3.07 / 8.1875 = 0.6250382. value_mean = 1.1 / 4 = 0.275, return_mean = 0.125, tokens = 4.
  const x = {
    values: [1, 1, 0.1, -1, 5],
    valuesOld: [0.5, 0.5, 0, 0, 5],
    returns: [2, 0, 0.5, -2, 9],
    mask: [1, 1, 1, 1, 0],
  };
  const got = await runValue(gpu, x, 1, 5);
  assertClose([got.loss], [0.76125], { atol: 1e-6, label: "loss" });
  assertClose(got.dvalues, [0, 0.25, -0.1, 0, 0], { atol: 1e-6, label: "dvalues" });
  assertClose(got.stats, [0.76125, 0.5, 0.6250382, 0.275, 0.125, 4], { atol: 1e-6, label: "stats" });
  assertClose([ppoValueLossCpu(x).loss], [0.76125], { atol: 1e-12, label: "cpu loss" });
});

Deno.test("ppo value: CPU gradient equals float64 finite differences", () => {
  const x = randomBatch(31, 3, 17);
  const want = fdGrad((v) => ppoValueLossCpu({ ...x, values: v }).loss, x.values);
  assertClose(ppoValueLossCpu(x).dvalues, want, { atol: 1e-8, rtol: 1e-6, label: "fd dvalues" });
  assert.ok(ppoValueLossCpu(x).stats[1] > 0.1, "the batch exercises clipping");
});

gpuTest("ppo value: matches the CPU reference on awkward shapes up to 512 x 256; bitwise reproducible", async (gpu) => {
  for (const [i, [B, T]] of [[1, 1], [7, 63], [65, 7], [3, 129], [129, 65], [512, 256]].entries()) {
    const x = randomBatch(40 + i, B, T);
    const o = i % 2 ? { valueClipEps: 0.1 } : {};
    const got = await runValue(gpu, x, B, T, o);
    const want = ppoValueLossCpu(x, o);
    const n = Math.max(1, want.stats[5]), label = `[${B}, ${T}]`;
    assertClose([got.loss], [want.loss], { atol: 1e-6, rtol: 1e-4, label: `loss ${label}` });
    const r = assertClose(got.dvalues, want.dvalues, { atol: 1e-6 / n, rtol: 1e-5, label: `dvalues ${label}` });
    assertClose(got.stats, want.stats, { atol: 1e-5, rtol: 1e-4, label: `stats ${label}` });
    if (B * T > 1e5) {
      console.log(`ppo value ${label}: max |dvalues diff| ${r.maxAbs.toExponential(2)}, stats ${got.stats.join(", ")}`);
      const again = await runValue(gpu, x, B, T, o);
      assertBitwiseEqual([again.loss, ...again.dvalues, ...again.stats], [got.loss, ...got.dvalues, ...got.stats]);
    }
  }
});

gpuTest(
  "ppo value: constant returns give explained variance 0, empty mask gives zeros; bad input throws",
  async (gpu) => {
    const c = await runValue(gpu, { values: [1, 2], valuesOld: [1, 2], returns: [3, 3], mask: [1, 1] }, 1, 2);
    assert.equal(c.stats[2], 0);
    const e = await runValue(gpu, { values: [1, 2], valuesOld: [1, 2], returns: [3, 3], mask: [0, 0] }, 1, 2);
    assertClose([e.loss, ...e.dvalues, ...e.stats], [0, 0, 0, 0, 0, 0, 0, 0, 0], { atol: 0, label: "empty mask" });
    const a = gpu.tensor([2, 3]);
    const enc = gpu.encoder();
    const inputs = { values: a, valuesOld: a, returns: a, mask: a };
    const out = { loss: gpu.tensor([1]), dvalues: gpu.tensor([2, 3]), stats: gpu.tensor([6]) };
    assert.throws(() => ppoValueLoss(enc, { ...inputs, returns: gpu.tensor([3, 2]) }, out), /returns must have shape/);
    assert.throws(() => ppoValueLoss(enc, inputs, out, { valueClipEps: 0 }), /valueClipEps must be in \(0/);
    assert.throws(() => ppoValueLoss(enc, inputs, { ...out, stats: gpu.tensor([4]) }), /stats must hold 6 values/);
  },
);
