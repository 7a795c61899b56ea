/**
 * Token batches on the GPU for the training loops, and the seeded data order they draw from.
 *
 * - {@link BatchBuffers}: fixed-shape GPU inputs [B, T] (tokens, targets, loss mask, last index) rewritten each step
 *   from a testbeds/tokenizer.ts `TokenBatch` by queue writes, which are ordered with submits, so a step never
 *   waits for the previous one to finish.
 * - {@link StackedBatches}: many batches uploaded once (a held-out set), each batch at 256-byte-aligned offsets so
 *   its mask can be bound by the losses directly; evaluation then runs every batch in one submit.
 * - {@link DataOrder}: an endless stream of epochs, each a shuffle of the data drawn from its own named sub-stream,
 *   read through a cursor (examples consumed so far). The cursor is all a checkpoint needs to resume the exact
 *   order (DESIGN.md, "Conventions": data order derives from the run's seed).
 * - {@link fixedWidth}, {@link widthOf}: every batch of a run has one width T, the longest sequence of the data, so one
 *   workspace serves every step.
 *
 * @example
 * ```ts
 * const T = widthOf(tok, [...train, ...heldout], model.config.ctx);
 * const bufs = new BatchBuffers(gpu, B, T);
 * const order = new DataOrder(new Rng(seed).split("data"), train.length);
 * bufs.write(fixedWidth(tok, order.take(B).map((i) => train[i]), T));
 * model.forward(enc, ws, bufs.tokens);
 * model.crossEntropy(enc, ws, bufs.targets, bufs.mask);
 * ```
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import type { Rng } from "../kernels/rng.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { buildBatch, type Example, type TokenBatch, type Tokenizer } from "../testbeds/tokenizer.ts";

const A = (n: number) => Math.ceil(n / 64) * 64;

/** Tokens of `BOS prompt SEP response EOS` for one example. */
function lengthOf(tok: Tokenizer, ex: Example): number {
  const n = (x: string | readonly number[]) => (typeof x === "string" ? tok.encode(x).length : x.length);
  return 3 + n(ex.prompt) + n(ex.response);
}

/** The longest sequence among `examples` (BOS, SEP and EOS included); over `context` is a RangeError. */
export function widthOf(tok: Tokenizer, examples: readonly Example[], context: number): number {
  if (examples.length === 0) throw new RangeError("widthOf: no examples");
  let w = 0, at = 0;
  examples.forEach((ex, i) => {
    const n = lengthOf(tok, ex);
    if (n > w) [w, at] = [n, i];
  });
  if (w > context) throw new RangeError(`Example ${at} has ${w} tokens, over the model's context of ${context}`);
  return w;
}

/** A right-padded batch of exactly `width` columns. */
export function fixedWidth(tok: Tokenizer, examples: readonly Example[], width: number): TokenBatch {
  return buildBatch(tok, examples, { context: width, padTo: "context" });
}

/** Fixed-shape GPU inputs of B sequences of width T. */
export class BatchBuffers {
  readonly tokens: Tensor<"u32">; // [B, T]
  readonly targets: Tensor<"u32">; // [B, T] tokens shifted left by one
  readonly mask: Tensor<"f32">; // [B, T] 1 where the target is a response token (EOS included)
  readonly lastIndex: Tensor<"u32">; // [B] each row's last real token

  constructor(readonly gpu: Gpu, readonly b: number, readonly t: number, label = "batch") {
    this.tokens = gpu.tensor([b, t], "u32", `${label}.tokens`);
    this.targets = gpu.tensor([b, t], "u32", `${label}.targets`);
    this.mask = gpu.tensor([b, t], "f32", `${label}.mask`);
    this.lastIndex = gpu.tensor([b], "u32", `${label}.last`);
  }

  /** Queues the batch's arrays (no round trip); it must be [B, T] exactly. */
  write(batch: TokenBatch): void {
    if (batch.B !== this.b || batch.T !== this.t) {
      throw new RangeError(`BatchBuffers: batch is [${batch.B}, ${batch.T}], the buffers are [${this.b}, ${this.t}]`);
    }
    this.tokens.write(batch.tokens);
    this.targets.write(batch.targets);
    this.mask.write(batch.mask);
    this.lastIndex.write(batch.lastIndex);
  }

  /** Frees the buffers. */
  destroy(): void {
    for (const x of [this.tokens, this.targets, this.mask, this.lastIndex]) x.destroy();
  }
}

/** N examples as ceil(N / B) batches of [B, T], uploaded once; the last batch's filler rows have mask 0. */
export class StackedBatches {
  /** Number of batches. */
  readonly count: number;
  /** Response tokens (mask sum) of each batch, for weighting per-batch mean losses. */
  readonly tokensPerBatch: number[];
  readonly #tokens: Tensor<"u32">;
  readonly #targets: Tensor<"u32">;
  readonly #mask: Tensor<"f32">;
  readonly #stride: number;

  constructor(gpu: Gpu, tok: Tokenizer, examples: readonly Example[], readonly b: number, readonly t: number) {
    if (examples.length === 0) throw new RangeError("StackedBatches: no examples");
    this.count = Math.ceil(examples.length / b);
    this.#stride = A(b * t);
    const n = this.count * this.#stride;
    const [tokens, targets, mask] = [new Uint32Array(n), new Uint32Array(n), new Float32Array(n)];
    this.tokensPerBatch = [];
    for (let i = 0; i < this.count; i++) {
      const rows = examples.slice(i * b, (i + 1) * b), real = rows.length;
      while (rows.length < b) rows.push(examples[0]); // filler, masked out below
      const batch = fixedWidth(tok, rows, t);
      batch.mask.fill(0, real * t);
      tokens.set(batch.tokens, i * this.#stride);
      targets.set(batch.targets, i * this.#stride);
      mask.set(batch.mask, i * this.#stride);
      this.tokensPerBatch.push(batch.mask.reduce((s, x) => s + x, 0));
    }
    this.#tokens = gpu.fromArray(tokens, [n], "u32", "stacked.tokens");
    this.#targets = gpu.fromArray(targets, [n], "u32", "stacked.targets");
    this.#mask = gpu.fromArray(mask, [n], "f32", "stacked.mask");
  }

  /** Batch i as [B, T] views. */
  batch(i: number): { tokens: Tensor<"u32">; targets: Tensor<"u32">; mask: Tensor<"f32"> } {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) {
      throw new RangeError(`StackedBatches: batch ${i} is outside [0, ${this.count})`);
    }
    const at = i * this.#stride, shape = [this.b, this.t];
    return {
      tokens: this.#tokens.view(at, shape),
      targets: this.#targets.view(at, shape),
      mask: this.#mask.view(at, shape),
    };
  }

  /** Frees the buffers. */
  destroy(): void {
    for (const x of [this.#tokens, this.#targets, this.#mask]) x.destroy();
  }
}

/**
 * The order examples are visited in: epoch e is a shuffle of 0..n-1 drawn from `rng.split("epoch-" + e)`, the
 * epochs back to back; `cursor` counts the examples taken so far (a batch may span two epochs).
 */
export class DataOrder {
  #epoch = -1;
  #order: number[] = [];

  constructor(readonly rng: Rng, readonly n: number, public cursor = 0) {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`DataOrder: n must be an integer >= 1, got ${n}`);
    if (!(Number.isInteger(cursor) && cursor >= 0)) {
      throw new RangeError(`DataOrder: cursor must be an integer >= 0, got ${cursor}`);
    }
  }

  /** The next `count` example indices; advances the cursor. */
  take(count: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < count; i++, this.cursor++) {
      const epoch = Math.floor(this.cursor / this.n);
      if (epoch !== this.#epoch) {
        this.#epoch = epoch;
        this.#order = this.rng.split(`epoch-${epoch}`).shuffle([...Array(this.n).keys()]);
      }
      out.push(this.#order[this.cursor % this.n]);
    }
    return out;
  }

  /** Epochs completed, fractionally. */
  get epochs(): number {
    return this.cursor / this.n;
  }
}
