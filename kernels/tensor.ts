/**
 * A typed view of a range of a GPU buffer: shape, dtype and byte offset.
 *
 * Parameters of a model are carved out of one buffer by a size table (`view`), so that the optimizer updates them
 * all in one dispatch. A view that is bound to a kernel must start at a multiple of the adapter's
 * `minStorageBufferOffsetAlignment` (256 bytes = 64 floats); `alignedOffsets` lays out a size table that way.
 * @module
 */
import type { Gpu } from "./gpu.ts";

/** Element types the kernels use. Everything numeric is f32 (see DESIGN.md, "Conventions"). */
export type DType = "f32" | "u32" | "i32";

/** The typed array that holds a dtype's values on the CPU. */
export type TypedArrayOf<D extends DType> = D extends "f32" ? Float32Array
  : D extends "u32" ? Uint32Array
  : Int32Array;

/** Bytes between bindable views (WebGPU's minStorageBufferOffsetAlignment is at most 256). */
export const BIND_ALIGN_BYTES = 256;

/** A shaped, typed range of a GPU buffer. */
export class Tensor<D extends DType = DType> {
  constructor(
    readonly gpu: Gpu,
    readonly buffer: GPUBuffer,
    /** Byte offset of element 0 in `buffer`. */
    readonly offset: number,
    readonly shape: readonly number[],
    readonly dtype: D,
    readonly label: string,
    /** Whether this tensor owns (and may destroy) its buffer. */
    readonly owner = false,
  ) {}

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Bytes covered by this tensor. */
  get byteLength(): number {
    return this.size * 4;
  }

  /** A sub-tensor starting `elementOffset` elements in, with its own shape. */
  view(elementOffset: number, shape: readonly number[], label = this.label): Tensor<D> {
    const n = shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(elementOffset) || elementOffset < 0 || elementOffset + n > this.size) {
      throw new RangeError(
        `View [${elementOffset}, ${
          elementOffset + n
        }) of '${label}' is outside '${this.label}' (${this.size} elements)`,
      );
    }
    return new Tensor(this.gpu, this.buffer, this.offset + elementOffset * 4, shape, this.dtype, label);
  }

  /** The same elements with another shape. */
  reshape(shape: readonly number[]): Tensor<D> {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== this.size) throw new RangeError(`Cannot reshape '${this.label}' [${this.shape}] to [${shape}]`);
    return new Tensor(this.gpu, this.buffer, this.offset, shape, this.dtype, this.label);
  }

  /** Writes CPU data into the tensor (queued; visible to the next submit). */
  write(data: ArrayLike<number>, elementOffset = 0): void {
    if (elementOffset + data.length > this.size) {
      throw new RangeError(
        `Writing ${data.length} values at ${elementOffset} overflows '${this.label}' (${this.size})`,
      );
    }
    const arr = this.dtype === "f32"
      ? (data instanceof Float32Array ? data : Float32Array.from(data))
      : this.dtype === "u32"
      ? (data instanceof Uint32Array ? data : Uint32Array.from(data))
      : (data instanceof Int32Array ? data : Int32Array.from(data));
    this.gpu.device.queue.writeBuffer(
      this.buffer,
      this.offset + elementOffset * 4,
      arr.buffer as ArrayBuffer,
      arr.byteOffset,
      arr.byteLength,
    );
  }

  /** Reads the tensor back to the CPU (one queue round trip). */
  read(): Promise<TypedArrayOf<D>> {
    return this.gpu.read(this);
  }

  /** Destroys the buffer if this tensor owns it. */
  destroy(): void {
    if (this.owner) this.buffer.destroy();
  }
}

/**
 * Lays out named sizes (in elements) back to back, each starting at a multiple of 64 elements (256 bytes), so that
 * every entry can be bound on its own. Returns each entry's offset and the total.
 *
 * @example
 * ```ts
 * const { offsets, total } = alignedOffsets([["wte", 100], ["ln.w", 3]]);
 * // offsets.get("ln.w") === 128, total === 192
 * ```
 */
export function alignedOffsets(
  sizes: Iterable<readonly [string, number]>,
): { offsets: Map<string, number>; total: number } {
  const align = BIND_ALIGN_BYTES / 4;
  const offsets = new Map<string, number>();
  let total = 0;
  for (const [name, n] of sizes) {
    if (offsets.has(name)) throw new RangeError(`Duplicate entry '${name}' in a size table`);
    offsets.set(name, total);
    total += Math.ceil(n / align) * align;
  }
  return { offsets, total };
}
