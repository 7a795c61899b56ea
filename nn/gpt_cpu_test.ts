/**
 * The float64 CPU reference model against central finite differences, on every parameter tensor (a sample of each),
 * with both heads, a batch of 2 and an awkward T, on a tiny config and on the xs preset. No GPU needed.
 */
import assert from "node:assert/strict";
import { Rng } from "../kernels/rng.ts";
import { randomArray } from "../kernels/testing.ts";
import { type GptConfig, gptPreset } from "./gpt_config.ts";
import { GptCpu } from "./gpt_cpu.ts";
import { cpuObjective, randomParams } from "./gpt_testing.ts";

/** Central differences on a sample of every parameter tensor; returns the worst relative difference. */
function fdCheck(config: GptConfig, b: number, t: number, perTensor: number): { worst: string; rel: number } {
  const rng = new Rng(5);
  const tokens = Uint32Array.from({ length: b * t }, () => rng.int(config.vocab));
  const targets = Uint32Array.from({ length: b * t }, () => rng.int(config.vocab));
  const dlogp = Float64Array.from(randomArray(rng.split("dlogp"), b * t, 1));
  const dvalues = Float64Array.from(randomArray(rng.split("dvalues"), b * t, 1));
  const p = randomParams(config, 9);
  const model = new GptCpu(config, p);
  const grads = model.backward(model.forward(tokens, b, t), { dlogp, dvalues, targets });
  const f = () => cpuObjective(model, tokens, targets, b, t, dlogp, dvalues);
  const h = 1e-5;
  let worst = { worst: "", rel: 0 };
  let checked = 0;
  for (const [name, values] of p) {
    const pick = new Rng(7).split(name);
    const idx = new Set([0, values.length - 1, ...Array.from({ length: perTensor }, () => pick.int(values.length))]);
    for (const i of idx) {
      const v0 = values[i];
      values[i] = v0 + h;
      const up = f();
      values[i] = v0 - h;
      const down = f();
      values[i] = v0;
      const fd = (up - down) / (2 * h), an = grads.get(name)![i];
      // The floor keeps float64 FD noise (~1e-10) on a gradient that is exactly 0 (the key bias) from counting.
      const rel = Math.abs(fd - an) / Math.max(1e-4, Math.abs(fd) + Math.abs(an));
      if (rel > worst.rel) worst = { worst: `${name}[${i}] fd ${fd} analytic ${an}`, rel };
      checked++;
    }
  }
  console.log(`checked ${checked} entries of ${p.size} tensors; worst relative diff ${worst.rel.toExponential(2)}`);
  return worst;
}

Deno.test("gpt cpu: whole-model gradients match central finite differences (float64, tiny, both heads)", () => {
  const config: GptConfig = { vocab: 11, ctx: 9, d: 12, layers: 2, heads: 3, lmHead: true, scalarHead: true };
  const { worst, rel } = fdCheck(config, 2, 7, 4);
  assert.ok(rel < 1e-5, `worst: ${worst} (relative diff ${rel})`);
});

Deno.test("gpt cpu: whole-model gradients match central finite differences (float64, xs preset)", () => {
  const config = gptPreset("xs", { vocab: 23, scalarHead: true });
  const { worst, rel } = fdCheck(config, 2, 13, 2);
  assert.ok(rel < 1e-5, `worst: ${worst} (relative diff ${rel})`);
});
