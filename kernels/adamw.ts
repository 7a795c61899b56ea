/**
 * AdamW over flat buffers: the global-norm clip coefficient (computed on the GPU from a sum of squares) and the
 * bias-corrected update with decoupled weight decay, each one dispatch, with a CPU reference of both.
 *
 * The update, for every element i (g already multiplied by the clip coefficient c):
 *
 *   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
 *   θ ← θ − lr·( (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε) + wd·mask_i·θ )
 *
 * which is PyTorch's `AdamW` and apex/Megatron's `FusedAdam(adam_w_mode=True)` (ReaLHF's optimizer; PAPER.md §5.5):
 * decay is decoupled from the adaptive step, scaled by lr, and applied only where the decay mask is 1. The clip
 * coefficient is c = min(1, maxNorm / (‖g‖ + 1e-6)) (torch `clip_grad_norm_`, Megatron `clip_grad_norm_fp32`).
 *
 * @example
 * ```ts
 * const enc = gpu.encoder("train step");
 * sumSquares(enc, grads, sumSq);                          // ‖g‖², deterministic (kernels/reduce.ts)
 * clipCoefficient(enc, sumSq, gradNorm, coef, 1.0);       // no readback: coef stays on the GPU
 * adamwUpdate(enc, { params, grads, decayMask, m, v, coef }, { lr: 1e-5, step: 1, ...ADAMW_DEFAULTS });
 * await enc.submit();
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

/** Added to the norm before dividing, as torch and Megatron do, so a zero gradient gives c = 1, not NaN. */
export const CLIP_EPS = 1e-6;

/** AdamW's hyper-parameters for one step. */
export interface AdamWHyper {
  /** Learning rate of this step (from a schedule, nn/schedule.ts). */
  lr: number;
  /** 1-based count of updates including this one, for bias correction. */
  step: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay, applied where the decay mask is 1. */
  weightDecay: number;
}

/** ReaLHF's optimizer defaults (PAPER.md §5.5): β1 0.9, β2 0.95, eps 1e-5, weight decay 0.05, clip 1.0. */
export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.95, eps: 1e-5, weightDecay: 0.05, maxGradNorm: 1.0 } as const;

/** The flat buffers of one update. All but `coef` have the same size; `coef` is [1]. */
export interface AdamWBuffers {
  params: Tensor; // [N] updated in place
  grads: Tensor; // [N]
  decayMask: Tensor; // [N] 1 where decay applies
  m: Tensor; // [N] first moment, updated in place
  v: Tensor; // [N] second moment, updated in place
  coef: Tensor; // [1] clip coefficient
}

const WG = 256;

const clipKernel = kernel({
  name: "adamw_clip_coef",
  buffers: { sumsq: "read", norm: "rw", coef: "rw" },
  params: { max_norm: "f32", clip: "u32", eps: "f32" },
  code: /* wgsl */ `
@compute @workgroup_size(1)
fn main() {
  let n = sqrt(sumsq[0]);
  norm[0] = n;
  coef[0] = select(1.0, min(1.0, p.max_norm / (n + p.eps)), p.clip == 1u);
}`,
});

// One invocation per element (or per 4 elements, as vec4, when the size allows: on llvmpipe that is about twice as
// fast, and a ParamSet's total is always a multiple of 64). Both variants do the same f32 operations per element, so
// their results are bitwise equal. The bias corrections are f32 params computed on the CPU in f64 (t is known there).
function updateKernel(vec: boolean) {
  const t = vec ? "vec4<f32>" : "f32";
  return kernel({
    name: vec ? "adamw_update_vec4" : "adamw_update",
    buffers: { params: `rw:${t}`, grads: `read:${t}`, mask: `read:${t}`, m: `rw:${t}`, v: `rw:${t}`, coef: "read" },
    params: {
      n: "u32",
      lr: "f32",
      beta1: "f32",
      beta2: "f32",
      one_m_b1: "f32",
      one_m_b2: "f32",
      bc1: "f32",
      bc2: "f32",
      eps: "f32",
      wd: "f32",
    },
    code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat_id(g, nw, ${WG}u);
  if (i >= p.n) { return; }
  let gr = grads[i] * coef[0];
  let mi = p.beta1 * m[i] + p.one_m_b1 * gr;
  let vi = p.beta2 * v[i] + p.one_m_b2 * (gr * gr);
  m[i] = mi;
  v[i] = vi;
  let th = params[i];
  let upd = (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps) + p.wd * mask[i] * th;
  params[i] = th - p.lr * upd;
}`,
  });
}
const UPDATE = { scalar: updateKernel(false), vec4: updateKernel(true) };

/** Validates the hyper-parameters and returns the f32 values the kernel and the CPU reference share. */
export function adamwParams(hp: AdamWHyper): Record<string, number> {
  const { lr, step, beta1, beta2, eps, weightDecay } = hp;
  const bad = (field: string, v: number, want: string) => new RangeError(`AdamW ${field} must be ${want}, got ${v}`);
  if (!(Number.isFinite(lr) && lr >= 0)) throw bad("lr", lr, "a finite number >= 0");
  if (!(Number.isInteger(step) && step >= 1)) throw bad("step", step, "an integer >= 1");
  if (!(beta1 >= 0 && beta1 < 1)) throw bad("beta1", beta1, "in [0, 1)");
  if (!(beta2 >= 0 && beta2 < 1)) throw bad("beta2", beta2, "in [0, 1)");
  if (!(Number.isFinite(eps) && eps > 0)) throw bad("eps", eps, "a finite number > 0");
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) throw bad("weightDecay", weightDecay, "finite and >= 0");
  const f = Math.fround;
  return {
    lr: f(lr),
    beta1: f(beta1),
    beta2: f(beta2),
    one_m_b1: f(1 - beta1),
    one_m_b2: f(1 - beta2),
    bc1: f(1 - beta1 ** step),
    bc2: f(1 - beta2 ** step),
    eps: f(eps),
    wd: f(weightDecay),
  };
}

function checkMaxNorm(maxNorm: number | null): void {
  if (maxNorm !== null && !(Number.isFinite(maxNorm) && maxNorm > 0)) {
    throw new RangeError(`AdamW maxGradNorm must be a finite number > 0 or null (no clipping), got ${maxNorm}`);
  }
}

/**
 * Records the clip coefficient: norm = √sumSq, coef = min(1, maxNorm / (norm + 1e-6)), or 1 when `maxNorm` is null.
 * `sumSq`, `norm` and `coef` are [1] tensors; `norm` keeps the pre-clip global gradient norm for logging.
 */
export function clipCoefficient(
  enc: StepEncoder,
  sumSq: Tensor,
  norm: Tensor,
  coef: Tensor,
  maxNorm: number | null,
): void {
  checkMaxNorm(maxNorm);
  for (const [name, t] of [["sumSq", sumSq], ["norm", norm], ["coef", coef]] as const) {
    if (t.size !== 1 || t.dtype !== "f32") {
      throw new RangeError(`clipCoefficient: ${name} ('${t.label}') must be one f32, got [${t.shape}] ${t.dtype}`);
    }
  }
  const params = { max_norm: maxNorm ?? 0, clip: maxNorm === null ? 0 : 1, eps: CLIP_EPS };
  enc.dispatch(clipKernel, { sumsq: sumSq, norm, coef }, params, [1, 1, 1]);
}

/** Records one AdamW update of every element of the flat buffers (one dispatch). */
export function adamwUpdate(enc: StepEncoder, b: AdamWBuffers, hp: AdamWHyper): void {
  const params = adamwParams(hp);
  const n = b.params.size;
  const seen = new Map<GPUBuffer, string>();
  for (const name of ["params", "grads", "decayMask", "m", "v", "coef"] as const) {
    const t = b[name];
    if (t.dtype !== "f32") throw new TypeError(`adamwUpdate: ${name} ('${t.label}') must be f32, got ${t.dtype}`);
    const want = name === "coef" ? 1 : n;
    if (t.size !== want) {
      throw new RangeError(
        `adamwUpdate: ${name} ('${t.label}' [${t.shape}]) has ${t.size} elements; expected ${want} ` +
          (name === "coef" ? "(a one-element clip coefficient)" : `(the size of params [${b.params.shape}])`),
      );
    }
    const other = seen.get(t.buffer);
    // The read-write operands may not share a buffer with any other operand (WebGPU usage rules).
    if (other && ["params", "m", "v"].some((x) => x === name || x === other)) {
      throw new TypeError(`adamwUpdate: ${name} ('${t.label}') and ${other} share a buffer`);
    }
    seen.set(t.buffer, name);
  }
  if (n === 0) return;
  const { decayMask: mask, ...rest } = b;
  // The vec4 variant needs 16-byte-aligned views of a size divisible by 4 (bound offsets are 256-byte aligned).
  const vec = n % 4 === 0;
  const items = vec ? n / 4 : n;
  enc.dispatch(vec ? UPDATE.vec4 : UPDATE.scalar, { ...rest, mask }, { n: items, ...params }, grid1d(items, WG));
}

/** CPU reference of {@link clipCoefficient} from the gradients themselves (sum of squares in f64). */
export function clipCoefficientCpu(grads: Float32Array, maxNorm: number | null): { norm: number; coef: number } {
  checkMaxNorm(maxNorm);
  let s = 0;
  for (let i = 0; i < grads.length; i++) s += grads[i] * grads[i];
  const norm = Math.fround(Math.sqrt(s));
  const f = Math.fround;
  const coef = maxNorm === null ? 1 : Math.min(1, f(f(maxNorm) / f(norm + f(CLIP_EPS))));
  return { norm, coef };
}

/** CPU state of the update: arrays of one length, `params`, `m` and `v` updated in place. */
export interface AdamWState {
  params: Float32Array;
  grads: Float32Array;
  decayMask: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** CPU reference of {@link adamwUpdate}, rounding every operation to f32 in the kernel's order. */
export function adamwCpu(s: AdamWState, coef: number, hp: AdamWHyper): void {
  const p = adamwParams(hp);
  const f = Math.fround;
  const n = s.params.length;
  for (const k of ["grads", "decayMask", "m", "v"] as const) {
    if (s[k].length !== n) throw new RangeError(`adamwCpu: ${k} has ${s[k].length} elements; params has ${n}`);
  }
  const c = f(coef);
  for (let i = 0; i < n; i++) {
    const g = f(s.grads[i] * c);
    const m = f(f(p.beta1 * s.m[i]) + f(p.one_m_b1 * g));
    const v = f(f(p.beta2 * s.v[i]) + f(p.one_m_b2 * f(g * g)));
    s.m[i] = m;
    s.v[i] = v;
    const th = s.params[i];
    const upd = f(f(f(m / p.bc1) / f(f(Math.sqrt(f(v / p.bc2))) + p.eps)) + f(f(p.wd * s.decayMask[i]) * th));
    s.params[i] = f(th - f(p.lr * upd));
  }
}
