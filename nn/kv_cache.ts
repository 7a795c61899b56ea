/**
 * The KV-cache forward of {@link Gpt} for batched sampling: the buffers of one decode step (activations of one
 * position per sequence, [B, ·]) and the per-layer key/value caches, and `decodeForward`, which records the model
 * at one position of every sequence.
 *
 * It reuses the training forward's kernels (nn/gpt_layers.ts) on [B, 1]-shaped activations: the same LayerNorm,
 * the same matmuls (every matmul variant accumulates in the same order, so an M = B product gives the bits of the
 * M = B·T one), the GELU fused into the fc matmul's epilogue (the same `gelu` function the elementwise kernel
 * applies), and residual adds as matmuls accumulating onto the stream (beta = 1). Only the embedding of one
 * column (kernels/embedding_decode.ts) and attention against the cache (kernels/attention_decode.ts) are new.
 * The decode attention repeats the fused training kernel's arithmetic, so the logits of a decode step equal a full
 * forward pass's at that position bit for bit on one adapter while the kernels stay in step (nn/sampler_test.ts
 * checks within 1e-5 and reports whether they are bitwise equal). (The sampled tokens' log-probabilities come from
 * kernels/sample.ts, whose log-sum-exp sums in another order than the training head's: they agree to ~1e-7.)
 *
 * Memory: caches 2·L·B·T·C floats; activations 10·B·C + B·V.
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import type { StepEncoder } from "../kernels/encoder.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { matmul } from "../kernels/matmul.ts";
import { layernormForward } from "../kernels/layernorm.ts";
import { attentionDecode } from "../kernels/attention_decode.ts";
import { embeddingAt } from "../kernels/embedding_decode.ts";
import type { Gpt } from "./gpt.ts";

const A = (n: number) => Math.ceil(n / 64) * 64;
type F32 = Tensor<"f32">;

/** Activations of one decode step for B ≤ maxBatch rows, and the caches for sequences of ≤ maxLen positions. */
export class KvCache {
  readonly #owned: Tensor[] = [];
  readonly #x: F32; // [maxB, C] residual stream
  readonly #ln: F32; // [maxB, C] LayerNorm output
  readonly #stats: F32; // [maxB, 2]
  readonly #qkv: F32; // [maxB, 3C]
  readonly #y: F32; // [maxB, C] attention output
  readonly #h: F32; // [maxB, 4C] GELU(fc)
  readonly #logits: F32; // [maxB, V]
  readonly #k: F32; // L x [B, H, T, hd], at a per-layer stride
  readonly #v: F32;
  readonly #layerStride: number;

  constructor(readonly gpu: Gpu, readonly model: Gpt, readonly maxBatch: number, readonly maxLen: number) {
    const { d, layers, vocab, ctx } = model.config;
    if (!model.config.lmHead) throw new RangeError("KvCache: the model has no LM head (config.lmHead is false)");
    if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) {
      throw new RangeError(`KvCache: maxBatch must be an integer >= 1, got ${maxBatch}`);
    }
    if (!(Number.isInteger(maxLen) && maxLen >= 2 && maxLen <= ctx)) {
      throw new RangeError(`KvCache: maxLen must be an integer in [2, ctx=${ctx}], got ${maxLen}`);
    }
    const t = (n: number, label: string) => {
      const x = gpu.tensor([A(n)], "f32", `kv.${label}`);
      this.#owned.push(x);
      return x;
    };
    const b = maxBatch;
    [this.#x, this.#ln, this.#y] = [t(b * d, "x"), t(b * d, "ln"), t(b * d, "y")];
    [this.#stats, this.#qkv, this.#h, this.#logits] = [
      t(2 * b, "stats"),
      t(3 * b * d, "qkv"),
      t(4 * b * d, "h"),
      t(b * vocab, "logits"),
    ];
    this.#layerStride = A(b * maxLen * d);
    this.#k = t(layers * this.#layerStride, "k");
    this.#v = t(layers * this.#layerStride, "v");
  }

  /** Bytes of GPU memory held. */
  get bytes(): number {
    return this.#owned.reduce((s, x) => s + x.byteLength, 0);
  }

  /** The logits [B, V] the last {@link decodeForward} wrote for B rows. */
  logits(b: number): F32 {
    return this.#logits.view(0, [b, this.model.config.vocab], "kv.logits");
  }

  /**
   * Records the model at position `pos` of the sequences tokens u32 [B, T] (T ≤ maxLen): appends every layer's keys
   * and values of that position to the caches (positions 0..pos-1 must hold the earlier steps of these sequences),
   * and, when `logits` is true, writes the logits [B, V] (see {@link logits}). About 3 + 7·layers dispatches.
   */
  decodeForward(enc: StepEncoder, tokens: Tensor, pos: number, { logits = true } = {}): void {
    const { d, heads, layers, vocab } = this.model.config, ps = this.model.params;
    if (tokens.shape.length !== 2) throw new RangeError(`decodeForward: tokens must be [B, T], got [${tokens.shape}]`);
    const [b, t] = tokens.shape;
    if (b > this.maxBatch || t > this.maxLen) {
      throw new RangeError(
        `decodeForward: tokens [${tokens.shape}] exceed the cache's [${this.maxBatch}, ${this.maxLen}]`,
      );
    }
    const v = (x: F32, shape: number[]) => x.view(0, shape);
    const [x, ln, stats, qkv, y, h] = [
      v(this.#x, [b, d]),
      v(this.#ln, [b, d]),
      v(this.#stats, [b, 2]),
      v(this.#qkv, [b, 3 * d]),
      v(this.#y, [b, d]),
      v(this.#h, [b, 4 * d]),
    ];
    const cache = [b, heads, t, d / heads];
    embeddingAt(enc, tokens, pos, ps.get("wte"), ps.get("wpe"), x);
    for (let l = 0; l < layers; l++) {
      const { w } = this.model.block(l);
      const kCache = this.#k.view(l * this.#layerStride, cache), vCache = this.#v.view(l * this.#layerStride, cache);
      layernormForward(enc, x, w.ln1w, w.ln1b, ln, stats);
      matmul(enc, ln, w.wqkv, qkv, { bias: w.bqkv }); // [B, 3C]
      attentionDecode(enc, heads, { qkv, kCache, vCache, y }, pos);
      matmul(enc, y, w.wproj, x, { bias: w.bproj, beta: 1 }); // x1 = x + proj(y)
      layernormForward(enc, x, w.ln2w, w.ln2b, ln, stats);
      matmul(enc, ln, w.wfc, h, { bias: w.bfc, activation: "gelu" }); // [B, 4C]
      matmul(enc, h, w.wout, x, { bias: w.bout, beta: 1 }); // x2 = x1 + mlp
    }
    if (!logits) return;
    layernormForward(enc, x, ps.get("lnf.w"), ps.get("lnf.b"), ln, stats);
    matmul(enc, ln, ps.get("wte"), v(this.#logits, [b, vocab]), { transB: true }); // tied LM head
  }

  /** Frees the GPU buffers. */
  destroy(): void {
    for (const x of this.#owned) x.destroy();
  }
}
