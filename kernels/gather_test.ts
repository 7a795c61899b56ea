import assert from "node:assert/strict";
import {
  lastTokenGather,
  lastTokenGatherCpu,
  lastTokenScatter,
  lastTokenScatterCpu,
  sequenceSumBackward,
  sequenceSumCpu,
} from "./gather.ts";
import { fdGrad, responseMask } from "./loss_testing.ts";
import { rowSum } from "./reduce.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

// [B, T]: rows longer than the 64-wide reduction workgroup, single tokens, batch > 1.
const SHAPES = [[1, 1], [3, 7], [2, 63], [5, 65], [7, 129], [2, 300]];

gpuTest(
  "gather: sequence sums (reduce.ts rowSum), last-token scores and their backward match the CPU reference",
  async (gpu) => {
    for (const [b, t] of SHAPES) {
      const rng = new Rng(b * 1000 + t);
      const X = randomArray(rng.split("x"), b * t), { mask: M } = responseMask(b + t, b, t, true);
      const DS = randomArray(rng.split("ds"), b), D0 = randomArray(rng.split("d0"), b * t);
      const last = Uint32Array.from({ length: b }, () => rng.int(t));
      const x = gpu.fromArray(X, [b, t]), mask = gpu.fromArray(M, [b, t]), dseq = gpu.fromArray(DS);
      const lastT = gpu.fromArray(last);
      const seq = gpu.tensor([b]), score = gpu.tensor([b]);
      const dx = gpu.fromArray(D0, [b, t]), dxFresh = gpu.fromArray(D0, [b, t]);
      const dv = gpu.fromArray(D0, [b, t]), dvFresh = gpu.fromArray(D0, [b, t]);
      const enc = gpu.encoder();
      rowSum(enc, x, seq, { mask }); // the forward the model uses
      sequenceSumBackward(enc, dseq, mask, dx, true);
      sequenceSumBackward(enc, dseq, mask, dxFresh, false);
      lastTokenGather(enc, x, lastT, score);
      lastTokenScatter(enc, dseq, lastT, dv, true);
      lastTokenScatter(enc, dseq, lastT, dvFresh, false);
      const r = [seq, dx, dxFresh, score, dv, dvFresh].map((y) => enc.read(y));
      await enc.submit();
      const label = `B${b} T${t}`;
      assertClose(await r[0], sequenceSumCpu(X, M, b, t), { atol: 1e-5, label: `seq ${label}` });
      const back = Float64Array.from(M, (m, i) => DS[Math.floor(i / t)] * m);
      assertClose(await r[1], back.map((v, i) => v + D0[i]), { atol: 1e-6, label: `dlogp (+=) ${label}` });
      assertClose(await r[2], back, { atol: 0, rtol: 0, label: `dlogp ${label}` });
      assertClose(await r[3], lastTokenGatherCpu(X, last, t), { atol: 0, rtol: 0, label: `score ${label}` });
      const sc = lastTokenScatterCpu(DS, last, t);
      assertClose(await r[4], sc.map((v, i) => v + D0[i]), { atol: 1e-6, label: `dvalues (+=) ${label}` });
      assertClose(await r[5], sc, { atol: 0, rtol: 0, label: `dvalues ${label}` });
    }
  },
);

Deno.test("gather: CPU backward maps match finite differences (float64)", () => {
  const b = 2, t = 5, X = Float64Array.from(randomArray(1, b * t)), W = Float64Array.from(randomArray(2, b));
  const { mask } = responseMask(3, b, t);
  const last = [4, 1];
  const seqBack = Float64Array.from(mask, (m, i) => W[Math.floor(i / t)] * m);
  const f = (x: ArrayLike<number>) => sequenceSumCpu(x, mask, b, t).reduce((s, v, i) => s + v * W[i], 0);
  assertClose(seqBack, fdGrad(f, X), { atol: 1e-8, label: "sequence sum vs FD" });
  const g = (x: ArrayLike<number>) => lastTokenGatherCpu(x, last, t).reduce((s, v, i) => s + v * W[i], 0);
  assertClose(lastTokenScatterCpu(W, last, t), fdGrad(g, X), { atol: 1e-8, label: "last token vs FD" });
});

gpuTest(
  "gather: NaN logp under the mask is ignored, out-of-range last index gives NaN, bitwise repeat",
  async (gpu) => {
    const x = gpu.fromArray([1, NaN, 2, 3], [2, 2]), mask = gpu.fromArray([1, 0, 1, 1], [2, 2]);
    const [s1, s2, score] = [0, 1, 2].map(() => gpu.tensor([2]));
    const enc = gpu.encoder();
    rowSum(enc, x, s1, { mask });
    rowSum(enc, x, s2, { mask });
    lastTokenGather(enc, x, gpu.fromArray(new Uint32Array([0, 2])), score);
    const r = [s1, s2, score].map((y) => enc.read(y));
    await enc.submit();
    assert.deepEqual([...await r[0]], [1, 5]);
    assertBitwiseEqual(await r[0], await r[1]);
    const sc = await r[2];
    assert.equal(sc[0], 1);
    assert.ok(Number.isNaN(sc[1]));
    assert.throws(() => sequenceSumBackward(gpu.encoder(), s1, gpu.tensor([3]), x, false), {
      name: "RangeError",
      message: /mask \('tensor'\) has 3 values, expected 4/,
    });
    assert.throws(() => lastTokenGather(gpu.encoder(), x, gpu.tensor([2]), score), TypeError);
  },
);
