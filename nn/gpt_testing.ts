/**
 * Test helpers for the GPT model: random parameters of a non-trivial scale, moving them between the CPU reference's
 * named float64 arrays and the GPU's flat buffer, and the scalar objective whose gradient the tests check.
 * @module
 */
import { Rng } from "../kernels/rng.ts";
import { randomArray } from "../kernels/testing.ts";
import { type GptConfig, gptParamSpecs } from "./gpt_config.ts";
import type { GptCpu, ParamMap } from "./gpt_cpu.ts";
import type { ParamEntry } from "./params.ts";

/**
 * Random parameters, uniform in ±scale (LayerNorm weights around 1), so attention is far from uniform and every
 * parameter matters; GPT-2's init (std 0.02) would leave most gradients too small to test well.
 */
export function randomParams(config: GptConfig, seed: number, scale = 0.3): ParamMap {
  const rng = new Rng(seed);
  return new Map(
    gptParamSpecs(config).map((s) => {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const v = Float64Array.from(randomArray(rng.split(s.name), n, scale));
      if (s.init === "ones") { for (let i = 0; i < n; i++) v[i] += 1; }
      return [s.name, v];
    }),
  );
}

/** The flat f32 layout of a ParamMap (padding zero), as `ParamSet.params` holds it. */
export function flatten(entries: readonly ParamEntry[], total: number, p: ParamMap): Float32Array {
  const flat = new Float32Array(total);
  for (const e of entries) flat.set(p.get(e.name)!, e.offset);
  return flat;
}

/** Rounds every value to f32, so the CPU reference sees exactly the GPU's parameters. */
export function roundToF32(p: ParamMap): ParamMap {
  return new Map([...p].map(([k, v]) => [k, Float64Array.from(Float32Array.from(v))]));
}

/** Σ dlogp·logp + Σ dvalues·values of the CPU model: the objective whose gradient `backward` returns. */
export function cpuObjective(
  model: GptCpu,
  tokens: ArrayLike<number>,
  targets: ArrayLike<number>,
  b: number,
  t: number,
  dlogp: ArrayLike<number> | null,
  dvalues: ArrayLike<number> | null,
): number {
  const cache = model.forward(tokens, b, t);
  let s = 0;
  if (dlogp) {
    const { logp } = model.tokenLogprobs(cache, targets);
    for (let i = 0; i < b * t; i++) s += dlogp[i] * logp[i];
  }
  if (dvalues) { for (let i = 0; i < b * t; i++) s += dvalues[i] * cache.values![i]; }
  return s;
}
