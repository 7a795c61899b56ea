/**
 * Model FLOPs of the GPT (nn/gpt.ts), counted analytically, for the `perf/gflops` metric and the training benchmark.
 *
 * Per token and layer, the forward's matmuls: QKV 2·C·3C, attention projection 2·C·C, MLP 2·C·4C and 2·4C·C, in all
 * 24·C²; causal attention at position t (t + 1 visible keys): scores and P·v, 2·2·C·(t + 1), which over positions
 * 0..T-1 averages 2·C·(T + 1); the tied LM head 2·C·V. A training step counts 3x the forward (the backward's two
 * matmuls per forward matmul: the input gradient and the weight gradient), the usual "6N" convention. These are
 * model FLOPs: the fused attention backward's recomputation of the probabilities, and the elementwise work
 * (LayerNorm, GELU, softmax, cross-entropy, AdamW: well under 2% here) are not counted, so achieved GFLOP/s is a
 * lower bound on what the hardware did.
 *
 * @example
 * ```ts
 * const flops = gptTrainFlops(model.config, B, T);      // one forward + backward over [B, T]
 * const gflops = (steps * flops) / seconds / 1e9;
 * ```
 * @module
 */
import type { GptConfig } from "../nn/gpt_config.ts";

/** Forward FLOPs of [B, T] positions (every position counted, padding included: the kernels compute it). */
export function gptForwardFlops(c: GptConfig, b: number, t: number): number {
  const perToken = c.layers * (24 * c.d * c.d + 2 * c.d * (t + 1)) + (c.lmHead ? 2 * c.d * c.vocab : 0) +
    (c.scalarHead ? 2 * c.d : 0);
  return b * t * perToken;
}

/** Forward + backward FLOPs of a training step over [B, T]: 3x the forward. */
export function gptTrainFlops(c: GptConfig, b: number, t: number): number {
  return 3 * gptForwardFlops(c, b, t);
}

/**
 * FLOPs of decoding positions 0..positions-1 of B sequences with a KV cache: per position p one token's matmuls,
 * attention over p + 1 cached keys, and the LM head.
 */
export function gptDecodeFlops(c: GptConfig, b: number, positions: number): number {
  let total = 0;
  for (let p = 0; p < positions; p++) total += c.layers * (24 * c.d * c.d + 4 * c.d * (p + 1)) + 2 * c.d * c.vocab;
  return b * total;
}
