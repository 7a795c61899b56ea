import assert from "node:assert/strict";
import {
  logSoftmax,
  logSoftmaxBackward,
  logSoftmaxBackwardCpu,
  logSoftmaxCpu,
  softmax,
  softmaxBackward,
  softmaxBackwardCpu,
  softmaxCpu,
} from "./softmax.ts";
import type { Gpu } from "./gpu.ts";
import type { Tensor } from "./tensor.ts";
import type { StepEncoder } from "./encoder.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

// Row lengths that are multiples of 4 run the vec4 build of the elementwise pass.
const SHAPES = [[1, 1], [1, 7], [7, 63], [65, 129], [129, 65], [3, 300], [5, 1000], [2, 3, 65], [1, 4], [65, 64]];

async function record(gpu: Gpu, fn: (enc: StepEncoder) => void, ...reads: Tensor[]): Promise<Float32Array[]> {
  const enc = gpu.encoder("test");
  fn(enc);
  const r = reads.map((t) => enc.read(t) as Promise<Float32Array>);
  await enc.submit();
  return Promise.all(r);
}

gpuTest("softmax: forward and backward against the CPU reference", async (gpu) => {
  for (const shape of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1), cols = shape[shape.length - 1];
    const X = randomArray(n, n, 4), DY = randomArray(n + 1, n);
    const x = gpu.fromArray(X, shape), dy = gpu.fromArray(DY, shape);
    const [y, lp, dxs, dxl] = [0, 1, 2, 3].map(() => gpu.tensor(shape));
    const [gy, glp, gdxs, gdxl] = await record(
      gpu,
      (enc) => {
        softmax(enc, x, y);
        logSoftmax(enc, x, lp);
        softmaxBackward(enc, y, dy, dxs);
        logSoftmaxBackward(enc, lp, dy, dxl);
      },
      y,
      lp,
      dxs,
      dxl,
    );
    const Y = softmaxCpu(X, cols), LP = logSoftmaxCpu(X, cols);
    assertClose(gy, Y, { atol: 1e-7, rtol: 1e-5, label: `softmax [${shape}]` });
    assertClose(glp, LP, { atol: 2e-6, rtol: 1e-6, label: `logSoftmax [${shape}]` });
    // The backward references take the GPU's forward outputs, so only the backward's own error is measured.
    const r1 = assertClose(gdxs, softmaxBackwardCpu(gy, DY, cols), {
      atol: 1e-7,
      rtol: 1e-5,
      label: `dsoftmax [${shape}]`,
    });
    const r2 = assertClose(gdxl, logSoftmaxBackwardCpu(glp, DY, cols), {
      atol: 1e-6,
      rtol: 1e-5,
      label: `dlogSoftmax [${shape}]`,
    });
    if (n === 65 * 129) console.log(`[${shape}] backward max |diff|: softmax ${r1.maxAbs}, log-softmax ${r2.maxAbs}`);
  }
});

Deno.test("softmax: CPU backward matches central finite differences (float64)", () => {
  for (const [rows, cols] of [[1, 1], [3, 7], [2, 65]]) {
    const X = Float64Array.from(randomArray(cols, rows * cols, 3)), W = Float64Array.from(randomArray(7, rows * cols));
    for (
      const [name, f, back] of [
        ["softmax", softmaxCpu, (x: Float64Array) => softmaxBackwardCpu(softmaxCpu(x, cols), W, cols)],
        ["logSoftmax", logSoftmaxCpu, (x: Float64Array) => logSoftmaxBackwardCpu(logSoftmaxCpu(x, cols), W, cols)],
      ] as const
    ) {
      // L(x) = Σ W ⊙ f(x), so dL/dx is the backward of f applied to dy = W.
      const loss = (x: Float64Array) => f(x, cols).reduce((s, v, i) => s + v * W[i], 0);
      const grad = back(X), h = 1e-6;
      for (let i = 0; i < X.length; i++) {
        const xp = X.slice(), xm = X.slice();
        xp[i] += h;
        xm[i] -= h;
        const fd = (loss(xp) - loss(xm)) / (2 * h);
        assert.ok(Math.abs(fd - grad[i]) < 1e-7, `${name} [${rows},${cols}] at ${i}: analytic ${grad[i]}, FD ${fd}`);
      }
    }
  }
});

gpuTest("softmax: stable for large logits, and -inf logits get probability 0", async (gpu) => {
  const cols = 65, X = randomArray(5, 3 * cols, 5);
  for (let c = 0; c < cols; c++) [X[c], X[cols + c]] = [X[c] + 1000, X[cols + c] - 1000];
  for (let c = 0; c < cols; c += 3) X[2 * cols + c] = -Infinity; // a logits mask
  const x = gpu.fromArray(X, [3, cols]), y = gpu.tensor([3, cols]), lp = gpu.tensor([3, cols]);
  const [gy, glp] = await record(
    gpu,
    (enc) => {
      softmax(enc, x, y);
      logSoftmax(enc, x, lp);
    },
    y,
    lp,
  );
  assert.ok(gy.every(Number.isFinite), "softmax finite");
  assertClose(gy, softmaxCpu(X, cols), { atol: 1e-7, rtol: 1e-5, label: "softmax ±1000, -inf" });
  assertClose(glp, logSoftmaxCpu(X, cols), { atol: 2e-6, rtol: 1e-6, label: "logSoftmax ±1000, -inf" });
  for (let c = 0; c < cols; c += 3) assert.equal(gy[2 * cols + c], 0);
});

gpuTest("softmax: in place (out === x, dx === dy, dx === y)", async (gpu) => {
  for (const cols of [129, 128]) await inPlace(gpu, cols); // scalar and vec4 builds
});

async function inPlace(gpu: Gpu, cols: number): Promise<void> {
  const shape = [7, cols], n = 7 * cols, X = randomArray(3, n, 3), DY = randomArray(4, n);
  const Y = softmaxCpu(X, cols), LP = logSoftmaxCpu(X, cols);
  const [a, b, dy1, y2, dy3] = [X, X, DY, Y, DY].map((d) => gpu.fromArray(Float32Array.from(d), shape));
  const y1 = gpu.fromArray(Float32Array.from(Y), shape), lp3 = gpu.fromArray(Float32Array.from(LP), shape);
  const dy2 = gpu.fromArray(DY, shape);
  const [ga, gb, gdy1, gy2, gdy3] = await record(
    gpu,
    (enc) => {
      softmax(enc, a, a);
      logSoftmax(enc, b, b);
      softmaxBackward(enc, y1, dy1, dy1);
      softmaxBackward(enc, y2, dy2, y2);
      logSoftmaxBackward(enc, lp3, dy3, dy3);
    },
    a,
    b,
    dy1,
    y2,
    dy3,
  );
  assertClose(ga, Y, { atol: 1e-7, rtol: 1e-5, label: "softmax in place" });
  assertClose(gb, LP, { atol: 2e-6, rtol: 1e-6, label: "logSoftmax in place" });
  const Yf = Float32Array.from(Y), LPf = Float32Array.from(LP);
  assertClose(gdy1, softmaxBackwardCpu(Yf, DY, cols), { atol: 1e-7, rtol: 1e-5, label: "dsoftmax into dy" });
  assertClose(gy2, softmaxBackwardCpu(Yf, DY, cols), { atol: 1e-7, rtol: 1e-5, label: "dsoftmax into y" });
  assertClose(gdy3, logSoftmaxBackwardCpu(LPf, DY, cols), { atol: 1e-6, rtol: 1e-5, label: "dlogSoftmax into dy" });
}

gpuTest("softmax: more than 65535 workgroups, and bitwise equal runs", async (gpu) => {
  // The elementwise pass runs 65860 workgroups of 256 (an odd row length keeps it on the scalar build).
  const rows = 65600, cols = 257, n = rows * cols;
  const X = new Float32Array(n).map((_, i) => ((i * 7919) % 1000) / 100 - 5);
  const x = gpu.fromArray(X, [rows, cols]), y = gpu.tensor([rows, cols]);
  const [gy] = await record(gpu, (enc) => softmax(enc, x, y), y);
  const want = softmaxCpu(X.subarray(0, 300 * cols), cols);
  assertClose(gy.subarray(0, 300 * cols), want, { atol: 1e-7, rtol: 1e-5, label: "softmax first 300 rows" });
  const tail = softmaxCpu(X.subarray(n - 300 * cols), cols);
  assertClose(gy.subarray(n - 300 * cols), tail, { atol: 1e-7, rtol: 1e-5, label: "softmax last 300 rows" });

  const s = gpu.fromArray(randomArray(1, 1000 * 65), [1000, 65]), dy = gpu.fromArray(randomArray(2, 1000 * 65));
  const outs = [0, 1, 2, 3].map(() => gpu.tensor([1000, 65]));
  const got = await record(gpu, (enc) => {
    for (const o of [0, 2]) {
      logSoftmax(enc, s, outs[o]);
      logSoftmaxBackward(enc, outs[o], dy, outs[o + 1]);
    }
  }, ...outs);
  assertBitwiseEqual(got[0], got[2], "logSoftmax");
  assertBitwiseEqual(got[1], got[3], "logSoftmax backward");
});

gpuTest("softmax: bad input throws with a clear message", async (gpu) => {
  const enc = gpu.encoder();
  const x = gpu.tensor([4, 5]), bad = gpu.tensor([4, 4]);
  assert.throws(() => softmax(enc, x, bad), /softmax: out \('tensor' \[4,4\]\) must have x's shape \[4,5\]/);
  assert.throws(() => softmaxBackward(enc, x, bad, x), /dy .* must have y's shape/);
  assert.throws(() => logSoftmaxBackward(enc, x, x, bad), /dx .* must have logp's shape/);
  assert.throws(() => logSoftmax(enc, gpu.tensor([2, 0]), gpu.tensor([2, 0])), /empty last dimension/);
  await enc.submit();
});
