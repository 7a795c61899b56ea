import assert from "node:assert/strict";
import {
  colSum,
  colSumCpu,
  maskedMean,
  maskedMeanCpu,
  mean,
  rowLogSumExp,
  rowLogSumExpParts,
  rowMax,
  rowMean,
  rowReduceCpu,
  rowSum,
  sum,
  sumCpu,
  sumSquares,
} from "./reduce.ts";
import type { Gpu } from "./gpu.ts";
import type { Tensor } from "./tensor.ts";
import type { StepEncoder } from "./encoder.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

const ROW_FNS = { sum: rowSum, mean: rowMean, max: rowMax, logsumexp: rowLogSumExp } as const;
const ROW_SHAPES = [[1, 1], [1, 7], [7, 63], [65, 129], [129, 65], [3, 300], [5, 1000], [2, 3, 65]];

async function record(gpu: Gpu, fn: (enc: StepEncoder) => void, ...reads: Tensor[]): Promise<Float32Array[]> {
  const enc = gpu.encoder("test");
  fn(enc);
  const r = reads.map((t) => enc.read(t) as Promise<Float32Array>);
  await enc.submit();
  return Promise.all(r);
}

/** A 0/1 mask (about 70% ones) whose first row is all zeros; x gets NaN where the mask is 0, which must not leak. */
function maskedInput(seed: number, x: Float32Array, cols: number): { x: Float32Array; m: Float32Array } {
  const rng = new Rng(seed);
  const m = Float32Array.from(x, (_, i) => (i < cols && x.length > cols) ? 0 : rng.uniform() < 0.7 ? 1 : 0);
  return { x: x.map((v, i) => m[i] === 0 ? NaN : v), m };
}

gpuTest("reduce: row sum, mean, max and logsumexp, with and without a mask", async (gpu) => {
  for (const shape of ROW_SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1), cols = shape[shape.length - 1], rows = n / cols;
    const X = randomArray(n, n, 3);
    const masked = maskedInput(n + 1, X, cols);
    const x = gpu.fromArray(X, shape), xm = gpu.fromArray(masked.x, shape), m = gpu.fromArray(masked.m, shape);
    const ops = Object.keys(ROW_FNS) as (keyof typeof ROW_FNS)[];
    const outs = ops.map(() => gpu.tensor([rows])), mouts = ops.map(() => gpu.tensor([rows]));
    const got = await record(
      gpu,
      (enc) => {
        ops.forEach((op, i) => ROW_FNS[op](enc, x, outs[i]));
        ops.forEach((op, i) => ROW_FNS[op](enc, xm, mouts[i], { mask: m }));
      },
      ...outs,
      ...mouts,
    );
    ops.forEach((op, i) => {
      const tol = { atol: 2e-6 * Math.sqrt(cols), rtol: 1e-5 };
      assertClose(got[i], rowReduceCpu(op, X, cols), { ...tol, label: `row ${op} [${shape}]` });
      const want = rowReduceCpu(op, masked.x, cols, masked.m);
      assertClose(got[ops.length + i], want, { ...tol, label: `masked row ${op} [${shape}]` });
    });
  }
});

gpuTest("reduce: logsumexp is stable for large and very negative logits", async (gpu) => {
  const cols = 129, X = randomArray(3, 3 * cols, 5);
  for (let c = 0; c < cols; c++) [X[c], X[cols + c], X[2 * cols + c]] = [X[c] + 1000, X[cols + c] - 1000, -1e30];
  const x = gpu.fromArray(X, [3, cols]), out = gpu.tensor([3]), parts = gpu.tensor([3, 2]);
  const [got, gotParts] = await record(
    gpu,
    (enc) => {
      rowLogSumExp(enc, x, out);
      rowLogSumExpParts(enc, x, parts);
    },
    out,
    parts,
  );
  assert.ok(got.every(Number.isFinite), `finite: ${got}`);
  const lse = rowReduceCpu("logsumexp", X, cols), max = rowReduceCpu("max", X, cols);
  assertClose(got, lse, { atol: 0, rtol: 1e-6, label: "logsumexp ±1000" });
  // The parts: the row max exactly, and log Σ exp(x − max), a number in [0, log C].
  assertClose(gotParts.filter((_, i) => i % 2 === 0), max, { atol: 0, rtol: 0, label: "logsumexp parts: max" });
  const logS = Float64Array.from(max, (m, r) => {
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(X[r * cols + c] - m);
    return Math.log(s);
  });
  assertClose(gotParts.filter((_, i) => i % 2 === 1), logS, { atol: 1e-6, rtol: 0, label: "logsumexp parts: log s" });
});

gpuTest("reduce: column sums, including many rows, batch > 1 and accumulate", async (gpu) => {
  for (const shape of [[1, 1], [7, 63], [65, 129], [129, 65], [1000, 7], [3, 100, 65], [20000, 3]]) {
    const n = shape.reduce((a, b) => a * b, 1), cols = shape[shape.length - 1];
    const X = randomArray(n + 3, n), init = randomArray(cols, cols);
    const x = gpu.fromArray(X, shape), out = gpu.tensor([cols]), acc = gpu.fromArray(init);
    const [got, gotAcc] = await record(
      gpu,
      (enc) => {
        colSum(enc, x, out);
        colSum(enc, x, acc, { accumulate: true });
      },
      out,
      acc,
    );
    const tol = { atol: 2e-6 * Math.sqrt(n / cols), rtol: 1e-5 };
    assertClose(got, colSumCpu(X, cols), { ...tol, label: `colSum [${shape}]` });
    assertClose(gotAcc, colSumCpu(X, cols, init), { ...tol, label: `colSum accumulate [${shape}]` });
  }
});

gpuTest("reduce: whole-tensor sum, mean, sum of squares and masked mean", async (gpu) => {
  for (const n of [1, 7, 63, 65, 129, 4097, 100_003, 1_000_003]) {
    const X = randomArray(n, n), { x: XM, m: M } = maskedInput(n + 7, X, n > 1 ? 1 : 0);
    const x = gpu.fromArray(X), xm = gpu.fromArray(XM), m = gpu.fromArray(M), zero = gpu.tensor([n]);
    const outs = [0, 1, 2, 3, 4].map(() => gpu.tensor([1]));
    const got = (await record(gpu, (enc) => {
      sum(enc, x, outs[0]);
      mean(enc, x, outs[1]);
      sumSquares(enc, x, outs[2]);
      maskedMean(enc, xm, m, outs[3]);
      maskedMean(enc, xm, zero, outs[4]); // nothing selected: 0, and the NaNs are never read
    }, ...outs)).map((a) => a[0]);
    const atol = 1e-6 * Math.sqrt(n);
    assertClose([got[0]], [sumCpu(X)], { atol, rtol: 1e-6, label: `sum ${n}` });
    assertClose([got[1]], [sumCpu(X) / n], { atol: atol / n, rtol: 1e-6, label: `mean ${n}` });
    assertClose([got[2]], [sumCpu(X, true)], { atol, rtol: 1e-6, label: `sumSquares ${n}` });
    assertClose([got[3]], [maskedMeanCpu(XM, M)], { atol: 1e-6, rtol: 1e-5, label: `maskedMean ${n}` });
    assert.equal(got[4], 0, "maskedMean with an all-zero mask");
  }
});

gpuTest("reduce: grids beyond 65535 workgroups, and outputs in the input's buffer", async (gpu) => {
  const rows = 4_200_000, cols = 4, n = rows * cols; // the last pass runs a thread per row: 65625 workgroups of 64
  const X = new Float32Array(n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  // x and its row sums are two views of one arena, bound as two read-write ranges.
  const arena = gpu.tensor([n + rows]);
  arena.write(X);
  const x = arena.view(0, [rows, cols]), rs = arena.view(n, [rows]), total = gpu.tensor([1]);
  const wide = gpu.fromArray(X.subarray(0, 2 * 4_300_000), [2, 4_300_000]), cs = gpu.tensor([4_300_000]);
  const [got, gotTotal, gotCols] = await record(
    gpu,
    (enc) => {
      rowSum(enc, x, rs);
      sum(enc, x, total);
      colSum(enc, wide, cs); // 67188 groups of 64 columns: split over z
    },
    rs,
    total,
    cs,
  );
  assertClose(got, rowReduceCpu("sum", X, cols), { atol: 1e-6, rtol: 1e-6, label: `rowSum [${rows}, ${cols}]` });
  // An f32 sum of 16.8M terms: allow 1e-7·Σ|x| (about 0.4 here; the sum is about -8400).
  assertClose(gotTotal, [sumCpu(X)], { atol: 1e-7 * sumCpu(X.map(Math.abs)), rtol: 0, label: "sum of 16.8M" });
  assertClose(gotCols, colSumCpu(X.subarray(0, 8_600_000), 4_300_000), {
    atol: 1e-6,
    rtol: 1e-6,
    label: "colSum wide",
  });
});

gpuTest("reduce: two runs give bitwise equal results", async (gpu) => {
  const X = randomArray(11, 1000 * 65), M = Float32Array.from(X, (v) => (v > -0.3 ? 1 : 0));
  const x = gpu.fromArray(X, [1000, 65]), m = gpu.fromArray(M, [1000, 65]);
  const runs = [0, 1].map(() => ({
    lse: gpu.tensor([1000]),
    col: gpu.tensor([65]),
    s: gpu.tensor([1]),
    mm: gpu.tensor([1]),
  }));
  const got = await record(gpu, (enc) => {
    for (const r of runs) {
      rowLogSumExp(enc, x, r.lse, { mask: m });
      colSum(enc, x, r.col);
      sumSquares(enc, x, r.s);
      maskedMean(enc, x, m, r.mm);
    }
  }, ...runs.flatMap((r) => [r.lse, r.col, r.s, r.mm]));
  for (let i = 0; i < 4; i++) assertBitwiseEqual(got[i], got[4 + i], ["lse", "colSum", "sumSquares", "maskedMean"][i]);
});

gpuTest("reduce: bad input throws with a clear message", async (gpu) => {
  const enc = gpu.encoder();
  const x = gpu.tensor([4, 5]), r4 = gpu.tensor([4]), r5 = gpu.tensor([5]), one = gpu.tensor([1]);
  assert.throws(() => rowSum(enc, x, r5), /row sum: out \('tensor' \[5\]\) must hold 4 values/);
  assert.throws(() => rowMax(enc, x, r4, { mask: r4 }), /mask .* must have x's shape \[4,5\]/);
  assert.throws(() => colSum(enc, x, r4), /colSum: out .* must hold 5 values/);
  assert.throws(() => sum(enc, x, r4), /sum: out .* must hold 1 value/);
  assert.throws(() => maskedMean(enc, x, r4, one), RangeError);
  assert.throws(() => rowSum(enc, gpu.tensor([3, 0]), gpu.tensor([3])), /empty last dimension/);
  await enc.submit();
});
