/**
 * CPU reference of `Sampler.generate` (nn/sampler.ts) on the float64 reference model (nn/gpt_cpu.ts), written
 * without a KV cache: every step runs the whole prefix through the model and samples with `sampleCpu`
 * (kernels/sample.ts) from the same RNG values the GPU draws (row b at step pos: counter + pos·B + b). So with the
 * same parameters, prompts and key it produces the GPU's tokens, except where float rounding decides a draw; the
 * per-row `margin` says how close each row came to another outcome (tests skip rows below 1e-4).
 * @module
 */
import { sampleCpu } from "../kernels/sample.ts";
import type { GptCpu } from "./gpt_cpu.ts";
import { checkGenerate, type GenerateOptions, type PromptBatch } from "./sampler_setup.ts";

/** What {@link generateCpu} returns: the rollout arrays of `Sampler.generate`, in float64, and the margins. */
export interface RolloutCpu {
  B: number;
  T: number;
  tokens: Uint32Array; // [B, T]
  logp: Float64Array; // [B, T]
  behaviourLogp: Float64Array; // [B, T]
  mask: Float32Array; // [B, T]
  terminated: Float32Array; // [B]
  responseLen: Uint32Array; // [B]
  lastIndex: Uint32Array; // [B]
  /** [B] the smallest sampling margin of each row's draws (Infinity for greedy). */
  margin: Float64Array;
  /** [T, B, V] logits of every position (0 where not computed). */
  logits: Float64Array;
}

/** Generates like `Sampler.generate` on the CPU reference model (`maxLen` defaults to the context). */
export function generateCpu(
  model: GptCpu,
  prompts: PromptBatch,
  options: GenerateOptions,
  maxLen = model.config.ctx,
): RolloutCpu {
  const V = model.config.vocab;
  const o = checkGenerate(prompts, options, { maxBatch: prompts.B, maxLen, vocab: V });
  const { B, P, T, eos, lengths } = o;
  const r: RolloutCpu = {
    B,
    T,
    tokens: new Uint32Array(B * T).fill(o.pad),
    logp: new Float64Array(B * T),
    behaviourLogp: new Float64Array(B * T),
    mask: new Float32Array(B * T),
    terminated: new Float32Array(B),
    responseLen: new Uint32Array(B),
    lastIndex: Uint32Array.from(lengths, (l) => l - 1),
    margin: new Float64Array(B).fill(Infinity),
    logits: new Float64Array(T * B * V),
  };
  for (let b = 0; b < B; b++) for (let t = 0; t < lengths[b]; t++) r.tokens[b * T + t] = prompts.tokens[b * P + t];
  const done = new Uint8Array(B);
  for (let pos = 0; pos <= T - 2; pos++) {
    if (pos + 1 < o.minPromptLen) continue;
    if (done.every((d, b) => d || pos + 1 < lengths[b])) {
      if (done.every((d) => d)) break;
      continue;
    }
    // The prefix [B, pos + 1] through the model; row b's logits at pos.
    const n = pos + 1, prefix = new Uint32Array(B * n);
    for (let b = 0; b < B; b++) prefix.set(r.tokens.subarray(b * T, b * T + n), b * n);
    const all = model.forward(prefix, B, n).logits!;
    const logits = new Float64Array(B * V);
    for (let b = 0; b < B; b++) logits.set(all.subarray((b * n + pos) * V, (b * n + pos + 1) * V), b * V);
    r.logits.set(logits, pos * B * V);
    const mask = new Uint8Array(B * V);
    for (let b = 0; b < B; b++) {
      for (const id of o.forbid) mask[b * V + id] = 1;
      if (pos + 1 - lengths[b] < o.minNewEff) mask[b * V + eos] = 1;
    }
    const s = sampleCpu(logits, V, { ...o.sample, counter: o.counter + pos * B, mask });
    for (let b = 0; b < B; b++) {
      const k = pos + 1 - lengths[b];
      if (k < 0 || done[b]) continue;
      const id = s.ids[b], at = b * T + pos;
      r.tokens[at + 1] = id;
      [r.logp[at], r.behaviourLogp[at], r.mask[at]] = [s.logp[b], s.behaviourLogp[b], 1];
      r.responseLen[b] = k + 1;
      r.lastIndex[b] = pos + 1;
      r.margin[b] = Math.min(r.margin[b], s.margin[b]);
      if (id === eos) [done[b], r.terminated[b]] = [1, 1];
      else if (k + 1 >= o.maxNewTokens || pos + 2 >= T) done[b] = 1;
    }
  }
  return r;
}
