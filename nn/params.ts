/**
 * Parameters carved out of one GPU buffer by a size table (as llm.c does), with a gradient buffer of the same layout
 * and a weight-decay mask, so that the optimizer, the gradient norm, the EMA and checkpoints each treat a whole
 * model as one flat tensor in one dispatch.
 *
 * Every entry starts at a 256-byte boundary so that it can be bound to a kernel on its own; the padding between
 * entries is zero in the parameters, the gradients and the decay mask, so it never moves.
 *
 * @example
 * ```ts
 * const ps = new ParamSet(gpu, [
 *   { name: "wte", shape: [vocab, d], init: { normal: 0.02 }, decay: true },
 *   { name: "ln_f.w", shape: [d], init: "ones", decay: false },
 * ]);
 * ps.initialize(new Rng(1).split("init"));
 * const wte = ps.get("wte"); // [vocab, d] view of ps.params
 * ```
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import type { Rng } from "../kernels/rng.ts";
import { alignedOffsets, type Tensor } from "../kernels/tensor.ts";

/** How an entry is initialised. */
export type ParamInit = "zeros" | "ones" | { normal: number };

/** One named parameter. */
export interface ParamSpec {
  name: string;
  shape: readonly number[];
  init: ParamInit;
  /** Whether AdamW's weight decay applies (matrices yes; biases, LayerNorm and embeddings by choice). */
  decay: boolean;
}

/** A row of the size table, as checkpoints record it. */
export interface ParamEntry {
  name: string;
  shape: readonly number[];
  /** Offset in elements into the flat buffer. */
  offset: number;
  size: number;
  decay: boolean;
}

/** A model's parameters, gradients and decay mask, each one flat tensor. */
export class ParamSet {
  /** The size table in order. */
  readonly entries: readonly ParamEntry[];
  /** Elements in the flat buffers, padding included. */
  readonly total: number;
  /** Parameters, [total]. */
  readonly params: Tensor<"f32">;
  /** Gradients, [total], same layout. */
  readonly grads: Tensor<"f32">;
  /** 1 where weight decay applies, 0 elsewhere (padding included), [total]. */
  readonly decayMask: Tensor<"f32">;
  readonly #byName: Map<string, ParamEntry>;

  constructor(readonly gpu: Gpu, readonly specs: readonly ParamSpec[], label = "params") {
    const { offsets, total } = alignedOffsets(specs.map((s) => [s.name, s.shape.reduce((a, b) => a * b, 1)]));
    this.entries = specs.map((s) => ({
      name: s.name,
      shape: s.shape,
      offset: offsets.get(s.name)!,
      size: s.shape.reduce((a, b) => a * b, 1),
      decay: s.decay,
    }));
    this.#byName = new Map(this.entries.map((e) => [e.name, e]));
    this.total = Math.max(total, 64);
    this.params = gpu.tensor([this.total], "f32", `${label}`);
    this.grads = gpu.tensor([this.total], "f32", `${label}.grad`);
    const mask = new Float32Array(this.total);
    for (const e of this.entries) if (e.decay) mask.fill(1, e.offset, e.offset + e.size);
    this.decayMask = gpu.fromArray(mask, [this.total], "f32", `${label}.decay`);
  }

  /** Number of real parameters (padding excluded). */
  get count(): number {
    return this.entries.reduce((a, e) => a + e.size, 0);
  }

  /** The entry named `name`; the error lists the known names. */
  entry(name: string): ParamEntry {
    const e = this.#byName.get(name);
    if (!e) throw new RangeError(`No parameter '${name}'; known: ${[...this.#byName.keys()].join(", ")}`);
    return e;
  }

  /** The parameter `name` as a view of the flat buffer. */
  get(name: string): Tensor<"f32"> {
    const e = this.entry(name);
    return this.params.view(e.offset, e.shape, name);
  }

  /** The gradient of `name` as a view of the flat gradient buffer. */
  grad(name: string): Tensor<"f32"> {
    const e = this.entry(name);
    return this.grads.view(e.offset, e.shape, `${name}.grad`);
  }

  /** Initial values on the CPU, from the stream `rng` (entries draw in table order, from per-name sub-streams). */
  initialValues(rng: Rng): Float32Array {
    const flat = new Float32Array(this.total);
    this.specs.forEach((s, i) => {
      const e = this.entries[i];
      if (s.init === "ones") flat.fill(1, e.offset, e.offset + e.size);
      else if (s.init !== "zeros") flat.set(rng.split(s.name).normals(e.size, s.init.normal), e.offset);
    });
    return flat;
  }

  /** Writes the initial values to the GPU. */
  initialize(rng: Rng): void {
    this.params.write(this.initialValues(rng));
  }
}
