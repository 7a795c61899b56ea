/**
 * Batched sampling from a {@link Gpt} on the GPU with a KV cache (nn/kv_cache.ts): temperature, top-k, top-p,
 * greedy, EOS with min/max new tokens, forbidden tokens, from the counter-based seeded RNG (kernels/sample.ts), with
 * no queue round trip per token.
 *
 * Prompts are right-padded [B, P]. Decoding runs positions pos = 0, 1, … for the whole batch, one position per step:
 * while pos + 1 < promptLen[b] the next input is the prompt's own token (teacher forcing fills the cache), after
 * that it is the token sampled at pos (kernels/decode_commit.ts). A sequence that emitted EOS, or reached
 * `maxNewTokens` or the end of the buffer, is finished: the rest of its row stays PAD with mask 0. Each step's
 * position and RNG counter are that dispatch's uniforms, so steps are recorded back to back; a generation is a few
 * submits of `chunk` positions each, and after each one that could have finished every row the `done` flags are
 * read back (one round trip) to stop early.
 *
 * Outputs are laid out for the training losses (the transformer's convention: position t scores the token at t+1):
 * tokens and targets [B, T] (T = min(maxLen, P + maxNewTokens)), logp and behaviourLogp [B, T] of the sampled token
 * at its predicting position, the response mask [B, T] (1 where the target is a generated token, EOS included),
 * responseLen, lastIndex (the last real token: where a reward model reads its score), terminated (1 = ended with EOS;
 * what kernels/kl_reward.ts and kernels/gae.ts take). `logp` is the untruncated softmax at temperature 1 (what
 * the training forward computes; PPO's π_old), `behaviourLogp` the distribution actually sampled from (after EOS
 * forbidding, temperature, top-k, top-p); they agree at the paper's temperature 1 with no truncation (sample.ts).
 *
 * EOS is forbidden while a response is shorter than `minNewTokens` (ReaLHF's generator, PAPER.md §9.5; §9.6: do
 * not set min = max, or no response ever terminates). Row b at step pos draws RNG value counter + pos·B + b of
 * `key`, so the same key and counter give bitwise the same samples.
 *
 * @example
 * ```ts
 * const sampler = new Sampler(policy, { maxBatch: 64 });
 * const prompts = buildBatch(tok, texts.map((prompt) => ({ prompt, response: [] })), { context: 64, eos: false });
 * const r = await sampler.generate(prompts, { maxNewTokens: 16, eos: tok.eos, key: rng.split("rollout"), counter });
 * r.gpu.tokens; r.gpu.logp; r.gpu.mask; r.gpu.terminated;   // GPU tensors, overwritten by the next generate
 * tok.decode(r.tokens.subarray(0, r.T));                     // CPU copies
 * ```
 * @module
 */
import type { Tensor } from "../kernels/tensor.ts";
import { sample, type SampleOptions } from "../kernels/sample.ts";
import { decodeCommit, decodeLayout } from "../kernels/decode_commit.ts";
import type { Gpt } from "./gpt.ts";
import { KvCache } from "./kv_cache.ts";
import {
  checkGenerate,
  type GenerateOptions,
  initialState,
  type PromptBatch,
  type ResolvedGenerate,
} from "./sampler_setup.ts";

export type { GenerateOptions, PromptBatch } from "./sampler_setup.ts";

/** A generation's outputs on the GPU: views into the sampler's buffers, valid until its next `generate`. */
export interface RolloutTensors {
  tokens: Tensor<"u32">; // [B, T] prompt + response, PAD after
  targets: Tensor<"u32">; // [B, T] tokens shifted left by one, PAD at the end
  logp: Tensor<"f32">; // [B, T] log softmax (T = 1) of targets[b, t] where mask = 1, else 0
  behaviourLogp: Tensor<"f32">; // [B, T] log q(targets[b, t]) of the sampling distribution where mask = 1
  mask: Tensor<"f32">; // [B, T] 1 where targets[b, t] is a generated token
  terminated: Tensor<"f32">; // [B] 1 when the response ended with EOS
  responseLen: Tensor<"u32">; // [B] generated tokens, EOS included
  lastIndex: Tensor<"u32">; // [B] index of the last real token
  promptLen: Tensor<"u32">; // [B]
}

/** A generation: GPU tensors, and CPU copies unless `read: false`. */
export interface Rollout {
  B: number;
  T: number;
  gpu: RolloutTensors;
  tokens: Uint32Array | null;
  targets: Uint32Array | null;
  logp: Float32Array | null;
  behaviourLogp: Float32Array | null;
  mask: Float32Array | null;
  terminated: Float32Array | null;
  responseLen: Uint32Array | null;
  lastIndex: Uint32Array | null;
  promptLen: Uint32Array;
  /** Positions decoded (an early exit stops before T − 1). */
  positions: number;
  /** Submits (each a round trip when something was read). */
  submits: number;
  /** With `keepLogits`: the logits of every decoded position, [T, B, V] (row pos = position pos). */
  logits: Tensor<"f32"> | null;
}

/** Batched GPU sampling from one model. */
export class Sampler {
  readonly cache: KvCache;
  readonly maxBatch: number;
  readonly maxLen: number;
  readonly #seq: Tensor<"u32">;
  readonly #out: Tensor<"f32">;
  readonly #forbid: Tensor<"u32">;
  readonly #plen: Tensor<"u32">;
  readonly #ids: Tensor<"u32">;
  readonly #blogp: Tensor<"f32">;
  readonly #logp: Tensor<"f32">;
  #kept: Tensor<"f32"> | null = null;
  #busy = false;

  /** `maxLen` (default the model's context) bounds prompt + response. */
  constructor(readonly model: Gpt, { maxBatch, maxLen = model.config.ctx }: { maxBatch: number; maxLen?: number }) {
    this.cache = new KvCache(model.gpu, model, maxBatch, maxLen);
    [this.maxBatch, this.maxLen] = [maxBatch, maxLen];
    const gpu = model.gpu, lay = decodeLayout(maxBatch, maxLen), V = model.config.vocab;
    this.#seq = gpu.tensor([lay.seq.total], "u32", "sampler.seq");
    this.#out = gpu.tensor([lay.out.total], "f32", "sampler.out");
    this.#forbid = gpu.tensor([maxBatch * V], "u32", "sampler.forbid");
    this.#plen = gpu.tensor([maxBatch], "u32", "sampler.prompt_len");
    this.#ids = gpu.tensor([maxBatch], "u32", "sampler.ids");
    this.#blogp = gpu.tensor([maxBatch], "f32", "sampler.step_blogp");
    this.#logp = gpu.tensor([maxBatch], "f32", "sampler.step_logp");
  }

  /**
   * Samples responses to `prompts` (see the module doc). One generation at a time: the outputs live in the
   * sampler's buffers, so a second call while one is running is an error.
   */
  async generate(prompts: PromptBatch, options: GenerateOptions): Promise<Rollout> {
    if (this.#busy) throw new Error("Sampler.generate: a generation is already running on this sampler");
    const o = checkGenerate(prompts, options, {
      maxBatch: this.maxBatch,
      maxLen: this.maxLen,
      vocab: this.model.config.vocab,
    });
    this.#busy = true;
    try {
      return await this.#generate(prompts, o);
    } finally {
      this.#busy = false;
    }
  }

  async #generate(prompts: PromptBatch, o: ResolvedGenerate): Promise<Rollout> {
    const gpu = this.model.gpu, V = this.model.config.vocab;
    const { B, T } = o;
    const lay = decodeLayout(B, T), init = initialState(prompts, o, lay, V);
    const seq = this.#seq.view(0, [lay.seq.total]), out = this.#out.view(0, [lay.out.total]);
    const forbid = this.#forbid.view(0, [B, V]);
    seq.write(init.seq);
    out.write(new Float32Array(lay.out.total));
    forbid.write(init.forbid);
    const promptLen = this.#plen.view(0, [B]);
    promptLen.write(init.promptLen);
    const part = <D extends "u32" | "f32">(x: Tensor<D>, at: number, shape: number[], label: string) =>
      x.view(at, shape, `rollout.${label}`);
    const gpuOut: RolloutTensors = {
      tokens: part(seq, lay.seq.tokens, [B, T], "tokens"),
      targets: part(seq, lay.seq.targets, [B, T], "targets"),
      logp: part(out, lay.out.logp, [B, T], "logp"),
      behaviourLogp: part(out, lay.out.behaviourLogp, [B, T], "behaviour_logp"),
      mask: part(out, lay.out.mask, [B, T], "mask"),
      terminated: part(out, lay.out.terminated, [B], "terminated"),
      responseLen: part(seq, lay.seq.responseLen, [B], "response_len"),
      lastIndex: part(seq, lay.seq.lastIndex, [B], "last_index"),
      promptLen,
    };
    const done = part(seq, lay.seq.done, [B], "done");
    const step = {
      ids: this.#ids.view(0, [B]),
      behaviourLogp: this.#blogp.view(0, [B]),
      logp: this.#logp.view(0, [B]),
    };
    let kept: Tensor<"f32"> | null = null;
    if (o.keepLogits) {
      if (!this.#kept || this.#kept.size < T * B * V) {
        this.#kept?.destroy();
        this.#kept = gpu.tensor([T * B * V], "f32", "sampler.kept_logits");
      }
      kept = this.#kept.view(0, [T, B, V]);
    }
    const commit = { vocab: V, eos: o.eos, minNew: o.minNewEff, maxNew: o.maxNewTokens };
    const record = (enc: ReturnType<typeof gpu.encoder>, pos: number) => {
      const sampling = pos + 1 >= o.minPromptLen; // some row takes a sampled token at pos + 1
      this.cache.decodeForward(enc, gpuOut.tokens, pos, { logits: sampling || !!kept });
      if (kept) enc.copy(this.cache.logits(B), kept.view(pos * B * V, [B, V]));
      if (!sampling) return;
      const so: SampleOptions = { ...o.sample, counter: o.counter + pos * B };
      const rule = o.eosRule(pos);
      if (o.forbid.length > 0 || rule === "mixed") so.mask = forbid;
      else if (rule === "forbid") so.forbidToken = o.eos;
      sample(enc, this.cache.logits(B), step, so);
      decodeCommit(enc, { ...step, promptLen }, { seq, out, forbid }, lay, { ...commit, pos });
    };
    const reads: Promise<Uint32Array | Float32Array>[] = [];
    let pos = 0, submits = 0;
    const last = T - 2; // the last step consumes position T - 2 and fills T - 1
    while (pos <= last) {
      const enc = gpu.encoder("sampler");
      const end = Math.min(last, pos + o.chunk - 1);
      for (; pos <= end; pos++) record(enc, pos);
      // A row can finish once it may emit EOS (minNew reached) or hits maxNew.
      const canFinish = end + 1 >= o.minPromptLen + Math.min(o.minNewEff, o.maxNewTokens - 1) || pos > last;
      const doneRead = canFinish ? enc.read(done) : null;
      reads.length = 0;
      if (canFinish && o.read) {
        for (const t of [gpuOut.tokens, gpuOut.targets, gpuOut.logp, gpuOut.behaviourLogp, gpuOut.mask]) {
          reads.push(enc.read(t));
        }
        for (const t of [gpuOut.terminated, gpuOut.responseLen, gpuOut.lastIndex]) reads.push(enc.read(t));
      }
      await enc.submit();
      submits++;
      if (doneRead && (await doneRead).every((x) => x !== 0)) break;
    }
    const r = o.read ? await Promise.all(reads) : null;
    return {
      B,
      T,
      gpu: gpuOut,
      tokens: (r?.[0] as Uint32Array) ?? null,
      targets: (r?.[1] as Uint32Array) ?? null,
      logp: (r?.[2] as Float32Array) ?? null,
      behaviourLogp: (r?.[3] as Float32Array) ?? null,
      mask: (r?.[4] as Float32Array) ?? null,
      terminated: (r?.[5] as Float32Array) ?? null,
      responseLen: (r?.[6] as Uint32Array) ?? null,
      lastIndex: (r?.[7] as Uint32Array) ?? null,
      promptLen: init.promptLen,
      positions: Math.min(pos, last + 1),
      submits,
      logits: kept,
    };
  }

  /** Frees the GPU buffers (the model's parameters are not touched). */
  destroy(): void {
    this.cache.destroy();
    for (const t of [this.#seq, this.#out, this.#forbid, this.#plen, this.#ids, this.#blogp, this.#logp, this.#kept]) {
      t?.destroy();
    }
  }
}
