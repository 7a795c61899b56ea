/**
 * Gradient-check helpers of the algorithm tests: a GPU model and its float64 CPU twin with the same random
 * parameters, a tensor-by-tensor comparison of their gradients, central finite differences of a CPU objective, and
 * the few hand-written preference pairs the one-step checks run on (awkward on purpose: an empty response, a
 * response longer than its pair's, prompts of 1 to 4 letters).
 * @module
 */
import assert from "node:assert/strict";
import type { Gpu } from "../kernels/gpu.ts";
import { Gpt } from "../nn/gpt.ts";
import type { GptConfig } from "../nn/gpt_config.ts";
import { GptCpu, type ParamMap } from "../nn/gpt_cpu.ts";
import { flatten, randomParams, roundToF32 } from "../nn/gpt_testing.ts";
import type { PreferencePair } from "../testbeds/sanity.ts";

/** Three pairs on the sanity task's letters for one-step gradient checks. */
export const GRADIENT_PAIRS: readonly PreferencePair[] = [
  { prompt: "ab", chosen: "aaab", rejected: "bcd" },
  { prompt: "hgfe", chosen: "hh", rejected: "gfedcbah" },
  { prompt: "c", chosen: "ccc", rejected: "" },
];

/** A GPU model and the float64 CPU model with the same (f32-rounded) random parameters. */
export function twinModels(gpu: Gpu, config: GptConfig, seed: number): { model: Gpt; cpu: GptCpu; p: ParamMap } {
  const model = new Gpt(gpu, config);
  const p = roundToF32(randomParams(config, seed));
  model.params.params.write(flatten(model.params.entries, model.params.total, p));
  return { model, cpu: new GptCpu(config, p), p };
}

/**
 * Asserts the GPU gradient (flat) matches the CPU one tensor by tensor, relative to each tensor's largest entry (or
 * to 1e-3 of the largest gradient of all, for tensors whose gradients nearly cancel).
 */
export function assertGradsClose(got: Float32Array, model: Gpt, want: ParamMap, tol: number): string {
  let worst = { name: "", diff: 0, rel: 0 };
  const top = Math.max(...[...want.values()].map((w) => Math.max(...Array.from(w, Math.abs))));
  for (const e of model.params.entries) {
    const w = want.get(e.name)!, g = got.subarray(e.offset, e.offset + e.size);
    const scale = Math.max(1e-3 * top, ...Array.from(w, Math.abs));
    let diff = 0;
    for (let i = 0; i < e.size; i++) diff = Math.max(diff, Math.abs(g[i] - w[i]));
    if (diff / scale > worst.rel) worst = { name: e.name, diff, rel: diff / scale };
  }
  const msg = `worst tensor ${worst.name}: max |GPU - CPU| ${worst.diff.toExponential(2)} (${
    worst.rel.toExponential(2)
  } of its scale)`;
  assert.ok(worst.rel <= tol, msg);
  return msg;
}

/**
 * Central finite differences (float64) of `loss` at `count` parameters with the largest analytic gradients, against
 * the analytic gradient `grads`. Returns the worst relative error.
 */
export function finiteDifferenceCheck(
  loss: (p: ParamMap) => number,
  p: ParamMap,
  grads: ParamMap,
  { count = 6, eps = 1e-5, tol = 1e-4 }: { count?: number; eps?: number; tol?: number } = {},
): number {
  const all: [string, number, number][] = [];
  for (const [name, g] of grads) g.forEach((v, i) => all.push([name, i, v]));
  all.sort((a, b) => Math.abs(b[2]) - Math.abs(a[2]));
  let worst = 0;
  for (const [name, i, g] of all.slice(0, count)) {
    const v = p.get(name)!, x = v[i];
    v[i] = x + eps;
    const up = loss(p);
    v[i] = x - eps;
    const down = loss(p);
    v[i] = x;
    const fd = (up - down) / (2 * eps), rel = Math.abs(fd - g) / Math.max(Math.abs(fd), 1e-8);
    assert.ok(rel < tol, `${name}[${i}]: analytic ${g}, finite difference ${fd} (relative error ${rel})`);
    worst = Math.max(worst, rel);
  }
  return worst;
}
