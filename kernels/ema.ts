/**
 * Exponential moving average of parameters: `target ← η·source + (1 − η)·target`, elementwise over flat buffers.
 *
 * This is the paper's reference-model EMA (§5, "Ref. EMA"; PAPER.md §8.9): after every actor training step ReaLHF's
 * `ParamReallocHook(eta)` sets θ_ref ← η·θ_actor + (1 − η)·θ_ref (its example uses η = 0.001). A model's parameters
 * live in one flat buffer (nn/params.ts), so the whole reference model moves in one dispatch; the zero padding
 * between entries stays zero because both buffers hold zeros there.
 *
 * @example
 * ```ts
 * const enc = gpu.encoder("ppo step");
 * // ... actor forward, backward, optimizer ...
 * emaParams(enc, refModel, actorModel, 0.001); // θ_ref ← 0.001·θ_actor + 0.999·θ_ref
 * await enc.submit();
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

const WG = 256;

// The two weights are computed once on the CPU (in f64, then rounded to f32 by the uniform), so the CPU reference
// uses the identical f32 factors. The expression is the paper's η·a + (1 − η)·r, not r + η·(a − r): at η = 1 it gives
// exactly the source and at η = 0 exactly the target.
const emaKernel = kernel({
  name: "ema",
  buffers: { dst: "rw", src: "read" },
  params: { n: "u32", eta: "f32", keep: "f32" },
  code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat_id(g, nw, ${WG}u);
  if (i >= p.n) { return; }
  dst[i] = p.eta * src[i] + p.keep * dst[i];
}`,
});

/** Checks η and returns the f32 factors (η, 1 − η) that both the kernel and the CPU reference use. */
function emaFactors(eta: number): { eta: number; keep: number } {
  if (typeof eta !== "number" || !(eta >= 0 && eta <= 1)) {
    throw new RangeError(`EMA rate eta must be in [0, 1], got ${eta}`);
  }
  return { eta: Math.fround(eta), keep: Math.fround(1 - eta) };
}

/**
 * Records `target ← η·source + (1 − η)·target` over two tensors of the same size (any shapes). They must be
 * different buffers: WebGPU forbids binding one buffer as both read and read-write in a dispatch.
 */
export function ema(enc: StepEncoder, target: Tensor, source: Tensor, eta: number): void {
  const f = emaFactors(eta);
  if (target.dtype !== "f32" || source.dtype !== "f32") {
    throw new TypeError(
      `ema: target ('${target.label}' ${target.dtype}) and source ('${source.label}' ` +
        `${source.dtype}) must be f32`,
    );
  }
  if (target.size !== source.size) {
    throw new RangeError(
      `ema: target ('${target.label}' [${target.shape}]) and source ('${source.label}' [${source.shape}]) differ in ` +
        `size (${target.size} vs ${source.size})`,
    );
  }
  if (target.buffer === source.buffer) {
    throw new TypeError(`ema: target ('${target.label}') and source ('${source.label}') share a buffer`);
  }
  if (target.size === 0) return;
  enc.dispatch(emaKernel, { dst: target, src: source }, { n: target.size, ...f }, grid1d(target.size, WG));
}

/** What {@link emaParams} needs of a parameter set (nn/params.ts's `ParamSet` has it). */
export interface FlatParams {
  /** All parameters, one flat f32 tensor. */
  readonly params: Tensor;
  /** The size table: each entry's name, shape and offset into `params`. */
  readonly entries: readonly { name: string; shape: readonly number[]; offset: number }[];
}

/**
 * Records the EMA of a whole model: `target.params ← η·source.params + (1 − η)·target.params` in one dispatch.
 * Both sets must have the same size table (same names, shapes and offsets), which the error names otherwise.
 */
export function emaParams(enc: StepEncoder, target: FlatParams, source: FlatParams, eta: number): void {
  const a = target.entries, b = source.entries;
  if (a.length !== b.length) {
    throw new RangeError(`emaParams: target has ${a.length} parameter entries, source has ${b.length}`);
  }
  a.forEach((e, i) => {
    const s = b[i];
    if (e.name !== s.name || e.offset !== s.offset || e.shape.join() !== s.shape.join()) {
      throw new RangeError(
        `emaParams: entry ${i} differs: target '${e.name}' [${e.shape}] at ${e.offset}, source '${s.name}' ` +
          `[${s.shape}] at ${s.offset}`,
      );
    }
  });
  ema(enc, target.params, source.params, eta);
}

/** CPU reference of {@link ema}: updates `target` in place with the same f32 factors and f32 rounding. */
export function emaCpu(target: Float32Array, source: Float32Array, eta: number): Float32Array {
  const { eta: e, keep } = emaFactors(eta);
  if (target.length !== source.length) {
    throw new RangeError(`emaCpu: target (${target.length}) and source (${source.length}) differ in length`);
  }
  for (let i = 0; i < target.length; i++) {
    target[i] = Math.fround(Math.fround(e * source[i]) + Math.fround(keep * target[i]));
  }
  return target;
}
