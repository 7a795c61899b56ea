import assert from "node:assert/strict";
import { responseMask } from "../kernels/loss_testing.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "../kernels/testing.ts";
import { ExponentialRunningMeanStd, ExponentialRunningMeanStdCpu } from "./running_stats.ts";

gpuTest("running stats: hand-computed debiased mean and std after one and two updates", async (gpu) => {
  // β = 0.5. Update 1 with masked values 1, 3: m = 0.5·2 = 1, s = 0.5·5 = 2.5, d = 0.5 → μ = 2, σ² = 5 − 4 = 1.
  // Update 2 with masked value 6: m = 0.5·1 + 0.5·6 = 3.5, s = 1.25 + 18 = 19.25, d = 0.75
  // → μ = 14/3, σ² = 77/3 − 196/9 = 35/9.
  const rms = new ExponentialRunningMeanStd(gpu, { beta: 0.5 });
  const x1 = gpu.fromArray(new Float32Array([1, 100, 3]), [1, 3]);
  const m1 = gpu.fromArray(new Float32Array([1, 0, 1]), [1, 3]);
  let enc = gpu.encoder("rms 1");
  rms.update(enc, x1, m1);
  await enc.submit();
  const a = await rms.meanStd();
  assertClose([a.mean, a.std], [2, 1], { atol: 1e-6, label: "after one update" });
  const x2 = gpu.fromArray(new Float32Array([6, 100]), [1, 2]);
  const m2 = gpu.fromArray(new Float32Array([1, 0]), [1, 2]);
  enc = gpu.encoder("rms 2");
  rms.update(enc, x2, m2);
  await enc.submit();
  const b = await rms.meanStd();
  assertClose([b.mean, b.std], [14 / 3, Math.sqrt(35 / 9)], { atol: 1e-5, label: "after two updates" });
});

gpuTest(
  "running stats: fresh state has μ 0, σ = √(variance floor); an all-masked-out update is a no-op",
  async (gpu) => {
    const rms = new ExponentialRunningMeanStd(gpu);
    assert.deepEqual(await rms.meanStd(), { mean: 0, std: Math.sqrt(1e-2) });
    const x = gpu.fromArray(new Float32Array([1, 2, 3, 4]), [2, 2]);
    const out = gpu.tensor([2, 2]);
    const enc = gpu.encoder("rms empty");
    rms.update(enc, x, gpu.zeros([2, 2]));
    rms.denormalize(enc, x, out);
    const o = enc.read(out);
    await enc.submit();
    assertBitwiseEqual(await rms.state.read(), [0, 0, 0], "state after an empty update");
    // x·0.1 + 0: what ReaLHF feeds GAE on the first iteration (the critic's outputs shrunk by the floor σ).
    assertClose(await o, [0.1, 0.2, 0.3, 0.4], { atol: 1e-7, label: "first denormalize" });
  },
);

gpuTest(
  "running stats: update, normalize (with the ±5 clip) and denormalize match float64 on awkward shapes",
  async (gpu) => {
    for (const [i, [B, T]] of [[1, 1], [7, 63], [65, 7], [3, 129], [33, 65]].entries()) {
      const beta = [0.9, 0.99995, 0.5, 0.0, 0.99][i];
      const gpuRms = new ExponentialRunningMeanStd(gpu, { beta });
      const cpuRms = new ExponentialRunningMeanStdCpu({ beta });
      const xt = gpu.tensor([B, T]), mt = gpu.tensor([B, T]), norm = gpu.tensor([B, T]), den = gpu.tensor([B, T]);
      let last: { norm: Float32Array; den: Float32Array } | undefined;
      for (let step = 0; step < 4; step++) {
        // Offset, widening values; a few far outliers so that the clip at ±5 is exercised.
        const x = randomArray(10 * i + step, B * T, 2 + step).map((v, j) => v + 3 * step + (j % 17 === 0 ? 40 : 0));
        const { mask } = responseMask(100 * i + step, B, T, true);
        xt.write(x);
        mt.write(mask);
        const enc = gpu.encoder("rms step");
        gpuRms.update(enc, xt, mt);
        gpuRms.normalize(enc, xt, mt, norm);
        gpuRms.denormalize(enc, xt, den);
        const [n, d] = [enc.read(norm), enc.read(den)];
        await enc.submit();
        cpuRms.update(x, mask);
        last = { norm: await n, den: await d };
        const label = `[${B}, ${T}] β ${beta} step ${step}`;
        assertClose(last.norm, cpuRms.normalize(x, mask), { atol: 1e-4, rtol: 1e-4, label: `normalize ${label}` });
        assertClose(last.den, cpuRms.denormalize(x), { atol: 1e-4, rtol: 1e-4, label: `denormalize ${label}` });
        const g = await gpuRms.meanStd(), c = cpuRms.meanStd();
        assertClose([g.mean, g.std], [c.mean, c.std], { atol: 1e-5, rtol: 1e-4, label: `mean/std ${label}` });
      }
      assert.ok(last!.norm.every((v) => Math.abs(v) <= 5), "normalized values stay within ±5");
    }
  },
);

gpuTest("running stats: the same updates twice give bitwise the same state", async (gpu) => {
  const run = async () => {
    const rms = new ExponentialRunningMeanStd(gpu, { beta: 0.99 });
    const x = gpu.fromArray(randomArray(5, 65 * 33, 4), [65, 33]);
    const m = gpu.fromArray(responseMask(6, 65, 33).mask, [65, 33]);
    const enc = gpu.encoder("rms det");
    for (let i = 0; i < 3; i++) rms.update(enc, x, m);
    await enc.submit();
    return await rms.state.read();
  };
  assertBitwiseEqual(await run(), await run(), "state");
});

gpuTest("running stats: bad options and mismatched operands are RangeErrors naming them", (gpu) => {
  assert.throws(() => new ExponentialRunningMeanStd(gpu, { beta: 1 }), /beta must be in \[0, 1\), got 1/);
  assert.throws(() => new ExponentialRunningMeanStd(gpu, { clip: 0 }), /clip must be in \(0, Infinity\], got 0/);
  const rms = new ExponentialRunningMeanStd(gpu);
  const enc = gpu.encoder("rms bad");
  assert.throws(() => rms.update(enc, gpu.tensor([2, 3]), gpu.tensor([2, 2])), /mask .* as many elements as x/);
  assert.throws(() => rms.denormalize(enc, gpu.tensor([4]), gpu.tensor([5])), /out .* as many elements as x/);
});
