import assert from "node:assert/strict";
import {
  clearMatmulTuning,
  loadMatmulTuning,
  matmulShapeClass,
  matmulTuneCacheFile,
  matmulTuningTable,
  tunedMatmulVariant,
  tuneMatmul,
} from "./autotune.ts";
import { selectMatmulVariant } from "./matmul.ts";
import { gpuTest } from "./testing.ts";

const shape = (m: number, n: number, k: number, batch = 1) => ({ batch, m, n, k, strideA: 0, strideB: 0 });

Deno.test("autotune: shape classes separate forms, size buckets and vec4 eligibility", () => {
  assert.equal(matmulShapeClass(shape(2048, 192, 64), false, false), "nn|b16|bigx256x64|mnk");
  assert.equal(matmulShapeClass(shape(2048, 192, 64), false, true), "nt|b16|bigx256x64|mnk");
  assert.equal(matmulShapeClass(shape(7, 63, 65, 128), true, false), "tn|b256|16x64x256|-");
  // Sizes within a bucket share a class; crossing a bucket or divisibility by 4 does not.
  assert.equal(
    matmulShapeClass(shape(100, 200, 36), false, false),
    matmulShapeClass(shape(128, 256, 40), false, false),
  );
  assert.notEqual(
    matmulShapeClass(shape(100, 200, 36), false, false),
    matmulShapeClass(shape(100, 200, 37), false, false),
  );
  assert.notEqual(matmulShapeClass(shape(64, 64, 64), false, false), matmulShapeClass(shape(65, 64, 64), false, false));
});

gpuTest("autotune: tunes once per class, caches in memory and on disk, and matmul uses the choice", async (gpu) => {
  const dir = await Deno.makeTempDir({ prefix: "autotune_test" });
  try {
    clearMatmulTuning(gpu);
    const variants = ["naive", "rb4x4v4", "rb8x8v4"];
    const shapes = [{ m: 96, n: 64, k: 48 }, { m: 64, n: 48, k: 96, transB: true }, { m: 100, n: 60, k: 40 }];
    const lines: string[] = [];
    const got = await tuneMatmul(gpu, shapes, { variants, cacheDir: dir, reps: 2, log: (l) => lines.push(l) });
    // Shapes 1 and 3 share a class, so two classes are timed.
    assert.equal(got.size, 2);
    assert.equal(lines.length, 2);
    for (const [cls, c] of got) {
      assert.ok(variants.includes(c.variant), `${cls}: ${c.variant}`);
      assert.deepEqual(Object.keys(c.ms).sort(), [...variants].sort());
      assert.ok(Object.values(c.ms).every((ms) => ms > 0 && Number.isFinite(ms)));
      assert.equal(c.variant, Object.entries(c.ms).sort((a, b) => a[1] - b[1])[0][0], "the fastest is chosen");
      assert.equal(c.timing, gpu.hasTimestamps ? "gpu-timestamps" : "wall-clock");
    }
    const s = shape(96, 64, 48);
    const chosen = tunedMatmulVariant(gpu, s, false, false)!;
    assert.equal(selectMatmulVariant(gpu, s), chosen);
    assert.equal(selectMatmulVariant(gpu, s, { variant: "tile32x32" }), "tile32x32", "the call's option wins");
    // A second call finds every class tuned and times nothing.
    const again = await tuneMatmul(gpu, shapes, { variants, cacheDir: dir, log: (l) => lines.push(l) });
    assert.equal(lines.length, 2);
    assert.deepEqual([...again.keys()], [...got.keys()]);
    // The disk cache restores the choices in a fresh state; a variant unknown to this build is dropped.
    const file = matmulTuneCacheFile(gpu, dir);
    const data = JSON.parse(await Deno.readTextFile(file));
    assert.equal(Object.keys(data.choices).length, 2);
    data.choices["nn|b16|16x16x16|-"] = { ...Object.values(data.choices)[0] as object, variant: "rb99x99" };
    await Deno.writeTextFile(file, JSON.stringify(data));
    clearMatmulTuning(gpu);
    assert.equal(tunedMatmulVariant(gpu, s, false, false), undefined);
    assert.equal(loadMatmulTuning(gpu, dir), 2);
    assert.equal(tunedMatmulVariant(gpu, s, false, false), chosen);
    assert.equal(matmulTuningTable(gpu).size, 2);
    assert.equal(loadMatmulTuning(gpu, `${dir}/absent`), 0);
  } finally {
    clearMatmulTuning(gpu);
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest("autotune: bad options are errors naming the field", async (gpu) => {
  await assert.rejects(() => tuneMatmul(gpu, [{ m: 8, n: 8, k: 8 }], { reps: 0, cacheDir: null }), {
    name: "RangeError",
    message: /reps must be an integer >= 1, got 0/,
  });
  await assert.rejects(() => tuneMatmul(gpu, [{ m: 8, n: 0, k: 8 }], { cacheDir: null }), {
    name: "RangeError",
    message: /n must be an integer >= 1, got 0/,
  });
  await assert.rejects(() => tuneMatmul(gpu, [{ m: 8, n: 8, k: 8 }], { variants: ["rb1x1"], cacheDir: null }), {
    name: "TypeError",
    message: /unknown variant 'rb1x1'/,
  });
});
