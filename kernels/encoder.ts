/**
 * The step encoder: records many dispatches, copies and readbacks into one command buffer, submitted once.
 *
 * A queue round trip costs about 11.5 ms in Deno while an extra dispatch inside a submit costs about 0.05 ms
 * (DESIGN.md, "Toolchain facts"), so a training step is one encoder: forward, backward and optimizer are recorded,
 * the few scalars a run logs are staged with `read`, and `submit` waits only when something was read.
 *
 * Each dispatch's parameters go into a 256-byte slot of the `Gpu`'s uniform arena; `submit` uploads the used slots
 * with one `writeBuffer` per chunk just before submitting. Queue writes are ordered with submits, so the arena is
 * reused by every step without waiting.
 *
 * @example
 * ```ts
 * const enc = gpu.encoder("train step");
 * enc.dispatch(scale, { x, y }, { n: x.size, alpha: 2 }, grid1d(x.size, 64));
 * const loss = enc.read(lossTensor);
 * await enc.submit();
 * console.log((await loss)[0]);
 * ```
 * @module
 */
import { type Gpu, UNIFORM_SLOT } from "./gpu.ts";
import type { Kernel } from "./kernel.ts";
import type { DType, Tensor, TypedArrayOf } from "./tensor.ts";

/** Time one profiled dispatch took on the GPU. */
export interface DispatchTiming {
  kernel: string;
  ms: number;
}

interface PendingRead {
  staging: GPUBuffer;
  dtype: DType;
  resolve: (v: Float32Array | Uint32Array | Int32Array) => void;
  reject: (e: unknown) => void;
}

const MAX_BIND_GROUPS = 20000;
const MAX_PROFILED = 2048;

/** Records one submit's worth of GPU work. */
export class StepEncoder {
  readonly #gpu: Gpu;
  readonly #enc: GPUCommandEncoder;
  #pass: GPUComputePassEncoder | null = null;
  #slots = 0;
  #uniformData: ArrayBuffer[] = [];
  #reads: PendingRead[] = [];
  #submitted = false;
  /** Dispatches recorded so far. */
  dispatches = 0;
  /** When true (and the adapter supports timestamps), each dispatch is timed; see {@link timings}. */
  readonly profile: boolean;
  #querySet?: GPUQuerySet;
  #queryNames: string[] = [];
  #timings: DispatchTiming[] = [];

  constructor(readonly gpu: Gpu, readonly label: string, options: { profile?: boolean } = {}) {
    this.#gpu = gpu;
    this.#enc = gpu.device.createCommandEncoder({ label });
    this.profile = (options.profile ?? false) && gpu.hasTimestamps;
    if (this.profile) this.#querySet = gpu.device.createQuerySet({ type: "timestamp", count: 2 * MAX_PROFILED });
  }

  /** GPU time of each profiled dispatch, available after `submit` resolves. */
  get timings(): readonly DispatchTiming[] {
    return this.#timings;
  }

  /**
   * Records a dispatch of `k` over `grid` workgroups, binding `buffers` by name and packing `params`.
   * Throws a RangeError naming the kernel when a binding or the grid exceeds the adapter's limits.
   */
  dispatch(
    k: Kernel,
    buffers: Record<string, Tensor>,
    params: Record<string, number> | undefined,
    grid: number | readonly number[],
  ): void {
    this.#open();
    const gpu = this.#gpu;
    // A read-only input in the same GPU buffer as a read-write binding must itself be bound read-write (wgpu's
    // usage rule, see Kernel.promoted); the variant's bind-group layout differs, so it is a separate pipeline.
    const written = new Set(k.buffers.filter((b) => b.access === "rw").map((b) => buffers[b.name]?.buffer));
    const shared = k.buffers.filter((b) => b.access === "read" && written.has(buffers[b.name]?.buffer));
    if (shared.length > 0) k = k.promoted(shared.map((b) => b.name));
    const g = typeof grid === "number" ? [grid, 1, 1] : [grid[0], grid[1] ?? 1, grid[2] ?? 1];
    const maxDim = gpu.limits.maxComputeWorkgroupsPerDimension;
    for (const d of g) {
      if (!Number.isInteger(d) || d < 0 || d > maxDim) {
        throw new RangeError(`Kernel '${k.name}': grid [${g}] is outside [0, ${maxDim}] per dimension`);
      }
    }
    const { id, pipeline, layout } = k.pipeline(gpu);
    // Bindings: check names, dtypes, alignment and size limits, and build the cache key.
    const maxBinding = gpu.limits.maxStorageBufferBindingSize;
    const align = gpu.limits.minStorageBufferOffsetAlignment;
    let key = `${id}`;
    for (const name of Object.keys(buffers)) {
      if (!k.buffers.some((b) => b.name === name)) {
        throw new TypeError(`Kernel '${k.name}' has no buffer '${name}' (buffers: ${k.buffers.map((b) => b.name)})`);
      }
    }
    const entries: GPUBindGroupEntry[] = k.buffers.map((slot, i) => {
      const t = buffers[slot.name];
      if (!t) throw new TypeError(`Kernel '${k.name}': buffer '${slot.name}' was not given`);
      if (t.dtype !== slot.dtype) {
        throw new TypeError(
          `Kernel '${k.name}': buffer '${slot.name}' wants ${slot.dtype}, got '${t.label}' ${t.dtype}`,
        );
      }
      const size = Math.max(4, t.byteLength);
      if (size > maxBinding) {
        throw new RangeError(
          `Kernel '${k.name}': buffer '${slot.name}' ('${t.label}', [${t.shape}]) is ${size} bytes, over this ` +
            `adapter's maxStorageBufferBindingSize (${maxBinding})`,
        );
      }
      if (t.offset % align !== 0) {
        throw new RangeError(
          `Kernel '${k.name}': buffer '${slot.name}' ('${t.label}') starts at byte ${t.offset}, not a multiple of ` +
            `${align}; lay views out with alignedOffsets`,
        );
      }
      key += `|${gpu.bufferId(t.buffer)}:${t.offset}:${size}`;
      return { binding: i, resource: { buffer: t.buffer, offset: t.offset, size } };
    });
    let dynamicOffsets: number[] = [];
    if (k.params.length > 0) {
      const slot = this.#slots++;
      const chunk = Math.floor(slot / gpu.slotsPerChunk);
      const within = (slot % gpu.slotsPerChunk) * UNIFORM_SLOT;
      while (this.#uniformData.length <= chunk) this.#uniformData.push(new ArrayBuffer(0));
      if (this.#uniformData[chunk].byteLength < within + UNIFORM_SLOT) {
        const grown = new ArrayBuffer(
          Math.min(
            gpu.slotsPerChunk * UNIFORM_SLOT,
            Math.max(within + UNIFORM_SLOT, 2 * this.#uniformData[chunk].byteLength),
          ),
        );
        new Uint8Array(grown).set(new Uint8Array(this.#uniformData[chunk]));
        this.#uniformData[chunk] = grown;
      }
      k.packParams(params, new DataView(this.#uniformData[chunk]), within);
      const ub = gpu.uniformChunk(chunk);
      key += `|u${chunk}`;
      entries.push({ binding: k.buffers.length, resource: { buffer: ub, offset: 0, size: k.paramBytes } });
      dynamicOffsets = [within];
    } else if (params && Object.keys(params).length > 0) {
      throw new TypeError(`Kernel '${k.name}' takes no params, got ${Object.keys(params)}`);
    }
    let bg = gpu.bindGroups.get(key);
    if (!bg) {
      if (gpu.bindGroups.size >= MAX_BIND_GROUPS) gpu.bindGroups.clear();
      bg = gpu.device.createBindGroup({ label: k.name, layout, entries });
      gpu.bindGroups.set(key, bg);
    }
    if (g[0] * g[1] * g[2] === 0) return;
    let pass = this.#pass!;
    if (this.#querySet) {
      // Profiling: one pass per dispatch, timestamps at its start and end (up to MAX_PROFILED dispatches).
      pass.end();
      const q = this.#queryNames.length;
      const timestampWrites = q < MAX_PROFILED
        ? { querySet: this.#querySet, beginningOfPassWriteIndex: 2 * q, endOfPassWriteIndex: 2 * q + 1 }
        : undefined;
      if (timestampWrites) this.#queryNames.push(k.name);
      pass = this.#pass = this.#enc.beginComputePass({ label: k.name, timestampWrites });
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bg, dynamicOffsets);
    pass.dispatchWorkgroups(g[0], g[1], g[2]);
    this.dispatches++;
  }

  /** Copies `src` into `dst` (same element count). */
  copy(src: Tensor, dst: Tensor): void {
    if (src.size !== dst.size) {
      throw new RangeError(`Copy from '${src.label}' (${src.size}) to '${dst.label}' (${dst.size}): sizes differ`);
    }
    this.#close();
    if (src.size > 0) this.#enc.copyBufferToBuffer(src.buffer, src.offset, dst.buffer, dst.offset, src.byteLength);
  }

  /** Fills `t` with zeros. */
  zero(t: Tensor): void {
    this.#close();
    if (t.size > 0) this.#enc.clearBuffer(t.buffer, t.offset, t.byteLength);
  }

  /** Stages `t` for readback; the promise resolves after `submit`. */
  read<D extends DType>(t: Tensor<D>): Promise<TypedArrayOf<D>> {
    this.#close();
    const staging = this.#gpu.device.createBuffer({
      label: `read ${t.label}`,
      size: Math.max(4, t.byteLength),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    if (t.size > 0) this.#enc.copyBufferToBuffer(t.buffer, t.offset, staging, 0, t.byteLength);
    return new Promise((resolve, reject) => {
      this.#reads.push({
        staging,
        dtype: t.dtype,
        resolve: resolve as (v: Float32Array | Uint32Array | Int32Array) => void,
        reject,
      });
    });
  }

  /**
   * Uploads the parameters and submits everything recorded. Resolves at once unless something was read or
   * profiled, in which case it resolves after one round trip, when the reads are available.
   */
  async submit(): Promise<void> {
    if (this.#submitted) throw new Error(`Encoder '${this.label}' was already submitted`);
    this.#submitted = true;
    this.#close();
    const gpu = this.#gpu;
    const n = this.#queryNames.length;
    let tsStaging: GPUBuffer | undefined;
    if (n > 0) {
      const resolveBuf = gpu.device.createBuffer({
        size: n * 16,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      tsStaging = gpu.device.createBuffer({ size: n * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.#enc.resolveQuerySet(this.#querySet!, 0, 2 * n, resolveBuf, 0);
      this.#enc.copyBufferToBuffer(resolveBuf, 0, tsStaging, 0, n * 16);
    }
    this.#uniformData.forEach((data, chunk) => {
      if (data.byteLength > 0) gpu.device.queue.writeBuffer(gpu.uniformChunk(chunk), 0, data);
    });
    gpu.device.queue.submit([this.#enc.finish()]);
    const reads = this.#reads;
    if (reads.length === 0 && !tsStaging) {
      gpu.throwErrors();
      return;
    }
    try {
      await Promise.all([
        ...reads.map((r) => r.staging.mapAsync(GPUMapMode.READ)),
        ...(tsStaging ? [tsStaging.mapAsync(GPUMapMode.READ)] : []),
      ]);
      gpu.throwErrors();
    } catch (e) {
      for (const r of reads) r.reject(e);
      throw e;
    }
    for (const r of reads) {
      const bytes = r.staging.getMappedRange().slice(0);
      r.staging.destroy();
      r.resolve(
        r.dtype === "f32"
          ? new Float32Array(bytes)
          : r.dtype === "u32"
          ? new Uint32Array(bytes)
          : new Int32Array(bytes),
      );
    }
    if (tsStaging) {
      const ts = new BigUint64Array(tsStaging.getMappedRange().slice(0));
      tsStaging.destroy();
      this.#timings = this.#queryNames.map((kernel, i) => ({ kernel, ms: Number(ts[2 * i + 1] - ts[2 * i]) / 1e6 }));
      gpu.profiler?.record(this.label, this.#timings);
    }
    this.#querySet?.destroy();
  }

  #open(): void {
    if (this.#submitted) throw new Error(`Encoder '${this.label}' was already submitted`);
    this.#pass ??= this.#enc.beginComputePass({ label: this.label });
  }

  #close(): void {
    this.#pass?.end();
    this.#pass = null;
  }
}
