import assert from "node:assert/strict";
import { layernormBackward, layernormBackwardCpu, layernormForward, layernormForwardCpu } from "./layernorm.ts";
import { fdGrad } from "./loss_testing.ts";
import type { Gpu } from "./gpu.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

// C % 4 != 0 runs the scalar build, C % 4 == 0 the vec4 build.
const SHAPES = [[1, 1], [7, 7], [3, 63], [65, 65], [129, 7], [2, 129], [1, 4], [7, 12], [65, 64], [129, 256]];

gpuTest("layernorm: forward and backward match the CPU reference on awkward shapes", async (gpu) => {
  for (const [rows, c] of SHAPES) {
    const seed = rows * 1000 + c;
    // An offset mean: the two-pass variance must not cancel.
    const X = randomArray(seed, rows * c, 2).map((v) => v + 3);
    const W = randomArray(seed + 1, c).map((v) => v + 1), B = randomArray(seed + 2, c);
    const DY = randomArray(seed + 3, rows * c), DX0 = randomArray(seed + 4, rows * c);
    const DW0 = randomArray(seed + 5, c), DB0 = randomArray(seed + 6, c);
    const x = gpu.fromArray(X, [rows, c]), w = gpu.fromArray(W), b = gpu.fromArray(B);
    const y = gpu.tensor([rows, c]), stats = gpu.tensor([rows, 2]);
    const dx = gpu.fromArray(DX0, [rows, c]), dxFresh = gpu.fromArray(randomArray(9, rows * c), [rows, c]);
    const dw = gpu.fromArray(DW0), db = gpu.fromArray(DB0);
    const dy = gpu.fromArray(DY, [rows, c]);
    const enc = gpu.encoder();
    layernormForward(enc, x, w, b, y, stats);
    layernormBackward(enc, x, w, stats, dy, dx, dw, db, true);
    layernormBackward(enc, x, w, stats, dy, dxFresh, gpu.tensor([c]), gpu.tensor([c]), false);
    const r = [y, stats, dx, dw, db, dxFresh].map((t) => enc.read(t));
    await enc.submit();
    const label = `rows ${rows} C ${c}`;
    const f = layernormForwardCpu(X, W, B, c);
    assertClose(await r[0], f.y, { atol: 1e-5, label: `y ${label}` });
    assertClose(await r[1], f.stats, { atol: 1e-5, rtol: 1e-4, label: `stats ${label}` });
    const g = layernormBackwardCpu(X, W, f.stats, DY, DX0, DW0, DB0, c);
    assertClose(await r[2], g.dx, { atol: 2e-4, rtol: 1e-4, label: `dx ${label}` });
    assertClose(await r[3], g.dw, { atol: 2e-4, rtol: 1e-4, label: `dw ${label}` });
    assertClose(await r[4], g.db, { atol: 2e-4, rtol: 1e-4, label: `db ${label}` });
    const fresh = layernormBackwardCpu(X, W, f.stats, DY, null, DW0.map(() => 0), DB0.map(() => 0), c);
    assertClose(await r[5], fresh.dx, { atol: 2e-4, rtol: 1e-4, label: `dx (overwrite) ${label}` });
  }
});

Deno.test("layernorm: CPU backward matches finite differences of the CPU forward (float64)", () => {
  const rows = 3, c = 5;
  const X = Float64Array.from(randomArray(1, rows * c, 2)), W = Float64Array.from(randomArray(2, c));
  const B = Float64Array.from(randomArray(3, c)), DY = Float64Array.from(randomArray(4, rows * c));
  const loss = (x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>) =>
    layernormForwardCpu(x, w, b, c).y.reduce((s, v, i) => s + v * DY[i], 0);
  const { stats } = layernormForwardCpu(X, W, B, c);
  const g = layernormBackwardCpu(X, W, stats, DY, null, new Float64Array(c), new Float64Array(c), c);
  assertClose(g.dx, fdGrad((x) => loss(x, W, B), X), { atol: 1e-7, rtol: 1e-6, label: "dx vs FD" });
  assertClose(g.dw, fdGrad((w) => loss(X, w, B), W), { atol: 1e-7, rtol: 1e-6, label: "dw vs FD" });
  assertClose(g.db, fdGrad((b) => loss(X, W, b), B), { atol: 1e-7, rtol: 1e-6, label: "db vs FD" });
});

gpuTest("layernorm: GPU backward matches f32 finite differences of the GPU forward", async (gpu) => {
  for (const c of [9, 8]) await fdSpotCheck(gpu, 4, c);
});

async function fdSpotCheck(gpu: Gpu, rows: number, c: number) {
  const X = randomArray(11, rows * c, 1), W = randomArray(12, c).map((v) => v + 1), B = randomArray(13, c);
  const DY = randomArray(14, rows * c);
  const x = gpu.fromArray(X, [rows, c]), w = gpu.fromArray(W), b = gpu.fromArray(B), dy = gpu.fromArray(DY);
  const stats = gpu.tensor([rows, 2]);
  // Forward for each perturbed x[i] ± h, all in one submit.
  const h = 1e-2, idx = [0, 5, 17, rows * c - 1];
  const ys = idx.flatMap((i) =>
    [h, -h].map((s) => {
      const xp = X.slice();
      xp[i] += s;
      return { xp: gpu.fromArray(xp, [rows, c]), y: gpu.tensor([rows, c]), st: gpu.tensor([rows, 2]) };
    })
  );
  const dx = gpu.tensor([rows, c]);
  const enc = gpu.encoder();
  layernormForward(enc, x, w, b, gpu.tensor([rows, c]), stats);
  layernormBackward(enc, x, w, stats, dy.reshape([rows, c]), dx, gpu.tensor([c]), gpu.tensor([c]), false);
  for (const s of ys) layernormForward(enc, s.xp, w, b, s.y, s.st);
  const rdx = enc.read(dx), rys = ys.map((s) => enc.read(s.y));
  await enc.submit();
  const got = await rdx, outs = await Promise.all(rys);
  idx.forEach((i, j) => {
    const dot = (y: Float32Array) => y.reduce((s, v, k) => s + v * DY[k], 0);
    const fd = (dot(outs[2 * j]) - dot(outs[2 * j + 1])) / (2 * h);
    assert.ok(Math.abs(fd - got[i]) < 2e-3 + 2e-2 * Math.abs(fd), `C ${c} dx[${i}]: GPU ${got[i]} vs f32 FD ${fd}`);
  });
}

gpuTest("layernorm: bitwise reproducible (both builds) and errors name the operand", async (gpu) => {
  for (const c of [33, 32]) {
    const x = gpu.fromArray(randomArray(1, 65 * c), [65, c]), w = gpu.fromArray(randomArray(2, c));
    const ys = [0, 1].map(() => gpu.tensor([65, c])), st = [0, 1].map(() => gpu.tensor([65, 2]));
    const dws = [0, 1].map(() => gpu.tensor([c]));
    const enc = gpu.encoder();
    for (const i of [0, 1]) {
      layernormForward(enc, x, w, w, ys[i], st[i]);
      layernormBackward(enc, x, w, st[i], ys[i], gpu.tensor([65, c]), dws[i], gpu.tensor([c]), false);
    }
    const r = [...ys, ...dws].map((t) => enc.read(t));
    await enc.submit();
    assertBitwiseEqual(await r[0], await r[1], `y C ${c}`);
    assertBitwiseEqual(await r[2], await r[3], `dw C ${c}`);
  }
  const x = gpu.fromArray(randomArray(1, 65 * 33), [65, 33]), w = gpu.fromArray(randomArray(2, 33));
  const y = gpu.tensor([65, 33]), st = gpu.tensor([65, 2]);
  assert.throws(() => layernormForward(gpu.encoder(), x, gpu.tensor([32]), w, y, st), {
    name: "RangeError",
    message: /w has 32 values but x \('array'\) is \[65,33\]/,
  });
  assert.throws(() => layernormForward(gpu.encoder(), x, w, w, y, gpu.tensor([65])), /stats must hold/);
});
