import assert from "node:assert/strict";
import type { Gpu } from "./gpu.ts";
import { grpoAdvantages, grpoAdvantagesCpu, type GrpoOptions } from "./grpo.ts";
import { f32, responseMask } from "./loss_testing.ts";
import { assertClose, gpuTest, randomArray } from "./testing.ts";

async function runGrpo(
  gpu: Gpu,
  rewards: ArrayLike<number>,
  mask: ArrayLike<number>,
  B: number,
  T: number,
  o: GrpoOptions,
) {
  const adv = gpu.tensor([B, T]);
  const enc = gpu.encoder("grpo test");
  grpoAdvantages(enc, { rewards: gpu.fromArray(f32(rewards), [B]), mask: gpu.fromArray(f32(mask), [B, T]) }, adv, o);
  const r = enc.read(adv);
  await enc.submit();
  return await r;
}

gpuTest("grpo: hand-computed group-normalised advantages broadcast over response tokens", async (gpu) => {
  // G = 2 groups of k = 3, T = 3. Group 0 rewards 1, 2, 6: mean 3, deviations −2, −1, 3, Σd² = 14.
  //   Unbiased std = √(14/2) = 2.6457513 -> A = d / (2.6457513 + 1e-4) = −0.7559004, −0.3779502, 1.1338506.
  //   Biased std = √(14/3) = 2.1602469 -> A = −0.9257772, −0.4628886, 1.3886659.
  // Group 1 rewards 5, 5, 5: std 0 -> A = 0 / 1e-4 = 0.
  // Masks: sequence 0 has response tokens t = 1..2, sequence 1 only t = 0, sequence 2 all, group 1 all.
  const rewards = [1, 2, 6, 5, 5, 5];
  const mask = [0, 1, 1, /**/ 1, 0, 0, /**/ 1, 1, 1, /**/ 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const [a0, a1, a2] = [-0.7559004, -0.3779502, 1.1338506];
  const want = [0, a0, a0, /**/ a1, 0, 0, /**/ a2, a2, a2, /**/ 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const got = await runGrpo(gpu, rewards, mask, 6, 3, { groupSize: 3 });
  assertClose(got, want, { atol: 1e-6, label: "unbiased" });
  const [b0, b1, b2] = [-0.9257772, -0.4628886, 1.3886659];
  const biased = await runGrpo(gpu, rewards, mask, 6, 3, { groupSize: 3, unbiased: false });
  assertClose(biased.slice(0, 9), [0, b0, b0, b1, 0, 0, b2, b2, b2], { atol: 1e-6, label: "biased" });
  assertClose(grpoAdvantagesCpu(rewards, mask, 6, 3, { groupSize: 3 }), want, { atol: 1e-7, label: "cpu" });
});

gpuTest("grpo: matches the CPU reference on awkward shapes (B up to 512, T up to 256)", async (gpu) => {
  const cases: [number, number, number][] = [[1, 1, 1], [7, 63, 7], [65, 7, 5], [3, 129, 3], [130, 65, 2], [
    512,
    256,
    8,
  ]];
  for (const [i, [B, T, k]] of cases.entries()) {
    const rewards = randomArray(800 + i, B, 5);
    const { mask } = responseMask(900 + i, B, T, true);
    const o = { groupSize: k, unbiased: k > 1 };
    const got = await runGrpo(gpu, rewards, mask, B, T, o);
    const r = assertClose(got, grpoAdvantagesCpu(rewards, mask, B, T, o), {
      atol: 1e-5,
      rtol: 1e-5,
      label: `grpo [${B}, ${T}] k = ${k}`,
    });
    if (B * T > 1e5) console.log(`grpo [${B}, ${T}] k = ${k}: max |diff| ${r.maxAbs.toExponential(2)}`);
  }
});

gpuTest("grpo: bad input throws naming the operand or field", (gpu) => {
  const enc = gpu.encoder();
  const x = { rewards: gpu.tensor([6]), mask: gpu.tensor([6, 4]) };
  const adv = gpu.tensor([6, 4]);
  assert.throws(() => grpoAdvantages(enc, x, adv, { groupSize: 4 }), /not a multiple of groupSize 4/);
  assert.throws(() => grpoAdvantages(enc, x, adv, { groupSize: 1 }), /groupSize must be an integer >= 2/);
  assert.throws(() => grpoAdvantages(enc, { ...x, rewards: gpu.tensor([5]) }, adv, { groupSize: 3 }), /rewards must/);
  assert.throws(() => grpoAdvantages(enc, x, gpu.tensor([6, 5]), { groupSize: 3 }), /advantages must have shape/);
  assert.throws(() => grpoAdvantages(enc, x, adv, { groupSize: 3, eps: -1 }), /eps must be in/);
});
