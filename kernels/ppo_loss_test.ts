import assert from "node:assert/strict";
import type { Gpu } from "./gpu.ts";
import { f32, fdGrad, responseMask } from "./loss_testing.ts";
import {
  PPO_ACTOR_STATS,
  type PpoActorCpuInputs,
  ppoActorLoss,
  ppoActorLossCpu,
  type PpoActorOptions,
} from "./ppo_loss.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

async function runActor(gpu: Gpu, x: PpoActorCpuInputs, B: number, T: number, o: PpoActorOptions = {}) {
  const t = (a: ArrayLike<number>) => gpu.fromArray(f32(a), [B, T]);
  const loss = gpu.tensor([1]), dlogp = gpu.tensor([B, T]), stats = gpu.tensor([PPO_ACTOR_STATS.length]);
  const enc = gpu.encoder("ppo actor test");
  ppoActorLoss(enc, { logp: t(x.logp), logpOld: t(x.logpOld), advantages: t(x.advantages), mask: t(x.mask) }, {
    loss,
    dlogp,
    stats,
  }, o);
  const r = [enc.read(loss), enc.read(dlogp), enc.read(stats)];
  await enc.submit();
  const [l, g, s] = await Promise.all(r);
  return { loss: l[0], dlogp: g, stats: s };
}

/** Random mini-batch with ratios spread across both clip bounds. */
function randomBatch(seed: number, B: number, T: number): PpoActorCpuInputs {
  const rng = new Rng(seed);
  const logpOld = randomArray(rng.split("old"), B * T, 2).map((v) => v - 3);
  const d = randomArray(rng.split("d"), B * T, 0.4);
  return {
    logp: f32(logpOld.map((v, i) => v + d[i])),
    logpOld,
    advantages: randomArray(rng.split("a"), B * T, 2),
    mask: responseMask(seed + 1, B, T, true).mask,
  };
}

gpuTest("ppo actor: hand-computed loss, gradient and stats (eps = 0.2)", async (gpu) => {
  // Token  ρ    A    −Aρ   −A·clip(ρ, 0.8, 1.2)  max           ∂/∂logp = −Aρ/N unless the clipped term wins
  // 0      1.5  +1   −1.5  −1.2                  −1.2 (clip)   0
  // 1      0.5  +2   −1.0  −1.6                  −1.0          −1.0 / 4 = −0.25
  // 2      1.1  −1   +1.1  +1.1                  +1.1          +1.1 / 4 = 0.275
  // 3      0.5  −1   +0.5  +0.8                  +0.8 (clip)   0
  // 4      prompt (mask 0), ignored.
  // N = 4: loss = (−1.2 − 1.0 + 1.1 + 0.8) / 4 = −0.075; clip_frac = 2/4; ratio_mean = 3.6 / 4 = 0.9;
  // approx_kl = mean of (ρ − 1) − ln ρ = (0.0945349 + 0.1931472 + 0.0046898 + 0.1931472) / 4 = 0.1213798.
  const logpOld = [-1, -2, -0.5, -1.2, 7];
  const rho = [1.5, 0.5, 1.1, 0.5, 3];
  const x = {
    logp: logpOld.map((v, i) => v + Math.log(rho[i])),
    logpOld,
    advantages: [1, 2, -1, -1, 9],
    mask: [1, 1, 1, 1, 0],
  };
  const got = await runActor(gpu, x, 1, 5);
  assertClose([got.loss], [-0.075], { atol: 1e-6, label: "loss" });
  assertClose(got.dlogp, [0, -0.25, 0.275, 0, 0], { atol: 1e-6, label: "dlogp" });
  assertClose(got.stats, [-0.075, 0.1213798, 0.5, 0.9, 0, 4], { atol: 1e-6, label: "stats" });
  assertClose([ppoActorLossCpu(f32Batch(x)).loss], [-0.075], { atol: 1e-6, label: "cpu loss" });
});

function f32Batch(x: PpoActorCpuInputs): PpoActorCpuInputs {
  return { logp: f32(x.logp), logpOld: f32(x.logpOld), advantages: f32(x.advantages), mask: f32(x.mask) };
}

gpuTest("ppo actor: early stop zeroes loss and gradient when mean ratio > 5, on the GPU", async (gpu) => {
  // Two tokens with ρ = 6, A = −1: −Aρ = 6 beats −A·1.2 = 1.2, so loss = 6 and ∂/∂logp = 6 / 2 = 3 each.
  // Mean ratio 6 > 5: the applied loss and gradient are 0, the logged surrogate stays 6, early_stopped = 1.
  const x = { logp: [Math.log(6), Math.log(6)], logpOld: [0, 0], advantages: [-1, -1], mask: [1, 1] };
  const stopped = await runActor(gpu, x, 1, 2);
  assert.equal(stopped.loss, 0);
  assertClose(stopped.dlogp, [0, 0], { atol: 0, label: "stopped dlogp" });
  assertClose(stopped.stats, [6, 5 - Math.log(6), 0, 6, 1, 2], { atol: 1e-5, label: "stopped stats" });
  const free = await runActor(gpu, x, 1, 2, { earlyStopRatio: null });
  assertClose([free.loss, ...free.dlogp], [6, 3, 3], { atol: 1e-5, label: "no early stop" });
  const higher = await runActor(gpu, x, 1, 2, { earlyStopRatio: 7 });
  assert.equal(higher.stats[4], 0);
});

Deno.test("ppo actor: CPU gradient equals float64 finite differences", () => {
  const x = randomBatch(11, 3, 17);
  const loss = (lp: Float64Array) => ppoActorLossCpu({ ...x, logp: lp }, { earlyStopRatio: null }).loss;
  const want = fdGrad(loss, x.logp);
  const got = ppoActorLossCpu(x, { earlyStopRatio: null }).dlogp;
  assertClose(got, want, { atol: 1e-8, rtol: 1e-6, label: "fd dlogp" });
  assert.ok(ppoActorLossCpu(x).stats[2] > 0.1, "the batch exercises clipping");
});

gpuTest("ppo actor: matches the CPU reference on awkward shapes up to 512 x 256; bitwise reproducible", async (gpu) => {
  for (const [i, [B, T]] of [[1, 1], [7, 63], [65, 7], [3, 129], [129, 65], [512, 256]].entries()) {
    const x = randomBatch(20 + i, B, T);
    const got = await runActor(gpu, x, B, T);
    const want = ppoActorLossCpu(x);
    const n = Math.max(1, want.stats[5]);
    const label = `[${B}, ${T}]`;
    assertClose([got.loss], [want.loss], { atol: 1e-6, rtol: 1e-4, label: `loss ${label}` });
    const r = assertClose(got.dlogp, want.dlogp, { atol: 1e-6 / n, rtol: 1e-5, label: `dlogp ${label}` });
    assertClose(got.stats, want.stats, { atol: 1e-6, rtol: 1e-4, label: `stats ${label}` });
    if (B * T > 1e5) {
      console.log(`ppo actor ${label}: max |dlogp diff| ${r.maxAbs.toExponential(2)}, stats ${got.stats.join(", ")}`);
      const again = await runActor(gpu, x, B, T);
      assertBitwiseEqual([again.loss, ...again.dlogp, ...again.stats], [got.loss, ...got.dlogp, ...got.stats]);
    }
  }
});

gpuTest("ppo actor: logp and dlogp in one arena; bad input throws", async (gpu) => {
  const B = 4, T = 33, x = randomBatch(3, B, T);
  const arena = gpu.tensor([384]);
  const logp = arena.view(0, [B, T]), dlogp = arena.view(192, [B, T]);
  logp.write(f32(x.logp));
  const [loss, stats] = [gpu.tensor([1]), gpu.tensor([6])];
  const t = (a: ArrayLike<number>) => gpu.fromArray(f32(a), [B, T]);
  const inputs = { logp, logpOld: t(x.logpOld), advantages: t(x.advantages), mask: t(x.mask) };
  const enc = gpu.encoder();
  ppoActorLoss(enc, inputs, { loss, dlogp, stats });
  const r = enc.read(dlogp);
  await enc.submit();
  assertClose(await r, ppoActorLossCpu(x).dlogp, { atol: 1e-7, rtol: 1e-5, label: "arena dlogp" });
  const e = gpu.encoder();
  const out = { loss, dlogp: gpu.tensor([B, T]), stats };
  assert.throws(
    () => ppoActorLoss(e, { ...inputs, mask: gpu.tensor([B, T + 1]) }, out),
    /mask must have shape \[4, 33\]/,
  );
  assert.throws(() => ppoActorLoss(e, inputs, { ...out, loss: gpu.tensor([2]) }), /loss must have shape \[1\]/);
  assert.throws(() => ppoActorLoss(e, inputs, out, { clipEps: 1 }), /clipEps must be in \(0, 1\)/);
  assert.throws(() => ppoActorLoss(e, inputs, out, { earlyStopRatio: 0.5 }), /earlyStopRatio/);
  assert.throws(() => ppoActorLoss(e, inputs, { ...out, dlogp: arena.view(64, [B, T]) }), /overlaps output 'dlogp'/);
});
