/**
 * Test helpers for the sampler: small models with random parameters on the GPU and the same parameters in the
 * float64 CPU reference, and prompt batches.
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import { Gpt } from "./gpt.ts";
import type { GptConfig } from "./gpt_config.ts";
import { GptCpu, type ParamMap } from "./gpt_cpu.ts";
import { flatten, randomParams, roundToF32 } from "./gpt_testing.ts";
import type { PromptBatch } from "./sampler_setup.ts";

/** A model on the GPU and its CPU twin with bitwise the same (f32) parameters. */
export function twinModels(
  gpu: Gpu,
  config: GptConfig,
  seed: number,
  edit?: (p: ParamMap) => void,
): { model: Gpt; cpu: GptCpu } {
  const model = new Gpt(gpu, config);
  const p = roundToF32(randomParams(config, seed));
  edit?.(p);
  model.params.params.write(flatten(model.params.entries, model.params.total, p));
  return { model, cpu: new GptCpu(config, roundToF32(p)) };
}

/** Right-padded prompts [B, P] with the given lengths: BOS (1) then ids from 3..vocab-1 (PAD 0 after). */
export function prompts(lengths: number[], vocab: number, seed: number): PromptBatch {
  const P = Math.max(...lengths), B = lengths.length, tokens = new Uint32Array(B * P);
  lengths.forEach((l, b) => {
    tokens[b * P] = 1;
    for (let t = 1; t < l; t++) tokens[b * P + t] = 3 + ((seed * 7 + b * 5 + t * 3) % (vocab - 3));
  });
  return { B, T: P, tokens, lengths: Uint32Array.from(lengths) };
}

/** The same prompt `rows` times. */
export function repeatPrompt(ids: number[], rows: number): PromptBatch {
  const P = ids.length, tokens = new Uint32Array(rows * P);
  for (let b = 0; b < rows; b++) tokens.set(ids, b * P);
  return { B: rows, T: P, tokens, lengths: new Uint32Array(rows).fill(P) };
}

/** Upper χ² quantile for `df` degrees of freedom at standard-normal z (Wilson-Hilferty; z = 4.75 is p ≈ 1e-6). */
export function chiSquareBound(df: number, z = 4.75): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Pearson's χ² of observed counts against probabilities (cells with p = 0 must have no counts). */
export function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>): { chi2: number; df: number } {
  const n = Array.from(counts).reduce((a, b) => a + b, 0);
  let chi2 = 0, df = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) {
      if (counts[i] !== 0) return { chi2: Infinity, df: 0 };
      continue;
    }
    chi2 += (counts[i] - n * probs[i]) ** 2 / (n * probs[i]);
    df++;
  }
  return { chi2, df };
}
