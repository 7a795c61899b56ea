import assert from "node:assert/strict";
import {
  attentionBackward,
  attentionBackwardCpu,
  attentionForward,
  attentionForwardCpu,
  type AttentionRows,
} from "./attention.ts";
import type { Gpu } from "./gpu.ts";
import { fdGrad } from "./loss_testing.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

function run(
  gpu: Gpu,
  QKV: Float32Array,
  DY: Float32Array,
  b: number,
  t: number,
  c: number,
  h: number,
  rows: Partial<AttentionRows> = {},
) {
  const qkv = gpu.fromArray(QKV, [b, t, 3 * c]), y = gpu.tensor([b, t, c]), lse = gpu.tensor([b * h * t]);
  const dqkv = gpu.tensor([b, t, 3 * c]);
  const enc = gpu.encoder();
  attentionForward(enc, h, qkv, y, lse, rows);
  attentionBackward(enc, h, qkv, y, lse, gpu.fromArray(DY, [b, t, c]), gpu.tensor([b * h * t]), dqkv, rows);
  const r = [y, lse, dqkv].map((x) => enc.read(x));
  return enc.submit().then(() => Promise.all(r));
}

// [B, T, C, heads]: T of 1 and odd lengths, one head and many, head sizes 1, 2, 3 (scalar builds) and 4, 8, 16
// (vec4 builds), T beyond one 64-wide workgroup.
const SHAPES = [[1, 1, 4, 2], [2, 7, 6, 3], [3, 16, 16, 4], [1, 65, 8, 8], [2, 9, 12, 1], [2, 70, 32, 2], [1, 5, 9, 3]];

gpuTest("attention: fused forward (y, lse) and backward (dqkv) match the CPU reference", async (gpu) => {
  for (const [b, t, c, h] of SHAPES) {
    const QKV = randomArray(b * 31 + t, b * t * 3 * c, 1.5), DY = randomArray(t * 7 + c, b * t * c);
    const [y, lse, dqkv] = await run(gpu, QKV, DY, b, t, c, h);
    const label = `B${b} T${t} C${c} H${h}`;
    const want = attentionForwardCpu(QKV, b, t, c, h);
    const ry = assertClose(y, want.y, { atol: 2e-5, rtol: 1e-4, label: `y ${label}` });
    assertClose(lse, want.lse, { atol: 2e-5, rtol: 1e-5, label: `lse ${label}` });
    const dq = attentionBackwardCpu(QKV, want.att, DY, b, t, c, h);
    const rd = assertClose(dqkv, dq, { atol: 5e-5, rtol: 1e-4, label: `dqkv ${label}` });
    console.log(`${label}: y max diff ${ry.maxAbs.toExponential(1)}, dqkv max diff ${rd.maxAbs.toExponential(1)}`);
  }
});

gpuTest("attention: every row block (1, 2, 3, 4, 8 rows per invocation) gives the same bits", async (gpu) => {
  // T not a multiple of the block (a block's last rows fall past the end), T shorter than one block, scalar heads.
  for (const [b, t, c, h] of [[2, 37, 16, 2], [1, 5, 8, 2], [2, 19, 6, 2], [1, 130, 32, 1]]) {
    const QKV = randomArray(t + c, b * t * 3 * c, 1.5), DY = randomArray(t * 3 + 1, b * t * c);
    const one = await run(gpu, QKV, DY, b, t, c, h, { forward: 1, query: 1, key: 1 });
    for (const r of [2, 3, 4, 8]) {
      const got = await run(gpu, QKV, DY, b, t, c, h, { forward: r, query: r, key: r });
      for (const [i, name] of ["y", "lse", "dqkv"].entries()) {
        assertBitwiseEqual(got[i], one[i], `${name} B${b} T${t} C${c} H${h} at ${r} rows`);
      }
    }
  }
});

gpuTest("attention: large scores (a dominant key) neither overflow nor lose the max", async (gpu) => {
  for (const [c, h] of [[8, 2], [6, 2]]) {
    const b = 1, t = 9, hd = c / h;
    // q·k = 60·hd·(±1) per pair before the 1/sqrt(hd) scale: exp would overflow without the running max.
    const QKV = randomArray(3, b * t * 3 * c).map((v) => Math.sign(v) * 60);
    const [y, lse, dqkv] = await run(gpu, QKV, randomArray(4, b * t * c), b, t, c, h);
    const want = attentionForwardCpu(QKV, b, t, c, h);
    assertClose(y, want.y, { atol: 1e-4, rtol: 1e-4, label: `y hd ${hd}` });
    assertClose(lse, want.lse, { atol: 1e-3, rtol: 1e-5, label: `lse hd ${hd}` });
    assert.ok(dqkv.every(Number.isFinite), "dqkv is finite");
  }
});

Deno.test("attention: CPU backward matches finite differences of the CPU forward (float64)", () => {
  const [b, t, c, h] = [2, 4, 6, 2];
  const QKV = Float64Array.from(randomArray(3, b * t * 3 * c, 1.5)), DY = Float64Array.from(randomArray(4, b * t * c));
  const f = (x: ArrayLike<number>) => attentionForwardCpu(x, b, t, c, h).y.reduce((s, v, i) => s + v * DY[i], 0);
  const { att } = attentionForwardCpu(QKV, b, t, c, h);
  const g = attentionBackwardCpu(QKV, att, DY, b, t, c, h);
  assertClose(g, fdGrad(f, QKV), { atol: 1e-8, rtol: 1e-6, label: "dqkv vs FD" });
});

gpuTest("attention: causal (the future never changes the past) and bitwise reproducible", async (gpu) => {
  const [b, t, c, h] = [2, 9, 8, 2];
  const QKV = randomArray(5, b * t * 3 * c), DY = randomArray(6, b * t * c);
  const changed = QKV.slice();
  for (let i = (t - 1) * 3 * c; i < t * 3 * c; i++) changed[i] += 1; // last position of batch row 0
  const [y1, , d1] = await run(gpu, QKV, DY, b, t, c, h);
  const [y2, , d2] = await run(gpu, QKV, DY, b, t, c, h);
  const [y3] = await run(gpu, changed, DY, b, t, c, h);
  assertBitwiseEqual(y1, y2, "y");
  assertBitwiseEqual(d1, d2, "dqkv");
  assertBitwiseEqual(y1.subarray(0, (t - 1) * c), y3.subarray(0, (t - 1) * c), "positions before the change");
  assert.notEqual(y1[(t - 1) * c], y3[(t - 1) * c]);
});

gpuTest("attention: shape errors name the operand", (gpu) => {
  const y = gpu.tensor([2, 4, 6]), lse = gpu.tensor([24]);
  assert.throws(() => attentionForward(gpu.encoder(), 4, gpu.tensor([2, 4, 18]), y, lse), {
    name: "RangeError",
    message: /C \(6\) must be a positive multiple of heads \(4\)/,
  });
  assert.throws(() => attentionForward(gpu.encoder(), 3, gpu.tensor([2, 5, 18]), y, lse), /y \('tensor'\) has 48/);
  assert.throws(() => attentionForward(gpu.encoder(), 3, gpu.tensor([2, 4, 7]), y, lse), /must be \[B, T, 3C\]/);
  assert.throws(
    () => attentionForward(gpu.encoder(), 3, gpu.tensor([2, 4, 18]), y, gpu.tensor([23])),
    /lse \('tensor'\) has 23 values, expected 24/,
  );
});
