import assert from "node:assert/strict";
import type { Gpu } from "./gpu.ts";
import { namedStats } from "./loss_common.ts";
import { f32, responseMask } from "./loss_testing.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";
import { whiten, WHITEN_STATS, whitenCpu } from "./whiten.ts";

async function runWhiten(
  gpu: Gpu,
  x: ArrayLike<number>,
  mask: ArrayLike<number>,
  B: number,
  T: number,
  inPlace = true,
) {
  const xt = gpu.fromArray(f32(x), [B, T]), stats = gpu.tensor([3]);
  const out = inPlace ? xt : gpu.tensor([B, T]);
  const enc = gpu.encoder("whiten test");
  whiten(enc, xt, gpu.fromArray(f32(mask), [B, T]), stats, { out });
  const [o, s] = [enc.read(out), enc.read(stats)];
  await enc.submit();
  return { out: await o, stats: namedStats(WHITEN_STATS, await s) };
}

gpuTest("whiten: hand-computed mean, biased std, eps, unmasked positions 0", async (gpu) => {
  // Masked values 1, 2, 3, 6 (the 100s are prompt/padding and must not count): mean = 12 / 4 = 3,
  // deviations −2, −1, 0, 3, biased variance = (4 + 1 + 0 + 9) / 4 = 3.5, std = √3.5 = 1.8708287,
  // out = deviation / (1.8708287 + 1e-5).
  const x = [100, 1, 2, /**/ 3, 6, 100];
  const mask = [0, 1, 1, /**/ 1, 1, 0];
  const d = Math.sqrt(3.5) + 1e-5;
  const want = [0, -2 / d, -1 / d, 0, 3 / d, 0];
  for (const inPlace of [true, false]) {
    const got = await runWhiten(gpu, x, mask, 2, 3, inPlace);
    assertClose(got.out, want, { atol: 1e-6, label: `whitened (in place: ${inPlace})` });
    assertClose([got.stats.mean, got.stats.std, got.stats.count], [3, Math.sqrt(3.5), 4], { atol: 1e-6 });
  }
  assertClose(whitenCpu(x, mask).out, want, { atol: 1e-12, label: "cpu" });
});

gpuTest("whiten: matches the CPU reference on awkward shapes up to 512 x 256, and an empty mask", async (gpu) => {
  for (const [i, [B, T]] of [[1, 1], [7, 63], [65, 7], [3, 129], [129, 65], [512, 256]].entries()) {
    const { mask } = responseMask(300 + i, B, T, true);
    // An offset mean, so that a one-pass E[x²] − μ² in f32 would visibly lose precision.
    const x = randomArray(400 + i, B * T, 3).map((v) => v + 5);
    const got = await runWhiten(gpu, x, mask, B, T);
    const want = whitenCpu(x, mask);
    const r = assertClose(got.out, want.out, { atol: 2e-5, rtol: 1e-4, label: `whiten [${B}, ${T}]` });
    assertClose([got.stats.mean, got.stats.std, got.stats.count], [want.mean, want.std, want.count], {
      atol: 1e-5,
      rtol: 1e-5,
      label: `stats [${B}, ${T}]`,
    });
    if (B * T > 1e5) console.log(`whiten [${B}, ${T}]: max |diff| ${r.maxAbs.toExponential(2)}`);
  }
  const got = await runWhiten(gpu, [1, 2, 3], [0, 0, 0], 1, 3);
  assertClose(got.out, [0, 0, 0], { atol: 0, label: "empty mask" });
  assert.equal(got.stats.count, 0);
});

gpuTest("whiten: bitwise reproducible; views of one arena; overlap rejected", async (gpu) => {
  const B = 64, T = 100, n = B * T;
  const x = randomArray(5, n), { mask } = responseMask(6, B, T);
  const a = await runWhiten(gpu, x, mask, B, T, false), b = await runWhiten(gpu, x, mask, B, T, false);
  assertBitwiseEqual(a.out, b.out, "two runs");
  // x and out carved from one buffer: x is bound read-write since the buffer is also the output's.
  const arena = gpu.tensor([2 * 6400]), stats = gpu.tensor([3]);
  const xv = arena.view(0, [B, T]), ov = arena.view(6400, [B, T]);
  xv.write(x);
  const enc = gpu.encoder();
  whiten(enc, xv, gpu.fromArray(mask, [B, T]), stats, { out: ov });
  const r = enc.read(ov);
  await enc.submit();
  assertBitwiseEqual(await r, a.out, "arena views");
  assert.throws(
    () => whiten(gpu.encoder(), xv, gpu.fromArray(mask, [B, T]), stats, { out: arena.view(64, [B, T]) }),
    /overlaps output/,
  );
  assert.throws(() => whiten(gpu.encoder(), xv, gpu.tensor([B, T - 1]), stats), /mask must have shape \[64, 100\]/);
  assert.throws(() => whiten(gpu.encoder(), xv, gpu.tensor([B, T]), gpu.tensor([2])), /stats must hold 3 values/);
});
