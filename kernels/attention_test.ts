import assert from "node:assert/strict";
import { attentionBackward, attentionBackwardCpu, attentionForward, attentionForwardCpu } from "./attention.ts";
import type { Gpu } from "./gpu.ts";
import { fdGrad } from "./loss_testing.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

function buffers(gpu: Gpu, b: number, t: number, c: number, h: number) {
  const hs = [b * h, t, c / h];
  return {
    q: gpu.tensor(hs),
    k: gpu.tensor(hs),
    v: gpu.tensor(hs),
    att: gpu.tensor([b * h, t, t]),
    yh: gpu.tensor(hs),
    y: gpu.tensor([b, t, c]),
    scratch: {
      dyh: gpu.tensor(hs),
      datt: gpu.tensor([b * h, t, t]),
      dq: gpu.tensor(hs),
      dk: gpu.tensor(hs),
      dv: gpu.tensor(hs),
    },
    dqkv: gpu.tensor([b, t, 3 * c]),
  };
}

// [B, T, C, heads]: T of 1 and odd lengths, one head and many, head size 1.
const SHAPES = [[1, 1, 4, 2], [2, 7, 6, 3], [3, 16, 16, 4], [1, 65, 8, 8], [2, 9, 12, 1]];

gpuTest("attention: forward (y, probabilities) and backward match the CPU reference", async (gpu) => {
  for (const [b, t, c, h] of SHAPES) {
    const QKV = randomArray(b * 31 + t, b * t * 3 * c, 1.5), DY = randomArray(t * 7 + c, b * t * c);
    const o = buffers(gpu, b, t, c, h);
    const qkv = gpu.fromArray(QKV, [b, t, 3 * c]);
    const enc = gpu.encoder();
    attentionForward(enc, h, { qkv, ...o });
    attentionBackward(enc, h, o, gpu.fromArray(DY, [b, t, c]), o.scratch, o.dqkv);
    const r = [o.y, o.att, o.dqkv].map((x) => enc.read(x));
    await enc.submit();
    const label = `B${b} T${t} C${c} H${h}`;
    const want = attentionForwardCpu(QKV, b, t, c, h);
    const ry = assertClose(await r[0], want.y, { atol: 2e-5, rtol: 1e-4, label: `y ${label}` });
    assertClose(await r[1], want.att, { atol: 2e-6, rtol: 1e-4, label: `att ${label}` });
    const dq = attentionBackwardCpu(QKV, want.att, DY, b, t, c, h);
    const rd = assertClose(await r[2], dq, { atol: 5e-5, rtol: 1e-4, label: `dqkv ${label}` });
    console.log(`${label}: y max diff ${ry.maxAbs.toExponential(1)}, dqkv max diff ${rd.maxAbs.toExponential(1)}`);
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
  const QKV = randomArray(5, b * t * 3 * c);
  const changed = QKV.slice();
  for (let i = (t - 1) * 3 * c; i < t * 3 * c; i++) changed[i] += 1; // last position of batch row 0
  const [o1, o2, o3] = [0, 1, 2].map(() => buffers(gpu, b, t, c, h));
  const enc = gpu.encoder();
  attentionForward(enc, h, { qkv: gpu.fromArray(QKV, [b, t, 3 * c]), ...o1 });
  attentionForward(enc, h, { qkv: gpu.fromArray(QKV, [b, t, 3 * c]), ...o2 });
  attentionForward(enc, h, { qkv: gpu.fromArray(changed, [b, t, 3 * c]), ...o3 });
  const r = [o1.y, o2.y, o3.y].map((x) => enc.read(x));
  await enc.submit();
  const [y1, y2, y3] = await Promise.all(r);
  assertBitwiseEqual(y1, y2, "y");
  assertBitwiseEqual(y1.subarray(0, (t - 1) * c), y3.subarray(0, (t - 1) * c), "positions before the change");
  assert.notEqual(y1[(t - 1) * c], y3[(t - 1) * c]);
});

gpuTest("attention: shape errors name the operand", (gpu) => {
  const o = buffers(gpu, 2, 4, 6, 3);
  assert.throws(() => attentionForward(gpu.encoder(), 4, { qkv: gpu.tensor([2, 4, 18]), ...o }), {
    name: "RangeError",
    message: /C \(6\) must be a positive multiple of heads \(4\)/,
  });
  assert.throws(
    () => attentionForward(gpu.encoder(), 3, { qkv: gpu.tensor([2, 5, 18]), ...o }),
    /q \('tensor'\) has 48/,
  );
  assert.throws(() => attentionForward(gpu.encoder(), 3, { qkv: gpu.tensor([2, 4, 7]), ...o }), /must be \[B, T, 3C\]/);
});
