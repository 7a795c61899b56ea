import assert from "node:assert/strict";
import type { Gpu } from "./gpu.ts";
import { f32, fdGrad } from "./loss_testing.ts";
import {
  PRO_STATS,
  proLoss,
  proLossCpu,
  type RankingCpuResult,
  RRHF_STATS,
  rrhfLoss,
  rrhfLossCpu,
} from "./ranking_loss.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

async function runRank(
  gpu: Gpu,
  kind: "rrhf" | "pro",
  logp: ArrayLike<number>,
  rewards: ArrayLike<number>,
  G: number,
  k: number,
) {
  const loss = gpu.tensor([1]), dlogp = gpu.tensor([G, k]), best = gpu.tensor([G], "u32");
  const stats = gpu.tensor([kind === "rrhf" ? RRHF_STATS.length : PRO_STATS.length]);
  const inputs = { logp: gpu.fromArray(f32(logp), [G, k]), rewards: gpu.fromArray(f32(rewards), [G, k]) };
  const enc = gpu.encoder("ranking test");
  (kind === "rrhf" ? rrhfLoss : proLoss)(enc, inputs, { loss, dlogp, best, stats });
  const [l, d, b, s] = [enc.read(loss), enc.read(dlogp), enc.read(best), enc.read(stats)];
  await enc.submit();
  return { loss: (await l)[0], dlogp: await d, best: await b, stats: await s };
}

gpuTest("rrhf: hand-computed hinge over reward-ordered pairs, ties ignored, best index", async (gpu) => {
  // Group 0: rewards 1, 3, 2; p −1, −2, −0.5. Pairs with r_i < r_j:
  //   (0, 1): p0 − p1 = 1 > 0 -> 1;  (0, 2): −0.5 -> 0;  (2, 1): p2 − p1 = 1.5 -> 1.5.  Sum 2.5.
  //   ∂/∂p: p0 +1, p1 −1 −1 = −2, p2 +1. Best = index 1.
  // Group 1: rewards 0, 0, 5 (0 and 1 tied: no pair); p −1, −3, −2.
  //   (0, 2): 1 -> 1;  (1, 2): −1 -> 0.  Sum 1.  ∂/∂p: p0 +1, p2 −1. Best = index 2.
  // Mean over G = 2: loss 1.75, gradients halved. pair_accuracy: (0,2) of group 0 and (1,2) of group 1 are ordered
  // right (p_i < p_j): 2 of 5 = 0.4; pairs_per_group 5/2 = 2.5.
  const logp = [-1, -2, -0.5, /**/ -1, -3, -2], rewards = [1, 3, 2, /**/ 0, 0, 5];
  const got = await runRank(gpu, "rrhf", logp, rewards, 2, 3);
  assertClose([got.loss], [1.75], { atol: 1e-6, label: "loss" });
  assertClose(got.dlogp, [0.5, -1, 0.5, /**/ 0.5, 0, -0.5], { atol: 1e-7, label: "dlogp" });
  assert.deepEqual([...got.best], [1, 2]);
  assertClose(got.stats, [1.75, 0.4, 2.5], { atol: 1e-6, label: "stats" });
  // Tied p on an ordered pair: the authors' mask is strict (diff < 0), so no loss and no (sub)gradient.
  const tie = await runRank(gpu, "rrhf", [-1, -1], [0, 1], 1, 2);
  assertClose([tie.loss, ...tie.dlogp, ...tie.stats], [0, 0, 0, 0, 0, 1], { atol: 0, label: "tied p" });
});

gpuTest("pro: hand-computed listwise loss and gradient", async (gpu) => {
  // rewards 1, 3, 2 -> ranking y_1 = item 1 (p −2), y_2 = item 2 (p −0.5), y_3 = item 0 (p −1).
  // Σ_{i≥1} e^p = e^−2 + e^−0.5 + e^−1 = 1.1097454, log = 0.1041306; term 1 = 0.1041306 + 2 = 2.1041306.
  // Σ_{i≥2} e^p = e^−0.5 + e^−1 = 0.9744101, log = −0.0259230; term 2 = −0.0259230 + 0.5 = 0.4740770.
  // loss = 2.5782076.
  // ∂/∂p(y_1) = −1 + e^−2/1.1097454 = −0.8780483;
  // ∂/∂p(y_2) = −1 + e^−0.5/1.1097454 + e^−0.5/0.9744101 = 0.1690087;
  // ∂/∂p(y_3) = e^−1/1.1097454 + e^−1/0.9744101 = 0.7090396   (the three sum to 0: shift invariance).
  // top1: argmax p is item 2, y_1 is item 1 -> 0.
  const got = await runRank(gpu, "pro", [-1, -2, -0.5], [1, 3, 2], 1, 3);
  assertClose([got.loss], [2.5782076], { atol: 1e-6, label: "loss" });
  assertClose(got.dlogp, [0.7090396, -0.8780483, 0.1690087], { atol: 1e-6, label: "dlogp" });
  assert.deepEqual([...got.best], [1]);
  assertClose(got.stats, [2.5782076, 0], { atol: 1e-6, label: "stats" });
  // k = 1 has no ranking term.
  const one = await runRank(gpu, "pro", [-3], [1], 1, 1);
  assertClose([one.loss, one.dlogp[0]], [0, 0], { atol: 0, label: "k = 1" });
});

function randomGroups(seed: number, G: number, k: number, ties: boolean) {
  const rng = new Rng(seed);
  const logp = randomArray(rng.split("p"), G * k, 2).map((v) => v - 1);
  // Rewards on a coarse grid when `ties`, so equal rewards occur.
  const rewards = randomArray(rng.split("r"), G * k, 3).map((v) => (ties ? Math.round(v) : v));
  return { logp, rewards };
}

Deno.test("ranking losses: CPU gradients equal float64 finite differences", () => {
  for (const [name, fn] of [["rrhf", rrhfLossCpu], ["pro", proLossCpu]] as const) {
    for (const ties of [false, true]) {
      const { logp, rewards } = randomGroups(ties ? 2 : 1, 5, 6, ties);
      const want = fdGrad((p) => fn(p, rewards, 5, 6).loss, logp);
      assertClose(fn(logp, rewards, 5, 6).dlogp, want, { atol: 1e-8, rtol: 1e-6, label: `fd ${name} ties ${ties}` });
    }
  }
});

gpuTest("ranking losses: match the CPU reference on awkward G x k; reproducible", async (gpu) => {
  const shapes = [[1, 1], [1, 2], [7, 3], [63, 4], [65, 7], [129, 2], [300, 16], [2, 64]];
  for (const [i, [G, k]] of shapes.entries()) {
    const { logp, rewards } = randomGroups(50 + i, G, k, i % 2 === 1);
    for (const [name, fn] of [["rrhf", rrhfLossCpu], ["pro", proLossCpu]] as const) {
      const got = await runRank(gpu, name, logp, rewards, G, k);
      const want: RankingCpuResult = fn(f32(logp), f32(rewards), G, k);
      const label = `${name} [${G}, ${k}]`;
      assertClose([got.loss], [want.loss], { atol: 1e-5, rtol: 1e-5, label: `loss ${label}` });
      assertClose(got.dlogp, want.dlogp, { atol: 1e-5 / G, rtol: 1e-4, label: `dlogp ${label}` });
      assert.deepEqual([...got.best], [...want.best], `best ${label}`);
      assertClose(got.stats, want.stats, { atol: 1e-5, rtol: 1e-4, label: `stats ${label}` });
      if (G === 300) {
        const again = await runRank(gpu, name, logp, rewards, G, k);
        assertBitwiseEqual([again.loss, ...again.dlogp], [got.loss, ...got.dlogp], `${label} twice`);
      }
    }
  }
});

gpuTest("ranking losses: bad input throws naming the operand", (gpu) => {
  const x = { logp: gpu.tensor([2, 3]), rewards: gpu.tensor([2, 3]) };
  const out = {
    loss: gpu.tensor([1]),
    dlogp: gpu.tensor([2, 3]),
    best: gpu.tensor([2], "u32"),
    stats: gpu.tensor([3]),
  };
  const enc = gpu.encoder();
  assert.throws(() => rrhfLoss(enc, { ...x, rewards: gpu.tensor([3, 2]) }, out), /rewards must have shape \[2, 3\]/);
  assert.throws(() => rrhfLoss(enc, x, { ...out, best: gpu.tensor([2]) }), /best must be a u32 \[2\]/);
  assert.throws(() => rrhfLoss(enc, { ...x, logp: gpu.tensor([6]) }, out), /\[G, k\]/);
  assert.throws(() => proLoss(enc, x, out), /stats must hold 2 values/);
  const big = { logp: gpu.tensor([1, 65]), rewards: gpu.tensor([1, 65]) };
  const bigOut = { ...out, dlogp: gpu.tensor([1, 65]), best: gpu.tensor([1], "u32"), stats: gpu.tensor([2]) };
  assert.throws(() => proLoss(enc, big, bigOut), /at most 64, got 65/);
});
