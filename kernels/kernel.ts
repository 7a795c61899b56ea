/**
 * Kernel definitions: a WGSL body plus a declaration of its buffers and parameters, from which the binding
 * declarations, the explicit bind-group layout and the parameter packing are generated.
 *
 * Bindings, in order: the storage buffers as declared (`read` = read-only storage, `rw` = read-write storage), then,
 * if the kernel has `params`, one uniform struct `p` bound with a dynamic offset into the `Gpu`'s uniform arena.
 * Because the layout never changes and the arena buffers persist, the bind group of a dispatch is created once and
 * reused on every later step.
 *
 * @example
 * ```ts
 * const scale = kernel({
 *   name: "scale",
 *   buffers: { x: "read", y: "rw" },
 *   params: { n: "u32", alpha: "f32" },
 *   code: `@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
 *     if (g.x < p.n) { y[g.x] = p.alpha * x[g.x]; }
 *   }`,
 * });
 * ```
 * @module
 */
import type { Gpu } from "./gpu.ts";
import type { DType } from "./tensor.ts";

/** `read` or `rw`, optionally with a WGSL element type: `"read:u32"`, `"rw:vec4<f32>"`. Default type f32. */
export type BufferDecl = "read" | "rw" | `read:${string}` | `rw:${string}`;

/** Scalar types a parameter may have. */
export type ParamType = "u32" | "i32" | "f32";

/** What a kernel declares. */
export interface KernelDef {
  /** Unique, readable name (used in labels, profiles and error messages). */
  name: string;
  /** Storage buffers in binding order. */
  buffers: Record<string, BufferDecl>;
  /** Fields of the uniform struct `p`, each 4 bytes, in order. */
  params?: Record<string, ParamType>;
  /** WGSL after the generated declarations; defines the entry point. */
  code: string;
  /** Entry point name (default "main"). */
  entryPoint?: string;
  /** Values for WGSL `override` constants. */
  constants?: Record<string, number>;
}

interface BufferSlot {
  name: string;
  access: "read" | "rw";
  wgslType: string;
  dtype: DType;
}

/** The scalar dtype of a WGSL element type such as `f32`, `vec4<f32>`, `vec4f`, `u32`. */
function dtypeOf(t: string): DType {
  const s = t.replace(/\s/g, "");
  if (/^(f32|vec[234]<f32>|vec[234]f|mat\dx\d<f32>|mat\dx\df)$/.test(s)) return "f32";
  if (/^(u32|vec[234]<u32>|vec[234]u)$/.test(s)) return "u32";
  if (/^(i32|vec[234]<i32>|vec[234]i)$/.test(s)) return "i32";
  throw new TypeError(`Unsupported WGSL buffer element type '${t}'`);
}

/** A compiled-on-demand kernel. */
export class Kernel {
  readonly name: string;
  readonly buffers: readonly BufferSlot[];
  readonly params: readonly [string, ParamType][];
  /** The complete WGSL source, declarations included. */
  readonly wgsl: string;
  readonly entryPoint: string;
  readonly constants: Record<string, number> | undefined;
  /** Cache key: source, entry point and constants. */
  readonly key: string;
  readonly #def: KernelDef;
  readonly #promoted = new Map<string, Kernel>();

  constructor(def: KernelDef) {
    this.#def = def;
    this.name = def.name;
    this.entryPoint = def.entryPoint ?? "main";
    this.constants = def.constants;
    this.buffers = Object.entries(def.buffers).map(([name, decl]) => {
      const [access, type = "f32"] = decl.split(":") as ["read" | "rw", string?];
      if (access !== "read" && access !== "rw") {
        throw new TypeError(`Kernel '${def.name}': buffer '${name}' access must be read or rw, got '${decl}'`);
      }
      return { name, access, wgslType: type, dtype: dtypeOf(type) };
    });
    this.params = Object.entries(def.params ?? {});
    const decls = this.buffers.map((b, i) =>
      `@group(0) @binding(${i}) var<storage, ${
        b.access === "read" ? "read" : "read_write"
      }> ${b.name}: array<${b.wgslType}>;`
    );
    if (this.params.length > 0) {
      if (this.params.length * 4 > 256) throw new RangeError(`Kernel '${def.name}' has more than 64 params`);
      decls.push(`struct Params { ${this.params.map(([n, t]) => `${n}: ${t},`).join(" ")} }`);
      decls.push(`@group(0) @binding(${this.buffers.length}) var<uniform> p: Params;`);
    }
    this.wgsl = `// kernel: ${def.name}\n${decls.join("\n")}\n${def.code}`;
    this.key = `${this.entryPoint}\u0000${JSON.stringify(def.constants ?? {})}\u0000${this.wgsl}`;
  }

  /**
   * This kernel with the named read-only buffers declared read-write instead (cached). wgpu rejects a dispatch that
   * binds one buffer both read-only and read-write, even at disjoint ranges, while two read-write bindings of one
   * buffer are accepted; so `StepEncoder.dispatch` binds an input that shares a buffer with an output through this
   * variant. The WGSL body is unchanged: reading a read_write array is the same code.
   */
  promoted(names: readonly string[]): Kernel {
    if (names.length === 0) return this;
    const key = [...names].sort().join(",");
    let k = this.#promoted.get(key);
    if (!k) {
      const buffers: Record<string, BufferDecl> = {};
      for (const b of this.buffers) {
        buffers[b.name] = `${b.access === "read" && names.includes(b.name) ? "rw" : b.access}:${b.wgslType}`;
      }
      k = new Kernel({ ...this.#def, name: `${this.name}[rw:${key}]`, buffers });
      this.#promoted.set(key, k);
    }
    return k;
  }

  /** Bytes of the params struct, rounded up to 16 as WGSL's uniform layout requires. */
  get paramBytes(): number {
    return Math.ceil((this.params.length * 4) / 16) * 16;
  }

  /** The pipeline and layout on `gpu`, compiled and cached on first use. */
  pipeline(gpu: Gpu): { id: number; pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    const hit = gpu.pipelines.get(this.key);
    if (hit) return hit;
    const maxStorage = gpu.limits.maxStorageBuffersPerShaderStage;
    if (this.buffers.length > maxStorage) {
      throw new RangeError(
        `Kernel '${this.name}' binds ${this.buffers.length} storage buffers; this adapter allows ${maxStorage}`,
      );
    }
    const entries: GPUBindGroupLayoutEntry[] = this.buffers.map((b, i) => ({
      binding: i,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: b.access === "read" ? "read-only-storage" : "storage" },
    }));
    if (this.params.length > 0) {
      entries.push({
        binding: this.buffers.length,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: this.paramBytes },
      });
    }
    const device = gpu.device;
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ label: this.name, code: this.wgsl });
    const layout = device.createBindGroupLayout({ label: this.name, entries });
    const pipeline = device.createComputePipeline({
      label: this.name,
      layout: device.createPipelineLayout({ label: this.name, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: this.entryPoint, constants: this.constants },
    });
    // A compile error surfaces asynchronously; record it so the next submit or sync throws it with the name.
    device.popErrorScope().then((err) => {
      if (err) gpu.errors.push(new GPUValidationError(`Kernel '${this.name}': ${err.message}`));
    });
    const entry = { id: gpu.pipelines.size + 1, pipeline, layout };
    gpu.pipelines.set(this.key, entry);
    return entry;
  }

  /** Packs parameter values into `view` at `byteOffset`, checking names and ranges. */
  packParams(values: Record<string, number> | undefined, view: DataView, byteOffset: number): void {
    const given = values ?? {};
    for (const k of Object.keys(given)) {
      if (!this.params.some(([n]) => n === k)) {
        throw new TypeError(`Kernel '${this.name}' has no param '${k}' (params: ${this.params.map((p) => p[0])})`);
      }
    }
    this.params.forEach(([name, type], i) => {
      const v = given[name];
      if (typeof v !== "number" || Number.isNaN(v)) {
        throw new TypeError(`Kernel '${this.name}': param '${name}' must be a number, got ${v}`);
      }
      const at = byteOffset + i * 4;
      if (type === "f32") view.setFloat32(at, v, true);
      else if (type === "u32") {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
          throw new RangeError(`Kernel '${this.name}': param '${name}' must be a u32, got ${v}`);
        }
        view.setUint32(at, v, true);
      } else {
        if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
          throw new RangeError(`Kernel '${this.name}': param '${name}' must be an i32, got ${v}`);
        }
        view.setInt32(at, v, true);
      }
    });
  }
}

/** Defines a kernel. Compilation happens on first dispatch and is cached per `Gpu`. */
export function kernel(def: KernelDef): Kernel {
  return new Kernel(def);
}

/**
 * WGSL helper for 1-D kernels whose grid was split by {@link grid1d}: the flat invocation index.
 * Use with `@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u` and the workgroup size.
 */
export const FLAT_ID_WGSL = /* wgsl */ `
fn flat_id(g: vec3u, nw: vec3u, wg: u32) -> u32 { return g.x + (g.y + g.z * nw.y) * nw.x * wg; }
`;

/** Workgroup counts covering `n` invocations of a 1-D kernel with workgroup size `wg`, split over y beyond 65535. */
export function grid1d(n: number, wg: number, maxPerDim = 65535): [number, number, number] {
  const groups = Math.ceil(n / wg);
  if (groups <= maxPerDim) return [groups, 1, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y, 1];
}
