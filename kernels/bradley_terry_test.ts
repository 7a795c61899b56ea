import assert from "node:assert/strict";
import { BRADLEY_TERRY_STATS, bradleyTerryLoss, bradleyTerryLossCpu } from "./bradley_terry.ts";
import type { Gpu } from "./gpu.ts";
import { f32, fdGrad } from "./loss_testing.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

async function runBt(gpu: Gpu, chosen: ArrayLike<number>, rejected: ArrayLike<number>, weights?: ArrayLike<number>) {
  const P = chosen.length;
  const t = (a: ArrayLike<number>) => gpu.fromArray(f32(a), [P]);
  const loss = gpu.tensor([1]), dChosen = gpu.tensor([P]), dRejected = gpu.tensor([P]);
  const stats = gpu.tensor([BRADLEY_TERRY_STATS.length]);
  const enc = gpu.encoder("bt test");
  bradleyTerryLoss(enc, { chosen: t(chosen), rejected: t(rejected), weights: weights && t(weights) }, {
    loss,
    dChosen,
    dRejected,
    stats,
  });
  const r = [enc.read(loss), enc.read(dChosen), enc.read(dRejected), enc.read(stats)];
  await enc.submit();
  const [l, c, rj, s] = await Promise.all(r);
  return { loss: l[0], dChosen: c, dRejected: rj, stats: s };
}

gpuTest("bradley-terry: hand-computed, unweighted and with ReaLHF's 1/(pairs per prompt) weights", async (gpu) => {
  // Margins x = s_w − s_l = 1, −2, 0. −log σ(x) = log(1 + e^−x): 0.3132617, 2.1269280, 0.6931472.
  // Unweighted: loss = 3.1333369 / 3 = 1.0444456; ∂/∂s_w = −σ(−x)/3 = −0.2689414/3, −0.8807971/3, −0.5/3.
  // Stats: accuracy 1/3 (the tie is not a win), margin −1/3, chosen_mean 0.5/3, rejected_mean 1.5/3.
  const chosen = [1, 0.5, -1], rejected = [0, 2.5, -1];
  const u = await runBt(gpu, chosen, rejected);
  assertClose([u.loss], [1.0444456], { atol: 1e-6, label: "loss" });
  assertClose(u.dChosen, [-0.0896471, -0.2935990, -0.1666667], { atol: 1e-7, label: "dChosen" });
  assertClose(u.dRejected, [0.0896471, 0.2935990, 0.1666667], { atol: 1e-7, label: "dRejected" });
  assertClose(u.stats, [1.0444456, 1 / 3, -1 / 3, 0.5 / 3, 0.5], { atol: 1e-6, label: "stats" });
  // Pairs 0 and 1 share a prompt (weight 1/2 each), pair 2 is its prompt's only pair (weight 1); Σw = 2.
  // loss = (0.5·0.3132617 + 0.5·2.1269280 + 0.6931472) / 2 = 0.9566210;
  // ∂/∂s_w = −w σ(−x)/2 = −0.0672354, −0.2201993, −0.25.
  const w = await runBt(gpu, chosen, rejected, [0.5, 0.5, 1]);
  assertClose([w.loss], [0.9566210], { atol: 1e-6, label: "weighted loss" });
  assertClose(w.dChosen, [-0.0672354, -0.2201993, -0.25], { atol: 1e-7, label: "weighted dChosen" });
  assertClose(w.stats.slice(1), [1 / 3, -1 / 3, 0.5 / 3, 0.5], { atol: 1e-6, label: "stats are unweighted" });
  // Stable for a huge margin: −log σ(−300) = 300, gradient −1 (naive log σ would give −log 0 = ∞).
  const big = await runBt(gpu, [-150], [150]);
  assertClose([big.loss, big.dChosen[0]], [300, -1], { atol: 1e-4, label: "large margin" });
});

Deno.test("bradley-terry: CPU gradients equal float64 finite differences (weighted)", () => {
  const rng = new Rng(9);
  const c = randomArray(rng.split("c"), 11, 3), r = randomArray(rng.split("r"), 11, 3);
  const w = randomArray(rng.split("w"), 11, 0.5).map((v) => v + 0.6);
  const ref = bradleyTerryLossCpu(c, r, w);
  assertClose(ref.dChosen, fdGrad((v) => bradleyTerryLossCpu(v, r, w).loss, c), { atol: 1e-9, label: "fd dChosen" });
  assertClose(ref.dRejected, fdGrad((v) => bradleyTerryLossCpu(c, v, w).loss, r), { atol: 1e-9, label: "fd dRej" });
});

gpuTest("bradley-terry: matches the CPU reference for P = 1, 7, 63, 65, 129, 4097; reproducible", async (gpu) => {
  for (const P of [1, 7, 63, 65, 129, 4097]) {
    const rng = new Rng(P);
    const c = randomArray(rng.split("c"), P, 4), r = randomArray(rng.split("r"), P, 4);
    const w = randomArray(rng.split("w"), P, 0.5).map((v) => v + 0.5);
    for (const weights of [undefined, w]) {
      const got = await runBt(gpu, c, r, weights), want = bradleyTerryLossCpu(c, r, weights && f32(weights));
      const label = `P = ${P}${weights ? " weighted" : ""}`;
      assertClose([got.loss], [want.loss], { atol: 1e-6, rtol: 1e-5, label: `loss ${label}` });
      assertClose(got.dChosen, want.dChosen, { atol: 1e-6 / P, rtol: 1e-4, label: `dChosen ${label}` });
      assertClose(got.dRejected, want.dRejected, { atol: 1e-6 / P, rtol: 1e-4, label: `dRejected ${label}` });
      assertClose(got.stats, want.stats, { atol: 1e-5, rtol: 1e-4, label: `stats ${label}` });
      if (P === 4097) {
        const again = await runBt(gpu, c, r, weights);
        assertBitwiseEqual([again.loss, ...again.dChosen], [got.loss, ...got.dChosen]);
      }
    }
  }
});

gpuTest("bradley-terry: bad input throws naming the operand", (gpu) => {
  const v = gpu.tensor([3]);
  const out = { loss: gpu.tensor([1]), dChosen: gpu.tensor([3]), dRejected: gpu.tensor([3]), stats: gpu.tensor([5]) };
  const enc = gpu.encoder();
  assert.throws(() => bradleyTerryLoss(enc, { chosen: v, rejected: gpu.tensor([2]) }, out), /rejected must have shape/);
  assert.throws(() => bradleyTerryLoss(enc, { chosen: v, rejected: v, weights: gpu.tensor([4]) }, out), /weights/);
  assert.throws(
    () => bradleyTerryLoss(enc, { chosen: v, rejected: v }, { ...out, dChosen: gpu.tensor([2]) }),
    /dChosen/,
  );
  assert.throws(() => bradleyTerryLoss(enc, { chosen: gpu.tensor([3], "u32"), rejected: v }, out), TypeError);
});
