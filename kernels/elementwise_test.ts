import assert from "node:assert/strict";
import {
  axpy,
  binary,
  binaryCpu,
  type BinaryOp,
  broadcastKind,
  fill,
  scale,
  unary,
  unaryBackward,
  unaryBackwardCpu,
  unaryCpu,
  unaryDerivative,
  type UnaryOp,
  unaryScalar,
} from "./elementwise.ts";
import type { Gpu } from "./gpu.ts";
import type { Tensor } from "./tensor.ts";
import type { StepEncoder } from "./encoder.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

const UNARY: UnaryOp[] = ["neg", "exp", "log", "relu", "gelu", "sigmoid", "tanh", "square", "sqrt"];
const BINARY: BinaryOp[] = ["add", "sub", "mul", "div", "max", "min"];
// Sizes that are multiples of 4 run the vec4 builds, the others the scalar builds.
const SHAPES = [[1], [7], [63], [65, 129], [3, 7, 65], [4], [129, 4], [2, 3, 64]];

/** Inputs inside an op's domain: log and sqrt need positive x. */
function inputs(op: UnaryOp, seed: number, n: number): Float32Array {
  const x = randomArray(seed, n, 4);
  return op === "log" || op === "sqrt" ? x.map((v) => Math.abs(v) + 0.05) : x;
}

/** Records `fn` into one encoder, submits, and returns the contents of `reads`. */
async function record(gpu: Gpu, fn: (enc: StepEncoder) => void, ...reads: Tensor[]): Promise<Float32Array[]> {
  const enc = gpu.encoder("test");
  fn(enc);
  const r = reads.map((t) => enc.read(t) as Promise<Float32Array>);
  await enc.submit();
  return Promise.all(r);
}

gpuTest("elementwise: unary ops and their backward against the CPU reference", async (gpu) => {
  for (const shape of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    for (const op of UNARY) {
      const X = inputs(op, n + 1, n), DY = randomArray(n + 2, n);
      const x = gpu.fromArray(X, shape), dy = gpu.fromArray(DY, shape);
      const y = gpu.tensor(shape), dx = gpu.tensor(shape);
      const [gy, gdx] = await record(
        gpu,
        (enc) => {
          unary(enc, op, x, y);
          unaryBackward(enc, op, x, dy, dx);
        },
        y,
        dx,
      );
      const r1 = assertClose(gy, unaryCpu(op, X), { atol: 1e-6, rtol: 4e-6, label: `${op} [${shape}]` });
      // gelu' sums two terms of size ~|x| that cancel for x < 0, so its f32 error is absolute, not relative.
      const r2 = assertClose(gdx, unaryBackwardCpu(op, X, DY), { atol: 4e-6, rtol: 1e-5, label: `d${op} [${shape}]` });
      if (n === 65 * 129 || n === 129 * 4) {
        console.log(
          `${op} [${shape}]: max |diff| forward ${r1.maxAbs.toExponential(2)}, backward ${r2.maxAbs.toExponential(2)}`,
        );
      }
    }
  }
});

Deno.test("elementwise: CPU derivatives match central finite differences (float64)", () => {
  for (const op of UNARY) {
    const xs = inputs(op, 9, 200);
    let worst = 0;
    for (const x0 of xs) {
      if (op === "relu" && Math.abs(x0) < 1e-3) continue; // the kink
      const x = x0, h = 1e-6 * Math.max(1, Math.abs(x));
      const fd = (unaryScalar(op, x + h) - unaryScalar(op, x - h)) / (2 * h);
      const d = unaryDerivative(op, x);
      const err = Math.abs(fd - d) / Math.max(1, Math.abs(d));
      worst = Math.max(worst, err);
      assert.ok(err < 1e-6, `${op}'(${x}): analytic ${d}, finite difference ${fd}`);
    }
    console.log(`${op}: worst relative FD error ${worst.toExponential(2)}`);
  }
});

gpuTest("elementwise: binary ops with full, row and column broadcast", async (gpu) => {
  for (const [rows, cols] of [[1, 1], [1, 7], [7, 63], [65, 129], [129, 65], [1, 4], [7, 64], [65, 132], [63, 4]]) {
    const A = randomArray(rows * 31 + cols, rows * cols, 3);
    const bShapes: [number[], 0 | 1 | 2][] = [[[rows, cols], 0], [[cols], 1], [[rows, 1], 2]];
    for (const [bShape, kind] of bShapes) {
      const nb = bShape.reduce((x, y) => x * y, 1);
      // Keep divisors away from zero so div is well conditioned.
      const B = randomArray(nb + 5, nb, 2).map((v) => v + Math.sign(v || 1) * 0.25);
      const a = gpu.fromArray(A, [rows, cols]), b = gpu.fromArray(B, bShape);
      if (nb !== rows * cols) assert.equal(broadcastKind(a, b), kind);
      const outs = BINARY.map(() => gpu.tensor([rows, cols]));
      const got = await record(gpu, (enc) => BINARY.forEach((op, i) => binary(enc, op, a, b, outs[i])), ...outs);
      BINARY.forEach((op, i) => {
        const want = binaryCpu(op, A, B, nb === rows * cols ? 0 : kind, cols);
        assertClose(got[i], want, { atol: 1e-6, rtol: 1e-6, label: `${op} [${rows},${cols}] b [${bShape}]` });
      });
    }
  }
  // Batch > 1: a row vector broadcast over [B, T, C].
  const A = randomArray(1, 3 * 7 * 65), B = randomArray(2, 65);
  const a = gpu.fromArray(A, [3, 7, 65]), b = gpu.fromArray(B, [65]), out = gpu.tensor([3, 7, 65]);
  const [got] = await record(gpu, (enc) => binary(enc, "mul", a, b, out), out);
  assertClose(got, binaryCpu("mul", A, B, 1, 65), { atol: 0, rtol: 0, label: "mul [3,7,65] by [65]" });
});

gpuTest("elementwise: scale, axpy and fill", async (gpu) => {
  for (const n of [1, 7, 63, 65, 129, 1000]) {
    const X = randomArray(n, n), Y = randomArray(n + 1, n);
    const x = gpu.fromArray(X), y = gpu.fromArray(Y), s = gpu.fromArray(new Float32Array(n).fill(NaN));
    const f = gpu.tensor([n]);
    const [gy, gs, gf] = await record(
      gpu,
      (enc) => {
        axpy(enc, -0.3, x, y);
        scale(enc, x, 2.5, s); // s held NaN: scale must not read it
        fill(enc, f, 1.25);
      },
      y,
      s,
      f,
    );
    assertClose(gy, Y.map((v, i) => Math.fround(-0.3) * X[i] + v), { atol: 1e-7, rtol: 1e-6, label: `axpy ${n}` });
    assertClose(gs, X.map((v) => 2.5 * v), { atol: 0, rtol: 0, label: `scale ${n}` });
    assertClose(gf, new Float32Array(n).fill(1.25), { atol: 0, rtol: 0, label: `fill ${n}` });
  }
});

gpuTest("elementwise: in place (out === input) and views of one buffer", async (gpu) => {
  for (const n of [129, 128]) await inPlace(gpu, n); // scalar and vec4 builds
});

async function inPlace(gpu: Gpu, n: number): Promise<void> {
  const X = randomArray(3, n), DY = randomArray(4, n), B = randomArray(5, n);
  const x = gpu.fromArray(X), dy = gpu.fromArray(DY), b = gpu.fromArray(B), x2 = gpu.fromArray(X);
  const dyx = gpu.fromArray(DY), c = gpu.fromArray(X), d = gpu.fromArray(B);
  const [gx, gdy, gx2, gb, gc, gd] = await record(
    gpu,
    (enc) => {
      unary(enc, "gelu", x, x); // x = gelu(x)
      unaryBackward(enc, "tanh", x2, dy, dy); // dy = dy · tanh'(x2)
      unaryBackward(enc, "sigmoid", x2, dyx, x2); // x2 = dyx · sigmoid'(x2)
      binary(enc, "sub", c, b, b); // b = c - b (out is b)
      axpy(enc, 2, c, c); // c = 3c
      scale(enc, d, -1, d);
    },
    x,
    dy,
    x2,
    b,
    c,
    d,
  );
  assertClose(gx, unaryCpu("gelu", X), { atol: 1e-6, rtol: 4e-6, label: `gelu in place ${n}` });
  assertClose(gdy, unaryBackwardCpu("tanh", X, DY), { atol: 1e-6, rtol: 1e-5, label: "tanh backward into dy" });
  assertClose(gx2, unaryBackwardCpu("sigmoid", X, DY), { atol: 1e-6, rtol: 1e-5, label: "sigmoid backward into x" });
  assertClose(gb, binaryCpu("sub", X, B), { atol: 0, rtol: 0, label: "sub into b" });
  assertClose(gc, X.map((v) => 3 * v), { atol: 1e-6, rtol: 1e-6, label: "axpy x === y" });
  assertClose(gd, B.map((v) => -v), { atol: 0, rtol: 0, label: "scale in place" });

  // Two disjoint views of one arena (an input and the output in the same buffer) bind as two read-write ranges.
  const arena = gpu.fromArray(new Float32Array(192 + n).map((_, i) => i * 0.01));
  const src = arena.view(0, [n]), dst = arena.view(192, [n]);
  const arena2 = gpu.fromArray(new Float32Array(192 + n).map((_, i) => i * 0.01));
  const [ga, ga2] = await record(
    gpu,
    (enc) => {
      unary(enc, "exp", src, dst);
      binary(enc, "mul", arena2.view(0, [n]), arena2.view(0, [n]), arena2.view(192, [n])); // a and b: one binding
    },
    arena,
    arena2,
  );
  const want = new Float32Array(192 + n).map((_, i) => i * 0.01), want2 = want.slice();
  want.set(unaryCpu("exp", want.slice(0, n)), 192);
  want2.set(binaryCpu("mul", want2.slice(0, n), want2.slice(0, n)), 192);
  assertClose(ga, want, { atol: 1e-6, rtol: 4e-6, label: "exp between views of one buffer" });
  assertClose(ga2, want2, { atol: 0, rtol: 0, label: "x·x between views of one buffer" });
  // Overlapping but different ranges race; that is refused.
  const enc = gpu.encoder();
  assert.throws(() => unary(enc, "neg", arena.view(0, [n]), arena.view(64, [n])), RangeError);
}

gpuTest("elementwise: grids beyond 65535 workgroups", async (gpu) => {
  // 65539 workgroups of 256: the grid splits over y. (An odd size runs the scalar build; the vec4 build of any
  // bindable tensor, at most 128 MiB, needs at most 32768 workgroups.)
  const n = 65535 * 256 + 1001;
  const X = new Float32Array(n).map((_, i) => (i % 1021) - 510);
  const x = gpu.fromArray(X), y = gpu.tensor([n]);
  const [gy] = await record(gpu, (enc) => binary(enc, "mul", x, x, y), y);
  for (let i = 0; i < n; i++) {
    if (gy[i] !== X[i] * X[i]) throw new Error(`x·x at ${i}: got ${gy[i]}, expected ${X[i] * X[i]}`);
  }
});

gpuTest("elementwise: the vec4 and scalar builds agree", async (gpu) => {
  const n = 1028, X = randomArray(21, n, 4), DY = randomArray(22, n);
  const x = gpu.fromArray(X), dy = gpu.fromArray(DY);
  for (const op of ["gelu", "tanh", "exp"] as UnaryOp[]) {
    const [y4, y1, d4, d1] = [0, 1, 2, 3].map(() => gpu.tensor([n]));
    const got = await record(
      gpu,
      (enc) => {
        unary(enc, op, x, y4);
        unary(enc, op, x.view(0, [n - 1]), y1.view(0, [n - 1]));
        unaryBackward(enc, op, x, dy, d4);
        unaryBackward(enc, op, x.view(0, [n - 1]), dy.view(0, [n - 1]), d1.view(0, [n - 1]));
      },
      y4,
      y1,
      d4,
      d1,
    );
    const f4 = got[0].subarray(0, n - 1), b4 = got[2].subarray(0, n - 1);
    const r = assertClose(f4, got[1].subarray(0, n - 1), { atol: 1e-6, rtol: 4e-6, label: `${op} vec4 vs scalar` });
    const rb = assertClose(b4, got[3].subarray(0, n - 1), { atol: 4e-6, rtol: 1e-5, label: `d${op} vec4 vs scalar` });
    console.log(`${op}: vec4 vs scalar max |diff| forward ${r.maxAbs}, backward ${rb.maxAbs}`);
  }
});

gpuTest("elementwise: two runs give bitwise equal results", async (gpu) => {
  const X = randomArray(7, 65 * 129), x = gpu.fromArray(X, [65, 129]), dy = gpu.fromArray(randomArray(8, 65 * 129));
  const outs = [0, 1].map(() => gpu.tensor([65, 129]));
  const got = await record(gpu, (enc) => outs.forEach((o) => unaryBackward(enc, "gelu", x, dy, o)), ...outs);
  assertBitwiseEqual(got[0], got[1], "gelu backward");
});

gpuTest("elementwise: bad input throws with a clear message", async (gpu) => {
  const enc = gpu.encoder();
  const a = gpu.tensor([4, 5]), b = gpu.tensor([4]), c = gpu.tensor([3]);
  assert.throws(() => binary(enc, "add", a, c, a), /b \('tensor' \[3\]\) must have a's size, be a row vector \[5\]/);
  assert.throws(() => binary(enc, "add", a, b, a), RangeError); // [4] is neither [5] nor [4, 1]
  assert.throws(() => unary(enc, "neg", a, c), /x and out .* differ in size/);
  assert.throws(() => unary(enc, "cube" as UnaryOp, a, a), /unknown op 'cube'/);
  assert.throws(() => axpy(enc, 1, a, c), RangeError);
  await enc.submit();
});
