/**
 * The AdamW optimizer of a {@link ParamSet}: global-norm gradient clipping and the AdamW update of every parameter,
 * recorded into the caller's step encoder with no readback.
 *
 * One `step` records three things: the deterministic sum of squares of the flat gradient buffer
 * (kernels/reduce.ts), the clip coefficient min(1, maxGradNorm / (‖g‖ + 1e-6)) computed on the GPU into a
 * one-element buffer, and one dispatch that updates all parameters and both moments (kernels/adamw.ts). The step
 * count t (bias correction) and the learning rate are known on the CPU and go in as uniforms. The pre-clip norm stays
 * on the GPU in {@link AdamW.gradNorm}; a training loop reads it only at logging steps.
 *
 * Defaults are ReaLHF's (PAPER.md §5.5): β1 0.9, β2 0.95, eps 1e-5, weight decay 0.05 (where the ParamSet's decay
 * mask is 1), gradient clipping at norm 1.0.
 *
 * @example
 * ```ts
 * const opt = new AdamW(model.params, { weightDecay: 0.05 });
 * const lr = cosineSchedule({ lr: 1e-5, totalSteps, warmupSteps: warmupStepsFor(totalSteps, 0.02), minLrRatio: 0 });
 * const enc = gpu.encoder("train step");
 * opt.zeroGrad(enc);
 * // ... forward and backward write model.params.grads ...
 * opt.step(enc, { lr: lr(opt.t + 1) });
 * const norm = logging ? enc.read(opt.gradNorm) : undefined;
 * await enc.submit();
 * ```
 * @module
 */
import { ADAMW_DEFAULTS, adamwParams, adamwUpdate, clipCoefficient } from "../kernels/adamw.ts";
import type { StepEncoder } from "../kernels/encoder.ts";
import { sumSquares } from "../kernels/reduce.ts";
import type { Tensor } from "../kernels/tensor.ts";
import type { OptimizerState } from "./checkpoint.ts";
import type { ParamSet } from "./params.ts";

/** AdamW's settings; every field has a ReaLHF default. */
export interface AdamWConfig {
  /** First-moment decay (ReaLHF 0.9). */
  beta1: number;
  /** Second-moment decay (ReaLHF 0.95). */
  beta2: number;
  /** Added to √v̂ (ReaLHF 1e-5). */
  eps: number;
  /** Decoupled weight decay where the decay mask is 1 (ReaLHF 0.05). */
  weightDecay: number;
  /** Clip the global gradient norm to this (ReaLHF 1.0); null turns clipping off. */
  maxGradNorm: number | null;
}

/** ReaLHF's optimizer settings (PAPER.md §5.5). */
export const ADAMW_CONFIG_DEFAULTS: Readonly<AdamWConfig> = { ...ADAMW_DEFAULTS };

/** AdamW over one ParamSet's flat buffers. */
export class AdamW implements OptimizerState {
  readonly config: Readonly<AdamWConfig>;
  /** First moments, [total], the ParamSet's layout. */
  readonly m: Tensor<"f32">;
  /** Second moments, [total]. */
  readonly v: Tensor<"f32">;
  /** Pre-clip global gradient norm of the last recorded step, [1]. Read it only when logging. */
  readonly gradNorm: Tensor<"f32">;
  /** Clip coefficient of the last recorded step, [1] (1 when the norm is within bounds). */
  readonly clipCoef: Tensor<"f32">;
  /** Updates recorded so far; the next step uses t + 1 for bias correction. */
  t = 0;
  readonly #sumSq: Tensor<"f32">;

  constructor(readonly params: ParamSet, config: Partial<AdamWConfig> = {}) {
    for (const k of Object.keys(config)) {
      if (!(k in ADAMW_CONFIG_DEFAULTS)) {
        throw new TypeError(`Unknown AdamW setting '${k}'; known: ${Object.keys(ADAMW_CONFIG_DEFAULTS).join(", ")}`);
      }
    }
    const c = { ...ADAMW_CONFIG_DEFAULTS, ...config };
    const bad = (k: string, want: string) =>
      new RangeError(`AdamW ${k} must be ${want}, got ${(c as Record<string, unknown>)[k]}`);
    if (!(c.beta1 >= 0 && c.beta1 < 1)) throw bad("beta1", "in [0, 1)");
    if (!(c.beta2 >= 0 && c.beta2 < 1)) throw bad("beta2", "in [0, 1)");
    if (!(Number.isFinite(c.eps) && c.eps > 0)) throw bad("eps", "a finite number > 0");
    if (!(Number.isFinite(c.weightDecay) && c.weightDecay >= 0)) throw bad("weightDecay", "finite and >= 0");
    if (c.maxGradNorm !== null && !(Number.isFinite(c.maxGradNorm) && c.maxGradNorm > 0)) {
      throw bad("maxGradNorm", "a finite number > 0, or null for no clipping");
    }
    this.config = Object.freeze(c);
    const gpu = params.gpu;
    this.m = gpu.tensor([params.total], "f32", "adamw.m");
    this.v = gpu.tensor([params.total], "f32", "adamw.v");
    this.gradNorm = gpu.tensor([1], "f32", "adamw.grad_norm");
    this.clipCoef = gpu.tensor([1], "f32", "adamw.clip_coef");
    this.#sumSq = gpu.tensor([1], "f32", "adamw.sum_sq");
  }

  /** Records zeroing of the gradient buffer (for backward passes that accumulate). */
  zeroGrad(enc: StepEncoder): void {
    enc.zero(this.params.grads);
  }

  /**
   * Records one update with learning rate `lr` into `enc`: ‖g‖² → norm and clip coefficient → AdamW on every
   * parameter. Increments {@link t} at once, so record each step exactly once and submit it.
   */
  step(enc: StepEncoder, { lr }: { lr: number }): void {
    const { beta1, beta2, eps, weightDecay, maxGradNorm } = this.config;
    const hp = { lr, step: this.t + 1, beta1, beta2, eps, weightDecay };
    adamwParams(hp); // validate lr before anything is recorded, so a bad lr leaves the encoder untouched
    const ps = this.params;
    sumSquares(enc, ps.grads, this.#sumSq);
    clipCoefficient(enc, this.#sumSq, this.gradNorm, this.clipCoef, maxGradNorm);
    adamwUpdate(enc, {
      params: ps.params,
      grads: ps.grads,
      decayMask: ps.decayMask,
      m: this.m,
      v: this.v,
      coef: this.clipCoef,
    }, hp);
    this.t++;
  }

  /** Records zeroing of both moments and sets t to 0 (a fresh optimizer on the same parameters). */
  reset(enc: StepEncoder): void {
    enc.zero(this.m);
    enc.zero(this.v);
    this.t = 0;
  }
}
