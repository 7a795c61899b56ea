/**
 * Adapter and device acquisition, and the `Gpu` object every op dispatches through.
 *
 * A `Gpu` owns the device, a pipeline cache (keyed by WGSL source, entry point and constants), a bind-group cache,
 * and a uniform arena that carries each dispatch's small parameter struct through one dynamic-offset uniform
 * binding, so a whole training step is recorded into one command buffer and submitted once (see `encoder.ts`).
 *
 * Environment:
 * - `WEBGPU_ADAPTER=high-performance|low-power|fallback` picks the adapter (default: high-performance).
 * - `DENO_WEBGPU_BACKEND=vulkan|gl|metal|dx12` is read by Deno itself to force a backend (never set it empty).
 * - `LP_NATIVE_VECTOR_WIDTH=128|256|512` is llvmpipe's SIMD width (Mesa's default, 256 bits on x86-64 CPUs with
 *   AVX, when unset); a width that is set gets a shader cache of its own (see `vector_width.ts`).
 *
 * @example
 * ```ts
 * const gpu = await getGpu();
 * const x = gpu.fromArray(new Float32Array([1, 2, 3]), [3]);
 * console.log(gpu.info.description, await x.read());
 * ```
 * @module
 */
import { type DType, Tensor, type TypedArrayOf } from "./tensor.ts";
import { type DispatchTiming, StepEncoder } from "./encoder.ts";
import { chooseVectorWidth, type VectorWidthChoice } from "./vector_width.ts";

/** What a run records about the adapter it ran on. */
export interface AdapterRecord {
  /** Human-readable adapter name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  vendor: string;
  architecture: string;
  device: string;
  /** True for software adapters such as llvmpipe. */
  isFallbackAdapter: boolean;
  /** The backend Deno was told to use (`DENO_WEBGPU_BACKEND`), or "auto". */
  backend: string;
  /** The adapter preference we asked for. */
  preference: string;
  features: string[];
  limits: Record<string, number>;
  /** llvmpipe's vector width as asked for (`LP_NATIVE_VECTOR_WIDTH`), the CPU's, and why; only llvmpipe reads it. */
  vectorWidth: VectorWidthChoice;
  deno: string;
  os: string;
}

/** Options for {@link createGpu}. */
export interface GpuOptions {
  /** Which adapter to ask for; defaults to `WEBGPU_ADAPTER` or "high-performance". */
  preference?: "high-performance" | "low-power" | "fallback";
}

/** Bytes per uniform slot: WebGPU's minUniformBufferOffsetAlignment is at most 256. */
export const UNIFORM_SLOT = 256;
/** Slots per uniform-arena chunk. */
const SLOTS_PER_CHUNK = 1024;

const NO_ADAPTER_HELP = [
  "No WebGPU adapter was found.",
  "On a Linux machine without a GPU, install Mesa's llvmpipe software rasteriser, which Deno reaches through GL:",
  "  apt-get install libgl1-mesa-dri        (GL; then DENO_WEBGPU_BACKEND=gl)",
  "  apt-get install mesa-vulkan-drivers    (Vulkan lavapipe; then DENO_WEBGPU_BACKEND=vulkan)",
  "On a machine with a GPU, check its Vulkan/Metal/DX12 driver. WEBGPU_ADAPTER=fallback asks for a software adapter.",
].join("\n");

/** Thrown when no adapter can be found. */
export class NoAdapterError extends Error {
  constructor() {
    super(NO_ADAPTER_HELP);
    this.name = "NoAdapterError";
  }
}

/** Receives the GPU times of every profiled submit (see {@link Gpu.profiler}). */
export interface KernelProfiler {
  /** Called after a profiled encoder's submit, with its label and its dispatches' times. */
  record(label: string, timings: readonly DispatchTiming[]): void;
}

/** The device and the caches every op shares. */
export class Gpu {
  /** Pipeline cache: WGSL source + entry + constants -> pipeline and its layout. */
  readonly pipelines = new Map<string, { id: number; pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  /** Bind-group cache keyed by pipeline id and the bound buffer ranges. */
  readonly bindGroups = new Map<string, GPUBindGroup>();
  /** Uniform arena chunks; an encoder fills slots from the start of chunk 0 each submit. */
  readonly uniformChunks: GPUBuffer[] = [];
  /** Whether `timestamp-query` is enabled, so encoders can profile dispatches. */
  readonly hasTimestamps: boolean;
  /** Validation or out-of-memory errors reported by the device since the last check. */
  readonly errors: GPUError[] = [];
  /**
   * When set (and the adapter has timestamps), every encoder is profiled and reports its timings here: how a
   * benchmark sees where a whole algorithm's time goes (bench/rl_bench.ts). Profiling times each dispatch in a
   * pass of its own and adds a round trip per submit, so leave it null outside profiles.
   */
  profiler: KernelProfiler | null = null;
  #bufferIds = new WeakMap<GPUBuffer, number>();
  #nextId = 1;

  constructor(readonly adapter: GPUAdapter, readonly device: GPUDevice, readonly info: AdapterRecord) {
    this.hasTimestamps = device.features.has("timestamp-query");
    device.addEventListener("uncapturederror", (e) => {
      this.errors.push((e as GPUUncapturedErrorEvent).error);
    });
  }

  #dummy?: Tensor<"f32">;
  #dummyU32?: Tensor<"u32">;

  /** A small tensor to bind where a kernel's optional input is absent (bias-free matmul, say). */
  dummy(dtype: "f32" | "u32" = "f32"): Tensor {
    if (dtype === "u32") return this.#dummyU32 ??= this.tensor([64], "u32", "dummy-u32");
    return this.#dummy ??= this.tensor([64], "f32", "dummy");
  }

  /** Device limits (all of the adapter's limits are requested). */
  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** A stable id for a buffer (for cache keys). */
  bufferId(b: GPUBuffer): number {
    let id = this.#bufferIds.get(b);
    if (id === undefined) this.#bufferIds.set(b, id = this.#nextId++);
    return id;
  }

  /** Allocates an uninitialised (zero-filled by WebGPU) tensor. */
  tensor<D extends DType = "f32">(shape: readonly number[], dtype: D = "f32" as D, label = "tensor"): Tensor<D> {
    const size = checkShape(shape, label);
    const bytes = Math.max(4, size * 4);
    if (bytes > this.limits.maxBufferSize) {
      throw new RangeError(
        `Tensor '${label}' of shape [${shape}] needs ${bytes} bytes, over this adapter's maxBufferSize ` +
          `(${this.limits.maxBufferSize})`,
      );
    }
    const buffer = this.device.createBuffer({
      label,
      size: Math.ceil(bytes / 4) * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    return new Tensor(this, buffer, 0, shape, dtype, label, true);
  }

  /** A zero-filled tensor (WebGPU zero-initialises new buffers). */
  zeros<D extends DType = "f32">(shape: readonly number[], dtype: D = "f32" as D, label = "zeros"): Tensor<D> {
    return this.tensor(shape, dtype, label);
  }

  /** A tensor holding `data`; `shape` defaults to `[data.length]`. */
  fromArray<D extends DType>(
    data: TypedArrayOf<D> | ArrayLike<number>,
    shape?: readonly number[],
    dtype?: D,
    label = "array",
  ): Tensor<D> {
    const dt = (dtype ?? (data instanceof Uint32Array ? "u32" : data instanceof Int32Array ? "i32" : "f32")) as D;
    const t = this.tensor(shape ?? [data.length], dt, label);
    if (t.size !== data.length) {
      throw new RangeError(`Tensor '${label}': shape [${shape}] holds ${t.size} values but ${data.length} were given`);
    }
    t.write(data);
    return t;
  }

  /** A new step encoder: record many dispatches, then submit them once. */
  encoder(label = "step", options: { profile?: boolean } = {}): StepEncoder {
    return new StepEncoder(this, label, { profile: options.profile ?? this.profiler !== null });
  }

  /** Reads a tensor back (one queue round trip, about 11.5 ms in Deno). */
  read<D extends DType>(t: Tensor<D>): Promise<TypedArrayOf<D>> {
    const enc = this.encoder("read");
    const p = enc.read(t);
    return enc.submit().then(() => p);
  }

  /** Waits until all submitted work is done (one round trip). */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.throwErrors();
  }

  /** Throws the first device error reported since the last check, if any. */
  throwErrors(): void {
    if (this.errors.length === 0) return;
    const e = this.errors.splice(0);
    throw new Error(`WebGPU reported ${e.length} error(s); first: ${e[0].message}`);
  }

  /** The uniform-arena chunk `i`, allocated on first use. */
  uniformChunk(i: number): GPUBuffer {
    while (this.uniformChunks.length <= i) {
      this.uniformChunks.push(this.device.createBuffer({
        label: `uniforms-${this.uniformChunks.length}`,
        size: UNIFORM_SLOT * SLOTS_PER_CHUNK,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      }));
    }
    return this.uniformChunks[i];
  }

  /** Slots per uniform-arena chunk. */
  get slotsPerChunk(): number {
    return SLOTS_PER_CHUNK;
  }

  /** Releases the device. */
  destroy(): void {
    for (const b of this.uniformChunks) b.destroy();
    this.device.destroy();
  }
}

/** Validates a shape and returns its element count. */
export function checkShape(shape: readonly number[], label: string): number {
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`Tensor '${label}' has a bad shape [${shape}]`);
    size *= d;
  }
  return size;
}

function preferenceFromEnv(): GpuOptions["preference"] {
  const v = Deno.env.get("WEBGPU_ADAPTER");
  if (v === undefined || v === "") return undefined;
  if (v === "high-performance" || v === "low-power" || v === "fallback") return v;
  throw new TypeError(`WEBGPU_ADAPTER must be high-performance, low-power or fallback; got '${v}'`);
}

/** Requests an adapter and a device with all of the adapter's limits. Throws {@link NoAdapterError}. */
export async function createGpu(options: GpuOptions = {}): Promise<Gpu> {
  const preference = options.preference ?? preferenceFromEnv() ?? "high-performance";
  if (!("gpu" in navigator) || !navigator.gpu) throw new NoAdapterError();
  const vectorWidth = chooseVectorWidth(); // Mesa reads it when the first adapter is created
  const adapter = await navigator.gpu.requestAdapter(
    preference === "fallback" ? { forceFallbackAdapter: true } : { powerPreference: preference },
  );
  if (!adapter) throw new NoAdapterError();
  const requiredLimits: Record<string, number> = {};
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === "number") {
      requiredLimits[key] = v;
      limits[key] = v;
    }
  }
  const requiredFeatures: GPUFeatureName[] = adapter.features.has("timestamp-query") ? ["timestamp-query"] : [];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const a = adapter.info;
  const info: AdapterRecord = {
    description: a.description || "unknown",
    vendor: a.vendor,
    architecture: a.architecture,
    device: a.device,
    isFallbackAdapter: (a as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
    backend: Deno.env.get("DENO_WEBGPU_BACKEND") || "auto",
    preference,
    features: [...adapter.features].sort(),
    limits,
    vectorWidth,
    deno: Deno.version.deno,
    os: `${Deno.build.os}-${Deno.build.arch}`,
  };
  return new Gpu(adapter, device, info);
}

let shared: Promise<Gpu> | undefined;

/** The process-wide `Gpu`, created on first call. */
export function getGpu(options: GpuOptions = {}): Promise<Gpu> {
  shared ??= createGpu(options).catch((e) => {
    shared = undefined;
    throw e;
  });
  return shared;
}
