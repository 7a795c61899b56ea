import assert from "node:assert/strict";
import type { Gpu } from "./gpu.ts";
import { KL_REWARD_STATS, klReward, klRewardCpu, type KlRewardCpuInputs, type KlRewardOptions } from "./kl_reward.ts";
import { bernoulli, f32, responseMask } from "./loss_testing.ts";
import { Rng } from "./rng.ts";
import { assertClose, gpuTest, randomArray } from "./testing.ts";

async function runKl(gpu: Gpu, x: KlRewardCpuInputs, B: number, T: number, o: KlRewardOptions) {
  const t = (a: ArrayLike<number>, shape: number[]) => gpu.fromArray(f32(a), shape);
  const rewards = gpu.tensor([B, T]), stats = gpu.tensor([KL_REWARD_STATS.length]);
  const enc = gpu.encoder("kl reward test");
  klReward(
    enc,
    {
      logpOld: t(x.logpOld, [B, T]),
      logpRef: t(x.logpRef, [B, T]),
      mask: t(x.mask, [B, T]),
      scores: t(x.scores, [B]),
      terminated: t(x.terminated, [B]),
    },
    rewards,
    stats,
    o,
  );
  const [r, s] = [enc.read(rewards), enc.read(stats)];
  await enc.submit();
  return { rewards: await r, stats: await s };
}

// B = 2, T = 4. Row 0: prompt t = 0, response t = 1..2, padding t = 3, ended with EOS, score 3.
// Row 1: response t = 0..3, truncated, score 25 (clipped to 20). The 9s are off the mask.
const HAND: KlRewardCpuInputs = {
  logpOld: [9, -1.0, -2.0, 9, /**/ -0.5, -0.5, -3, -0.2],
  logpRef: [9, -1.5, -1.0, 9, /**/ -0.5, -1.5, -2, -0.2],
  mask: [0, 1, 1, 0, /**/ 1, 1, 1, 1],
  scores: [3, 25],
  terminated: [1, 0],
};

gpuTest(
  "kl reward: hand-computed k1 (ReaLHF): penalty, score at the last token only if terminated, clip",
  async (gpu) => {
    // k1 = logpOld − logpRef. Row 0: kl1 = −1 + 1.5 = 0.5, kl2 = −2 + 1 = −1 -> r1 = −0.1·0.5 = −0.05,
    //   r2 = −0.1·(−1) + 3 = 3.1. Row 1: kl = 0, 1, −1, 0 -> r = 0, −0.1, 0.1, 0, and no score (truncated).
    // Stats: Σkl per sequence −0.5 and 0 -> kl_seq_mean −0.25; kl_token_mean −0.5 / 6; score_mean (3 + 20) / 2 = 11.5;
    //   task_reward_mean 3 / 2 = 1.5; terminated_frac 0.5; response_len_mean 6 / 2 = 3.
    const want = [0, -0.05, 3.1, 0, /**/ 0, -0.1, 0.1, 0];
    const wantStats = [-0.25, -0.5 / 6, 11.5, 1.5, 0.5, 3];
    const got = await runKl(gpu, HAND, 2, 4, {});
    assertClose(got.rewards, want, { atol: 1e-6, label: "rewards" });
    assertClose(got.stats, wantStats, { atol: 1e-6, label: "stats" });
    assertClose(klRewardCpu(HAND, 2, 4).rewards, want, { atol: 1e-12, label: "cpu rewards" });
    // scoreTruncated: row 1's last token also gets the clipped 20; task_reward_mean = (3 + 20) / 2 = 11.5.
    const all = await runKl(gpu, HAND, 2, 4, { scoreTruncated: true });
    assertClose(all.rewards, [0, -0.05, 3.1, 0, /**/ 0, -0.1, 0.1, 20], { atol: 1e-6, label: "scoreTruncated" });
    assert.equal(all.stats[3], 11.5);
    // Affine transform then clip: (3 − 1)·2 = 4 at row 0; (25 − 1)·2 = 48 -> 20 is not given (truncated).
    const aff = await runKl(gpu, HAND, 2, 4, { bias: 1, scale: 2, beta: 0 });
    assertClose(aff.rewards, [0, 0, 4, 0, 0, 0, 0, 0], { atol: 1e-6, label: "affine" });
    const neg = await runKl(gpu, { ...HAND, scores: [-30, 0] }, 2, 4, { beta: 0 });
    assertClose(neg.rewards, [0, 0, -20, 0, 0, 0, 0, 0], { atol: 0, label: "clip below" });
  },
);

gpuTest("kl reward: hand-computed k3 = (ρ − 1) − log ρ with ρ = π_ref/π_old, and its small-d accuracy", async (gpu) => {
  // d = log ρ = logpRef − logpOld. Row 0: d1 = −0.5 -> e^−0.5 − 1 + 0.5 = 0.10653066; d2 = 1 -> e − 2 = 0.71828183.
  //   r1 = −0.010653066, r2 = −0.071828183 + 3 = 2.928171817.
  // Row 1: d = 0, −1, 1, 0 -> k3 = 0, e^−1 = 0.36787944, 0.71828183, 0 -> r = 0, −0.036787944, −0.071828183, 0.
  const want = [0, -0.010653066, 2.928171817, 0, /**/ 0, -0.036787944, -0.071828183, 0];
  const got = await runKl(gpu, HAND, 2, 4, { estimator: "k3" });
  assertClose(got.rewards, want, { atol: 1e-6, label: "k3 rewards" });
  // k3 ≈ d²/2 for small d: the naive e^d − 1 − d in f32 would have no correct digit at d = 1e-4.
  const d = [1e-4, -3e-3, 0.4999, 0.5001, -0.4999, -0.5001, 2];
  const n = d.length;
  const x = {
    logpOld: new Float32Array(n).fill(-2),
    logpRef: f32(d.map((v) => -2 + v)),
    mask: new Float32Array(n).fill(1),
    scores: [0],
    terminated: [0],
  };
  const g = await runKl(gpu, x, 1, n, { estimator: "k3", beta: 1 });
  const w = klRewardCpu(x, 1, n, { estimator: "k3", beta: 1 });
  assertClose(g.rewards, w.rewards, { atol: 0, rtol: 2e-5, label: "k3 accuracy" });
});

gpuTest("kl reward: matches the CPU reference on awkward shapes, both estimators, empty responses", async (gpu) => {
  for (const [i, [B, T]] of [[1, 1], [7, 63], [65, 7], [3, 129], [129, 65], [512, 256]].entries()) {
    const rng = new Rng(500 + i);
    const logpOld = randomArray(rng.split("o"), B * T, 2).map((v) => v - 2);
    const x: KlRewardCpuInputs = {
      logpOld,
      logpRef: logpOld.map((v, j) => v + 0.3 * Math.sin(j)),
      mask: responseMask(600 + i, B, T, true).mask,
      scores: randomArray(rng.split("s"), B, 30),
      terminated: bernoulli(700 + i, B),
    };
    for (const o of [{}, { estimator: "k3" as const, beta: 0.05, scoreTruncated: true, clip: 5 }]) {
      const got = await runKl(gpu, x, B, T, o);
      const want = klRewardCpu(x, B, T, o);
      const label = `[${B}, ${T}] ${JSON.stringify(o)}`;
      assertClose(got.rewards, want.rewards, { atol: 1e-6, rtol: 1e-5, label: `rewards ${label}` });
      assertClose(got.stats, want.stats, { atol: 1e-5, rtol: 1e-4, label: `stats ${label}` });
    }
  }
});

gpuTest("kl reward: bad input throws naming the operand or field", (gpu) => {
  const a = gpu.tensor([2, 4]), s = gpu.tensor([2]), st = gpu.tensor([6]);
  const x = { logpOld: a, logpRef: a, mask: a, scores: s, terminated: s };
  const enc = gpu.encoder();
  assert.throws(() => klReward(enc, { ...x, logpRef: gpu.tensor([2, 3]) }, a, st), /logpRef must have shape \[2, 4\]/);
  assert.throws(() => klReward(enc, { ...x, scores: gpu.tensor([4]) }, a, st), /scores must have shape \[2\]/);
  assert.throws(() => klReward(enc, x, a, gpu.tensor([5])), /stats must hold 6 values/);
  assert.throws(() => klReward(enc, x, a, st, { beta: -1 }), /beta must be in/);
  assert.throws(() => klReward(enc, x, a, st, { clip: 0 }), /clip must be in/);
  assert.throws(() => klReward(enc, x, a, st, { estimator: "k2" as "k1" }), /estimator must be/);
});
