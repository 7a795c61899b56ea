/**
 * The CPU side of a {@link Sampler} generation (nn/sampler.ts): the options, their validation (every error names
 * the field and the value before anything is written to the GPU), the initial decode state, and the per-step EOS
 * rule that decides whether a step forbids EOS in every row, in none, or per row through the mask.
 * @module
 */
import type { Rng } from "../kernels/rng.ts";
import type { SampleOptions } from "../kernels/sample.ts";
import type { DecodeLayout } from "../kernels/decode_commit.ts";

/** Right-padded prompts; a testbeds/tokenizer.ts `TokenBatch` built with `eos: false` and empty responses is one. */
export interface PromptBatch {
  /** Rows. */
  B: number;
  /** Width P of `tokens`. */
  T: number;
  /** [B, P] token ids; positions at or after lengths[b] are ignored. */
  tokens: ArrayLike<number>;
  /** [B] prompt lengths, each in [1, P]. */
  lengths: ArrayLike<number>;
}

/** Options of `Sampler.generate`. */
export interface GenerateOptions {
  /** Most tokens generated per sequence, EOS included (ReaLHF `max_new_tokens`). */
  maxNewTokens: number;
  /** EOS is forbidden until a response has this many tokens (default 0; HF/ReaLHF `min_new_tokens`, §9.6). */
  minNewTokens?: number;
  /** The EOS id: a sequence that samples it is finished. */
  eos: number;
  /** The id after a finished sequence and in padding (default 0, the tokenizer's PAD). */
  pad?: number;
  /** Temperature >= 0 (default 1, the paper's); 0 is greedy. */
  temperature?: number;
  /** Argmax decoding (ties to the lowest id). */
  greedy?: boolean;
  /** Keep the k best tokens (0 = off; the paper's PPO uses 200). */
  topK?: number;
  /** Nucleus mass in (0, 1] (1 = off; ReaLHF's default 0.9). */
  topP?: number;
  /** Ids never sampled (e.g. PAD, BOS, SEP). Forbidding EOS makes every response run to maxNewTokens. */
  forbid?: readonly number[];
  /** RNG stream: an Rng (its key) or [k0, k1]. */
  key: Rng | readonly [number, number];
  /** Row b at step pos draws value counter + pos·B + b (default 0): give each generation its own range. */
  counter?: number;
  /** Positions recorded per submit (default 16). */
  chunk?: number;
  /** Copy the outputs to the CPU (default true). */
  read?: boolean;
  /** Keep every position's logits (tests). */
  keepLogits?: boolean;
}

/** Validated options and derived sizes. */
export interface ResolvedGenerate {
  B: number;
  P: number;
  /** Width of the outputs: min(maxLen, P + maxNewTokens). */
  T: number;
  eos: number;
  pad: number;
  maxNewTokens: number;
  /** minNewTokens, or T when EOS is in `forbid` (never allowed). */
  minNewEff: number;
  forbid: number[];
  counter: number;
  chunk: number;
  read: boolean;
  keepLogits: boolean;
  minPromptLen: number;
  lengths: Uint32Array;
  /** Sampling options without the counter and the EOS handling. */
  sample: Omit<SampleOptions, "counter">;
  /** Among rows that sample at step pos: EOS forbidden in all, in none, or in some. */
  eosRule(pos: number): "forbid" | "allow" | "mixed";
}

const isInt = (x: unknown, lo: number, hi = Infinity) =>
  Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi;

/** Validates `generate`'s arguments against the sampler's sizes; throws RangeError/TypeError naming the field. */
export function checkGenerate(
  prompts: PromptBatch,
  o: GenerateOptions,
  lim: { maxBatch: number; maxLen: number; vocab: number },
): ResolvedGenerate {
  const fn = "Sampler.generate", V = lim.vocab;
  const { B, T: P } = prompts;
  if (!isInt(B, 1, lim.maxBatch)) {
    throw new RangeError(`${fn}: prompts.B must be in [1, maxBatch=${lim.maxBatch}], got ${B}`);
  }
  if (!isInt(P, 1, lim.maxLen - 1)) {
    throw new RangeError(`${fn}: prompts of width ${P} leave no room for a response in maxLen ${lim.maxLen}`);
  }
  if (prompts.tokens.length !== B * P) throw new RangeError(`${fn}: prompts.tokens must hold B·P = ${B * P} ids`);
  if (prompts.lengths.length !== B) throw new RangeError(`${fn}: prompts.lengths must hold B = ${B} values`);
  const lengths = Uint32Array.from(prompts.lengths);
  for (let b = 0; b < B; b++) {
    if (!isInt(prompts.lengths[b], 1, P)) {
      throw new RangeError(`${fn}: prompts.lengths[${b}] must be in [1, ${P}], got ${prompts.lengths[b]}`);
    }
    for (let t = 0; t < lengths[b]; t++) {
      if (!isInt(prompts.tokens[b * P + t], 0, V - 1)) {
        throw new RangeError(`${fn}: prompt ${b} token ${t} is ${prompts.tokens[b * P + t]}, outside [0, ${V})`);
      }
    }
  }
  const { maxNewTokens: maxNew, minNewTokens: minNew = 0, eos, pad = 0, chunk = 16, counter = 0 } = o;
  if (!isInt(maxNew, 1)) throw new RangeError(`${fn}: maxNewTokens must be an integer >= 1, got ${maxNew}`);
  if (!isInt(minNew, 0, maxNew)) {
    throw new RangeError(`${fn}: minNewTokens must be an integer in [0, maxNewTokens=${maxNew}], got ${minNew}`);
  }
  for (const [k, v] of [["eos", eos], ["pad", pad]] as const) {
    if (!isInt(v, 0, V - 1)) throw new RangeError(`${fn}: ${k} must be a token id in [0, ${V}), got ${v}`);
  }
  const forbid = [...new Set(o.forbid ?? [])];
  for (const id of forbid) {
    if (!isInt(id, 0, V - 1)) throw new RangeError(`${fn}: forbid id ${id} is outside [0, ${V})`);
  }
  if (forbid.filter((id) => id !== eos).length >= V - 1) {
    throw new RangeError(`${fn}: forbid leaves no token to sample besides EOS (vocabulary ${V})`);
  }
  if (!isInt(chunk, 1)) throw new RangeError(`${fn}: chunk must be an integer >= 1, got ${chunk}`);
  const t = o.temperature ?? 1, topK = o.topK ?? 0, topP = o.topP ?? 1;
  if (!(Number.isFinite(t) && t >= 0)) throw new RangeError(`${fn}: temperature must be finite and >= 0, got ${t}`);
  if (!isInt(topK, 0)) throw new RangeError(`${fn}: topK must be an integer >= 0 (0 = off), got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`${fn}: topP must be in (0, 1] (1 = off), got ${topP}`);
  const key = o.key as { k0?: number; k1?: number };
  const [k0, k1] = Array.isArray(o.key) ? o.key : [key?.k0, key?.k1];
  if (!isInt(k0, 0, 0xffffffff) || !isInt(k1, 0, 0xffffffff)) {
    throw new TypeError(`${fn}: key must be an Rng or [k0, k1] of u32s, got ${JSON.stringify(o.key)}`);
  }
  const T = Math.min(lim.maxLen, P + maxNew);
  if (!isInt(counter, 0) || counter + T * B > 2 ** 32) {
    throw new RangeError(`${fn}: counter must be an integer >= 0 with counter + T·B <= 2^32, got ${counter}`);
  }
  const minNewEff = forbid.includes(eos) ? T : minNew;
  return {
    B,
    P,
    T,
    eos,
    pad,
    maxNewTokens: maxNew,
    minNewEff,
    forbid,
    counter,
    chunk,
    read: o.read ?? true,
    keepLogits: o.keepLogits ?? false,
    minPromptLen: Math.min(...lengths),
    lengths,
    sample: { key: [k0 as number, k1 as number], temperature: t, greedy: o.greedy ?? false, topK, topP },
    eosRule(pos: number) {
      let forbidden = 0, allowed = 0;
      for (const pl of lengths) {
        if (pos + 1 < pl) continue; // still in its prompt: its sample is ignored
        if (pos + 1 - pl < minNewEff) forbidden++;
        else allowed++;
      }
      return allowed === 0 ? "forbid" : forbidden === 0 ? "allow" : "mixed";
    },
  };
}

/** The initial decode state: u32 `seq` and the forbidden-token mask [B, V] for the first sampling step. */
export function initialState(
  prompts: PromptBatch,
  o: ResolvedGenerate,
  lay: DecodeLayout,
  vocab: number,
): { seq: Uint32Array; forbid: Uint32Array; promptLen: Uint32Array } {
  const { B, P, T, pad, lengths } = o, q = lay.seq;
  const seq = new Uint32Array(q.total);
  seq.fill(pad, q.tokens, q.tokens + B * T);
  seq.fill(pad, q.targets, q.targets + B * T);
  const forbid = new Uint32Array(B * vocab);
  const pos0 = o.minPromptLen - 1; // the first step that samples
  for (let b = 0; b < B; b++) {
    const pl = lengths[b];
    for (let t = 0; t < pl; t++) {
      seq[q.tokens + b * T + t] = prompts.tokens[b * P + t];
      if (t > 0) seq[q.targets + b * T + t - 1] = prompts.tokens[b * P + t];
    }
    seq[q.lastIndex + b] = pl - 1;
    for (const id of o.forbid) forbid[b * vocab + id] = 1;
    forbid[b * vocab + o.eos] = pos0 + 1 < pl + o.minNewEff ? 1 : 0;
  }
  return { seq, forbid, promptLen: lengths };
}
