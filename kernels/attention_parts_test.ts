import assert from "node:assert/strict";
import {
  causalSoftmax,
  causalSoftmaxBackward,
  causalSoftmaxBackwardCpu,
  causalSoftmaxCpu,
  mergeHeads,
  splitHeads,
  splitHeadsCpu,
} from "./attention_parts.ts";
import { fdGrad } from "./loss_testing.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

// [batch·heads, T]: T % 4 == 0 runs the vec4 build (4, 8, 64), the others the scalar build.
// [batch·heads, T, score scale]: scores of ±100 overflow exp unless each row's max is taken out.
const SOFTMAX = [[1, 1, 6], [3, 4, 6], [2, 7, 6], [5, 8, 6], [1, 63, 6], [2, 64, 6], [1, 65, 6], [3, 8, 100], [
  2,
  7,
  100,
]];

gpuTest("attention parts: causal softmax and its backward match the CPU reference (both builds)", async (gpu) => {
  for (const [n, t, scale] of SOFTMAX) {
    const S = randomArray(n * 100 + t, n * t * t, scale), DP = randomArray(t, n * t * t);
    const att = gpu.fromArray(S, [n, t, t]), datt = gpu.fromArray(DP, [n, t, t]);
    const enc = gpu.encoder();
    causalSoftmax(enc, att);
    causalSoftmaxBackward(enc, att, datt);
    const r = [enc.read(att), enc.read(datt)];
    await enc.submit();
    const P = causalSoftmaxCpu(S, t);
    const label = `[${n}, ${t}, ${t}] ±${scale}`;
    assertClose(await r[0], P, { atol: 1e-6, rtol: 1e-5, label: `P ${label}` });
    const rep = assertClose(await r[1], causalSoftmaxBackwardCpu(P, DP, t), {
      atol: 1e-6,
      rtol: 1e-4,
      label: `dS ${label}`,
    });
    const p = await r[0];
    for (let row = 0; row < n * t; row++) {
      for (let s = (row % t) + 1; s < t; s++) {
        assert.equal(p[row * t + s], 0, `P${label} row ${row} key ${s} is masked`);
      }
    }
    if (t === 64) console.log(`${label}: dS max diff ${rep.maxAbs.toExponential(2)}`);
  }
});

gpuTest("attention parts: a dominant score in any lane gets all the probability, without overflow", async (gpu) => {
  for (const t of [8, 7]) {
    // Query rows 3..t-1: key j = 3 + (row mod 4) scores 300, the rest 0 (300 overflows exp unless the max is taken out).
    const S = new Float32Array(t * t);
    for (let q = 3; q < t; q++) S[q * t + Math.min(q, 3 + (q % 4))] = 300;
    const att = gpu.fromArray(S, [1, t, t]);
    const enc = gpu.encoder();
    causalSoftmax(enc, att);
    const r = enc.read(att);
    await enc.submit();
    assertClose(await r, causalSoftmaxCpu(S, t), { atol: 1e-6, label: `dominant key, T ${t}` });
  }
});

Deno.test("attention parts: CPU softmax backward matches finite differences (float64)", () => {
  const t = 5, S = Float64Array.from(randomArray(1, 2 * t * t, 3)), DP = Float64Array.from(randomArray(2, 2 * t * t));
  const f = (x: ArrayLike<number>) => causalSoftmaxCpu(x, t).reduce((s, v, i) => s + v * DP[i], 0);
  assertClose(causalSoftmaxBackwardCpu(causalSoftmaxCpu(S, t), DP, t), fdGrad(f, S), { atol: 1e-8, label: "dS vs FD" });
});

gpuTest(
  "attention parts: head split and merge match the CPU layout and invert each other (both builds)",
  async (gpu) => {
    // [B, T, C, heads, parts]: hd = C / heads; hd % 4 == 0 runs the vec4 build.
    for (
      const [b, t, c, h, parts] of [[1, 1, 1, 1, 1], [2, 7, 6, 3, 3], [3, 5, 16, 4, 3], [2, 65, 24, 2, 1], [
        1,
        3,
        12,
        3,
        3,
      ]]
    ) {
      const X = randomArray(b + t + c, b * t * parts * c);
      const packed = gpu.fromArray(X, [b, t, parts * c]);
      const outs = Array.from({ length: parts }, () => gpu.tensor([b * h, t, c / h]));
      const back = gpu.tensor([b, t, parts * c]);
      const enc = gpu.encoder();
      splitHeads(enc, packed, outs, h);
      mergeHeads(enc, outs, back, h);
      const r = outs.map((o) => enc.read(o)), rb = enc.read(back);
      await enc.submit();
      const want = splitHeadsCpu(X, b, t, c, parts, h);
      for (let i = 0; i < parts; i++) {
        assertBitwiseEqual(
          await r[i],
          want[i],
          `part ${i} of [${b}, ${t}, ${parts}x${c}]`,
        );
      }
      assertBitwiseEqual(await rb, X, "merge(split(x))");
    }
    assert.throws(() => splitHeads(gpu.encoder(), gpu.tensor([2, 3, 12]), [gpu.tensor([2, 3, 5])], 3), {
      name: "RangeError",
      message: /'tensor' has 30 values, expected B·T·C = 72/,
    });
    assert.throws(() => causalSoftmax(gpu.encoder(), gpu.tensor([2, 3, 4])), /must be \[..., T, T\], got \[2,3,4\]/);
  },
);
