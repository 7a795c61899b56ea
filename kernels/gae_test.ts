import assert from "node:assert/strict";
import { gae, gaeCpu, type GaeCpuInputs, type GaeOptions } from "./gae.ts";
import type { Gpu } from "./gpu.ts";
import { f32, responseMask } from "./loss_testing.ts";
import { Rng } from "./rng.ts";
import { assertClose, gpuTest, randomArray } from "./testing.ts";

async function runGae(gpu: Gpu, x: GaeCpuInputs, B: number, T: number, o: GaeOptions) {
  const t = (a: ArrayLike<number>, shape: number[]) => gpu.fromArray(f32(a), shape);
  const advantages = gpu.tensor([B, T]), returns = gpu.tensor([B, T]);
  const enc = gpu.encoder("gae test");
  gae(
    enc,
    {
      rewards: t(x.rewards, [B, T]),
      values: t(x.values, [B, T]),
      mask: t(x.mask, [B, T]),
      terminated: t(x.terminated, [B]),
      bootstrap: t(x.bootstrap, [B]),
    },
    { advantages, returns },
    o,
  );
  const [a, r] = [enc.read(advantages), enc.read(returns)];
  await enc.submit();
  return { advantages: await a, returns: await r };
}

// Two sequences, T = 5. Row 0: prompt at t = 0, response t = 1..3, padding at t = 4, ended with EOS (its bootstrap
// 7 must be ignored). Row 1: prompt t = 0..1, response t = 2..4, truncated, bootstrap V = 3. The 9s sit at prompt and
// padding positions and must not leak into anything.
const HAND: GaeCpuInputs = {
  rewards: [9, 0.5, -0.25, 2.0, 9, /**/ 9, 9, 1, 0, -1],
  values: [9, 1.0, 0.5, 1.5, 9, /**/ 9, 9, 0.5, 2, 1],
  mask: [0, 1, 1, 1, 0, /**/ 0, 0, 1, 1, 1],
  terminated: [1, 0],
  bootstrap: [7, 3],
};

gpuTest(
  "gae: hand-computed, gamma = lambda = 1 (A_t = sum of future rewards - V_t), EOS and truncation",
  async (gpu) => {
    // Row 0 (EOS, next value after t = 3 is 0):
    //   A3 = 2 − 1.5 = 0.5;  A2 = (−0.25 + 2) − 0.5 = 1.25;  A1 = (0.5 − 0.25 + 2) − 1 = 1.25
    //   R = A + V: R3 = 2, R2 = 1.75, R1 = 2.25
    // Row 1 (truncated, bootstrap 3 after t = 4):
    //   A4 = −1 + 3 − 1 = 1;  A3 = (0 − 1 + 3) − 2 = 0;  A2 = (1 + 0 − 1 + 3) − 0.5 = 2.5
    //   R4 = 2, R3 = 2, R2 = 3
    const want = {
      advantages: [0, 1.25, 1.25, 0.5, 0, /**/ 0, 0, 2.5, 0, 1],
      returns: [0, 2.25, 1.75, 2, 0, /**/ 0, 0, 3, 2, 2],
    };
    const got = await runGae(gpu, HAND, 2, 5, {});
    assertClose(got.advantages, want.advantages, { atol: 1e-6, label: "advantages" });
    assertClose(got.returns, want.returns, { atol: 1e-6, label: "returns" });
    const cpu = gaeCpu(HAND, 2, 5, {});
    assertClose(cpu.advantages, want.advantages, { atol: 1e-12, label: "cpu advantages" });
    assertClose(cpu.returns, want.returns, { atol: 1e-12, label: "cpu returns" });
  },
);

gpuTest("gae: hand-computed, gamma = 0.9, lambda = 0.5", async (gpu) => {
  // γλ = 0.45.
  // Row 0 (EOS): δ3 = 2 + 0.9·0 − 1.5 = 0.5;  δ2 = −0.25 + 0.9·1.5 − 0.5 = 0.6;  δ1 = 0.5 + 0.9·0.5 − 1 = −0.05
  //   A3 = 0.5;  A2 = 0.6 + 0.45·0.5 = 0.825;  A1 = −0.05 + 0.45·0.825 = 0.32125
  //   R = A + V: 2, 1.325, 1.32125
  // Row 1 (truncated, bootstrap 3): δ4 = −1 + 0.9·3 − 1 = 0.7;  δ3 = 0 + 0.9·1 − 2 = −1.1;  δ2 = 1 + 0.9·2 − 0.5 = 2.3
  //   A4 = 0.7;  A3 = −1.1 + 0.45·0.7 = −0.785;  A2 = 2.3 + 0.45·(−0.785) = 1.94675
  //   R = A + V: 1.7, 1.215, 2.44675
  const want = {
    advantages: [0, 0.32125, 0.825, 0.5, 0, /**/ 0, 0, 1.94675, -0.785, 0.7],
    returns: [0, 1.32125, 1.325, 2, 0, /**/ 0, 0, 2.44675, 1.215, 1.7],
  };
  const o = { gamma: 0.9, lambda: 0.5 };
  const got = await runGae(gpu, HAND, 2, 5, o);
  assertClose(got.advantages, want.advantages, { atol: 1e-6, label: "advantages" });
  assertClose(got.returns, want.returns, { atol: 1e-6, label: "returns" });
  assertClose(gaeCpu(HAND, 2, 5, o).advantages, want.advantages, { atol: 1e-12, label: "cpu advantages" });
});

gpuTest("gae: matches the CPU reference on awkward shapes, both end cases, empty responses", async (gpu) => {
  const shapes = [[1, 1], [7, 63], [65, 7], [3, 129], [129, 65], [512, 256]];
  for (const [i, [B, T]] of shapes.entries()) {
    const rng = new Rng(100 + i);
    const { mask } = responseMask(200 + i, B, T, true);
    const x: GaeCpuInputs = {
      rewards: randomArray(rng.split("r"), B * T, 0.5),
      values: randomArray(rng.split("v"), B * T, 2),
      mask,
      terminated: Float32Array.from({ length: B }, (_, b) => b % 3 === 0 ? 0 : 1),
      bootstrap: randomArray(rng.split("b"), B, 2),
    };
    for (const o of [{}, { gamma: 0.99, lambda: 0.95 }]) {
      const got = await runGae(gpu, x, B, T, o);
      const want = gaeCpu(x, B, T, o);
      // Sums over up to 256 steps of O(1) terms in f32.
      const tol = { atol: 2e-5 * Math.sqrt(T), rtol: 1e-5 };
      const r = assertClose(got.advantages, want.advantages, {
        ...tol,
        label: `advantages [${B}, ${T}] ${JSON.stringify(o)}`,
      });
      assertClose(got.returns, want.returns, { ...tol, label: `returns [${B}, ${T}]` });
      if (B * T > 1e5) console.log(`gae [${B}, ${T}] ${JSON.stringify(o)}: max |diff| ${r.maxAbs.toExponential(2)}`);
    }
  }
});

gpuTest("gae: bad shapes and hyper-parameters throw naming the operand", (gpu) => {
  const a = gpu.tensor([2, 5]), s = gpu.tensor([2]);
  const enc = gpu.encoder();
  const base = { rewards: a, values: a, mask: a, terminated: s, bootstrap: s };
  const out = { advantages: gpu.tensor([2, 5]), returns: gpu.tensor([2, 5]) };
  assert.throws(() => gae(enc, { ...base, values: gpu.tensor([2, 4]) }, out), /GAE: values must have shape \[2, 5\]/);
  assert.throws(() => gae(enc, { ...base, bootstrap: gpu.tensor([3]) }, out), /GAE: bootstrap must have shape \[2\]/);
  assert.throws(() => gae(enc, base, out, { lambda: 1.5 }), RangeError);
  assert.throws(() => gae(enc, { ...base, rewards: gpu.tensor([10]) }, out), /\[B, T\]/);
  assert.throws(() => gae(enc, { ...base, mask: gpu.tensor([2, 5], "u32") }, out), TypeError);
});
