import assert from "node:assert/strict";
import type { Gpu } from "./gpu.ts";
import { f32, fdGrad } from "./loss_testing.ts";
import {
  PREFERENCE_STATS,
  type PreferenceCpuInputs,
  preferenceLoss,
  preferenceLossCpu,
  type PreferenceOptions,
} from "./preference_loss.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

async function runPref(gpu: Gpu, x: PreferenceCpuInputs, o: PreferenceOptions = {}) {
  const P = x.policyChosen.length;
  const t = (a: ArrayLike<number>) => gpu.fromArray(f32(a), [P]);
  const loss = gpu.tensor([1]), dChosen = gpu.tensor([P]), dRejected = gpu.tensor([P]);
  const stats = gpu.tensor([PREFERENCE_STATS.length]);
  const enc = gpu.encoder("preference test");
  preferenceLoss(
    enc,
    {
      policyChosen: t(x.policyChosen),
      policyRejected: t(x.policyRejected),
      refChosen: t(x.refChosen),
      refRejected: t(x.refRejected),
    },
    { loss, dChosen, dRejected, stats },
    o,
  );
  const r = [enc.read(loss), enc.read(dChosen), enc.read(dRejected), enc.read(stats)];
  await enc.submit();
  const [l, c, rj, s] = await Promise.all(r);
  return { loss: l[0], dChosen: c, dRejected: rj, stats: s };
}

// Pair 0: log-ratios chosen −10 − (−12) = 2, rejected −15 − (−14) = −1, h = 3.
// Pair 1: chosen −5 − (−4) = −1, rejected −6 − (−7) = 1, h = −2.
const HAND: PreferenceCpuInputs = {
  policyChosen: [-10, -5],
  refChosen: [-12, -4],
  policyRejected: [-15, -6],
  refRejected: [-14, -7],
};

gpuTest("dpo: hand-computed loss, gradients and stats (beta = 0.1)", async (gpu) => {
  // z = βh = 0.3 and −0.2. ℓ = −log σ(z) = log(1 + e^−z): log(1.7408182) = 0.5543552, log(2.2214028) = 0.7981389;
  // loss = (0.5543552 + 0.7981389) / 2 = 0.6762471.
  // ℓ'(h) = −β σ(−z): −0.1·0.4255575 = −0.0425557, −0.1·0.5498340 = −0.0549834; divided by P = 2:
  // dChosen = −0.0212779, −0.0274917, dRejected = their negatives.
  // Stats: chosen rewards β·(2, −1) -> mean 0.05; rejected β·(−1, 1) -> mean 0; margin 0.05;
  // accuracy: 0.2 > −0.1 yes, −0.1 > 0.1 no -> 0.5.
  const got = await runPref(gpu, HAND);
  assertClose([got.loss], [0.6762471], { atol: 1e-6, label: "loss" });
  assertClose(got.dChosen, [-0.0212779, -0.0274917], { atol: 1e-7, label: "dChosen" });
  assertClose(got.dRejected, [0.0212779, 0.0274917], { atol: 1e-7, label: "dRejected" });
  assertClose(got.stats, [0.6762471, 0.05, 0, 0.05, 0.5], { atol: 1e-6, label: "stats" });
});

gpuTest("conservative dpo (eps = 0.1) and ipo: hand-computed", async (gpu) => {
  // cDPO: ℓ = 0.9·softplus(−z) + 0.1·softplus(z). Pair 0 (z = 0.3): 0.9·0.5543552 + 0.1·0.8543552 = 0.5843552;
  // pair 1 (z = −0.2): 0.9·0.7981389 + 0.1·0.5981389 = 0.7781389; loss = 0.6812471.
  // ℓ'(h) = β(ε σ(z) − (1 − ε) σ(−z)): 0.1(0.1·0.5744425 − 0.9·0.4255575) = −0.0325557,
  // 0.1(0.1·0.4501660 − 0.9·0.5498340) = −0.0449834; dChosen = those / 2.
  const c = await runPref(gpu, HAND, { labelSmoothing: 0.1 });
  assertClose([c.loss], [0.6812471], { atol: 1e-6, label: "cdpo loss" });
  assertClose(c.dChosen, [-0.0162779, -0.0224917], { atol: 1e-7, label: "cdpo dChosen" });
  // IPO, 1/(2β) = 5: ℓ = (3 − 5)² = 4 and (−2 − 5)² = 49, loss 26.5; ℓ' = 2(h − 5) = −4, −14; / 2 -> −2, −7.
  const i = await runPref(gpu, HAND, { kind: "ipo" });
  assertClose([i.loss], [26.5], { atol: 1e-5, label: "ipo loss" });
  assertClose(i.dChosen, [-2, -7], { atol: 1e-5, label: "ipo dChosen" });
  assertClose(i.dRejected, [2, 7], { atol: 1e-5, label: "ipo dRejected" });
});

gpuTest("dpo: stable for large |beta h| (softplus form, no overflow or log 0)", async (gpu) => {
  // h = ±2000, β = 0.1: z = ±200. −log σ(200) = log1p(e^−200) ≈ 1.4e−87 (0 in f32), −log σ(−200) = 200 exactly;
  // ℓ' = −0.1 σ(−z): ≈ 0 and −0.1. Naive log(σ(z)) would give −log(0) = ∞ for the second pair.
  const x = { policyChosen: [0, 0], refChosen: [-2000, 2000], policyRejected: [0, 0], refRejected: [0, 0] };
  const got = await runPref(gpu, x);
  assertClose([got.loss], [100], { atol: 1e-4, label: "loss" });
  assertClose(got.dChosen, [0, -0.05], { atol: 1e-7, label: "dChosen" });
});

function randomPairs(seed: number, P: number): PreferenceCpuInputs {
  const rng = new Rng(seed);
  const base = randomArray(rng.split("b"), P, 30).map((v) => v - 60);
  return {
    policyChosen: f32(base.map((v, i) => v + 5 * Math.sin(i))),
    refChosen: base,
    policyRejected: randomArray(rng.split("pr"), P, 30).map((v) => v - 60),
    refRejected: randomArray(rng.split("rr"), P, 30).map((v) => v - 60),
  };
}

const VARIANTS: PreferenceOptions[] = [{}, { labelSmoothing: 0.2, beta: 0.5 }, { kind: "ipo", beta: 0.3 }];

Deno.test("preference losses: CPU gradients equal float64 finite differences", () => {
  const x = randomPairs(1, 9);
  for (const o of VARIANTS) {
    const ref = preferenceLossCpu(x, o);
    const fc = fdGrad((v) => preferenceLossCpu({ ...x, policyChosen: v }, o).loss, x.policyChosen);
    const fr = fdGrad((v) => preferenceLossCpu({ ...x, policyRejected: v }, o).loss, x.policyRejected);
    assertClose(ref.dChosen, fc, { atol: 1e-8, rtol: 1e-6, label: `fd dChosen ${JSON.stringify(o)}` });
    assertClose(ref.dRejected, fr, { atol: 1e-8, rtol: 1e-6, label: `fd dRejected ${JSON.stringify(o)}` });
  }
});

gpuTest("preference losses: match the CPU reference for P = 1, 7, 63, 65, 129, 4097; reproducible", async (gpu) => {
  for (const P of [1, 7, 63, 65, 129, 4097]) {
    const x = randomPairs(P, P);
    for (const o of VARIANTS) {
      const got = await runPref(gpu, x, o), want = preferenceLossCpu(x, o);
      const label = `P = ${P} ${JSON.stringify(o)}`;
      const scale = Math.max(1e-3, ...want.dChosen.map(Math.abs));
      assertClose([got.loss], [want.loss], { atol: 1e-5, rtol: 1e-5, label: `loss ${label}` });
      assertClose(got.dChosen, want.dChosen, { atol: 1e-5 * scale, rtol: 1e-4, label: `dChosen ${label}` });
      assertClose(got.dRejected, want.dRejected, { atol: 1e-5 * scale, rtol: 1e-4, label: `dRejected ${label}` });
      assertClose(got.stats, want.stats, { atol: 1e-5, rtol: 1e-4, label: `stats ${label}` });
      if (P === 4097) {
        const again = await runPref(gpu, x, o);
        assertBitwiseEqual([again.loss, ...again.dChosen, ...again.stats], [got.loss, ...got.dChosen, ...got.stats]);
      }
    }
  }
});

gpuTest("preference losses: bad input throws naming the operand or field", (gpu) => {
  const v = gpu.tensor([3]);
  const x = { policyChosen: v, policyRejected: v, refChosen: v, refRejected: v };
  const out = { loss: gpu.tensor([1]), dChosen: gpu.tensor([3]), dRejected: gpu.tensor([3]), stats: gpu.tensor([5]) };
  const enc = gpu.encoder();
  assert.throws(
    () => preferenceLoss(enc, { ...x, refRejected: gpu.tensor([4]) }, out),
    /refRejected must have shape \[3\]/,
  );
  assert.throws(() => preferenceLoss(enc, { ...x, policyChosen: gpu.tensor([0]) }, out), /non-empty \[P\]/);
  assert.throws(() => preferenceLoss(enc, x, out, { beta: 0 }), /beta must be in \(0/);
  assert.throws(() => preferenceLoss(enc, x, out, { labelSmoothing: 0.5 }), /labelSmoothing must be in \[0, 0.5\)/);
  assert.throws(() => preferenceLoss(enc, x, out, { kind: "ipo", labelSmoothing: 0.1 }), /"dpo" only/);
  assert.throws(() => preferenceLoss(enc, x, out, { kind: "simpo" as "dpo" }), /kind must be/);
});
