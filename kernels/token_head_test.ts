import assert from "node:assert/strict";
import {
  crossEntropyLoss,
  crossEntropyLossCpu,
  logitsBackward,
  logitsBackwardCpu,
  tokenLogprobs,
  tokenLogprobsCpu,
} from "./token_head.ts";
import { fdGrad } from "./loss_testing.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

// [rows, V]: one row, one-token vocabulary, odd sizes, rows beyond one workgroup of the loss reduction.
// V % 4 == 0 runs the vec4 builds (4, 64, 256), the rest the scalar ones.
const SHAPES = [[1, 1], [7, 11], [63, 65], [65, 7], [300, 129], [1, 4], [9, 64], [300, 256]];

gpuTest("token head: logp, entropy, dlogits and masked cross-entropy match the CPU reference", async (gpu) => {
  for (const [rows, v] of SHAPES) {
    const rng = new Rng(rows * 10 + v);
    const Z = randomArray(rng.split("z"), rows * v, 4).map((x) => x + 50); // a large offset: the max must be taken
    const TG = Uint32Array.from({ length: rows }, () => rng.int(v));
    const DL = randomArray(rng.split("dl"), rows);
    const M = Float32Array.from({ length: rows }, (_, i) => (i % 3 === 1 ? 0 : 1));
    const logits = gpu.fromArray(Z, [rows, v]), targets = gpu.fromArray(TG, [rows]);
    const [logp, ent, lse, dlogp, ceGrad] = [0, 1, 2, 3, 4].map(() => gpu.tensor([rows]));
    dlogp.write(DL);
    const dlogits = gpu.tensor([rows, v]), loss = gpu.tensor([1]);
    const enc = gpu.encoder();
    tokenLogprobs(enc, logits, targets, logp, ent, lse);
    logitsBackward(enc, logits, targets, lse, dlogp, dlogits);
    crossEntropyLoss(enc, logp, gpu.fromArray(M), loss, ceGrad);
    const r = [logp, ent, dlogits, loss, ceGrad].map((t) => enc.read(t));
    await enc.submit();
    const label = `rows ${rows} V ${v}`;
    const want = tokenLogprobsCpu(Z, TG, v);
    assertClose(await r[0], want.logp, { atol: 2e-5, rtol: 1e-5, label: `logp ${label}` });
    assertClose(await r[1], want.entropy, { atol: 2e-5, rtol: 1e-5, label: `entropy ${label}` });
    assertClose(await r[2], logitsBackwardCpu(Z, TG, want.lse, DL, v), { atol: 1e-6, label: `dlogits ${label}` });
    const ce = crossEntropyLossCpu(want.logp, M);
    assertClose(await r[3], [ce.loss], { atol: 1e-5, rtol: 1e-5, label: `loss ${label}` });
    assertClose(await r[4], ce.dlogp, { atol: 1e-7, rtol: 1e-6, label: `ce dlogp ${label}` });
  }
});

Deno.test("token head: CPU dlogits matches finite differences of logp (float64)", () => {
  const rows = 3, v = 5, TG = [4, 0, 2];
  const Z = Float64Array.from(randomArray(1, rows * v, 3)), DL = Float64Array.from(randomArray(2, rows));
  const f = (z: ArrayLike<number>) => tokenLogprobsCpu(z, TG, v).logp.reduce((s, x, i) => s + x * DL[i], 0);
  const { lse } = tokenLogprobsCpu(Z, TG, v);
  assertClose(logitsBackwardCpu(Z, TG, lse, DL, v), fdGrad(f, Z), { atol: 1e-8, label: "dlogits vs FD" });
  // And the entropy against its definition.
  const { entropy } = tokenLogprobsCpu(Z, TG, v);
  const p = Array.from({ length: v }, (_, j) => Math.exp(Z[j] - lse[0]));
  assert.ok(Math.abs(entropy[0] + p.reduce((s, x) => s + x * Math.log(x), 0)) < 1e-12);
});

gpuTest(
  "token head: masked-out NaN targets are ignored, an empty mask gives 0, runs are bitwise equal",
  async (gpu) => {
    const v = 4;
    const logits = gpu.fromArray(randomArray(3, 3 * v), [3, v]);
    const targets = gpu.fromArray(new Uint32Array([1, 9, 2]), [3]); // 9 is out of range: NaN logp
    const [logp, ent, lse, g1, g2] = [0, 1, 2, 3, 4].map(() => gpu.tensor([3]));
    const [l1, l2, l3] = [0, 1, 2].map(() => gpu.tensor([1]));
    const enc = gpu.encoder();
    tokenLogprobs(enc, logits, targets, logp, ent, lse);
    crossEntropyLoss(enc, logp, gpu.fromArray([1, 0, 1]), l1, g1);
    crossEntropyLoss(enc, logp, gpu.fromArray([0, 0, 0]), l2, g2);
    crossEntropyLoss(enc, logp, gpu.fromArray([1, 1, 1]), l3, g2);
    const r = [logp, l1, l2, g2, l3].map((t) => enc.read(t));
    await enc.submit();
    const lp = await r[0];
    assert.ok(Number.isNaN(lp[1]));
    assertClose(await r[1], [-(lp[0] + lp[2]) / 2], { label: "masked loss" });
    assert.deepEqual([...await r[2]], [0]);
    assert.ok(Number.isNaN((await r[4])[0]), "an unmasked bad target must show up as NaN");
    const again = gpu.tensor([1]);
    const e2 = gpu.encoder();
    crossEntropyLoss(e2, logp, gpu.fromArray([1, 0, 1]), again, g1);
    const ra = e2.read(again);
    await e2.submit();
    assertBitwiseEqual(await ra, await r[1], "loss");
    assert.throws(() => tokenLogprobs(gpu.encoder(), logits, gpu.tensor([3]), logp, ent, lse), TypeError);
    assert.throws(() => tokenLogprobs(gpu.encoder(), logits, targets, gpu.tensor([4]), ent, lse), {
      name: "RangeError",
      message: /logp \('tensor'\) has 4 values, expected 3/,
    });
  },
);
