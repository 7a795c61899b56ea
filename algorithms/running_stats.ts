/**
 * Value normalisation for PPO's critic (paper §5.2 "value normalization"; PAPER.md §8.6): ReaLHF's
 * `modules/rms.py::ExponentialRunningMeanStd`, kept on the GPU so that a whole PPO training submit (critic
 * inference, GAE, the running-stats update, the critic's mini-batches) needs no readback.
 *
 * State (three f32 values): m ← β·m + (1 − β)·mean(x), s ← β·s + (1 − β)·mean(x²), d ← β·d + (1 − β), the batch
 * means taken over the masked (response) tokens. From it: μ = m / max(d, ε), σ² = max(s / max(d, ε) − μ², 1e-2),
 * so d debiases the early estimates as Adam's bias correction does, and the variance floor keeps σ ≥ 0.1.
 * normalize(x) = clip((x − μ)/σ, −5, 5); denormalize(x) = x·σ + μ. ReaLHF's PPO uses β = 0.99995 and ε = 1e-5.
 *
 * How PPO uses it (ReaLHF `PPOActorInterface`/`PPOCriticInterface.train_step`): the critic predicts values in the
 * normalised space; they are de-normalised with the statistics so far before GAE, the statistics are then updated
 * with the batch's returns, and the critic regresses on the returns normalised with the updated statistics.
 *
 * Deviations: ReaLHF accumulates in float64; we are f32 everywhere (DESIGN.md), which shifts μ and σ by about 1e-6
 * relative. An update over a batch with no masked token is a no-op (ReaLHF would divide by zero).
 *
 * @example
 * ```ts
 * const rms = new ExponentialRunningMeanStd(gpu);        // β 0.99995, ε 1e-5
 * rms.denormalize(enc, critic.values, values);          // [B, T], before GAE
 * gae(enc, { rewards, values, mask, terminated, bootstrap }, { advantages, returns });
 * rms.update(enc, returns, mask);
 * rms.normalize(enc, returns, mask, normReturns);       // the critic's regression target
 * ```
 * @module
 */
import type { StepEncoder } from "../kernels/encoder.ts";
import type { Gpu } from "../kernels/gpu.ts";
import { LossKernel, REDUCE_WGSL, requireF32, requireRange } from "../kernels/loss_common.ts";
import type { Tensor } from "../kernels/tensor.ts";

/** Settings of the running statistics; defaults are ReaLHF's PPO values. */
export interface RunningStatsOptions {
  /** Decay β in [0, 1); default 0.99995 (ReaLHF `value_norm_beta`). */
  beta?: number;
  /** Floor of the debiasing term; default 1e-5 (ReaLHF `value_norm_eps`). */
  eps?: number;
  /** Floor of the variance; default 1e-2 (ReaLHF, hard-coded). */
  varFloor?: number;
  /** normalize clips to [−clip, clip]; default 5 (ReaLHF, hard-coded). */
  clip?: number;
}

type Resolved = Required<RunningStatsOptions>;

function resolve(o: RunningStatsOptions): Resolved {
  const r = { beta: o.beta ?? 0.99995, eps: o.eps ?? 1e-5, varFloor: o.varFloor ?? 1e-2, clip: o.clip ?? 5 };
  const op = "Running mean/std";
  requireRange(op, "beta", r.beta, 0, 1, { hi: true });
  requireRange(op, "eps", r.eps, 0, Infinity, { lo: true, hi: true });
  requireRange(op, "varFloor", r.varFloor, 0, Infinity, { lo: true, hi: true });
  requireRange(op, "clip", r.clip, 0, Infinity, { lo: true });
  return r;
}

// μ and σ from the state, shared by every kernel.
const MEAN_STD_WGSL = /* wgsl */ `
fn mean_std() -> vec2f {
  let d = max(state[2], p.eps);
  let mu = state[0] / d;
  return vec2f(mu, sqrt(max(state[1] / d - mu * mu, p.var_floor)));
}`;

const updateKernel = new LossKernel({
  name: "running_stats_update",
  buffers: { x: "read", mask: "read", state: "rw" },
  params: { n: "u32", beta: "f32" },
  code: REDUCE_WGSL + /* wgsl */ `
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0; var q = 0.0; var c = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    if (mask[i] > 0.5) { let v = x[i]; s += v; q += v * v; c += 1.0; }
  }
  let count = wg_sum(c, lid);
  let sum = wg_sum(s, lid);
  let sum_sq = wg_sum(q, lid);
  if (lid == 0u && count > 0.0) {
    let keep = 1.0 - p.beta;
    state[0] = p.beta * state[0] + keep * (sum / count);
    state[1] = p.beta * state[1] + keep * (sum_sq / count);
    state[2] = p.beta * state[2] + keep;
  }
}`,
});

const normalizeKernel = new LossKernel({
  name: "running_stats_normalize",
  buffers: { x: "read", mask: "read", state: "read", out: "rw" },
  params: { n: "u32", eps: "f32", var_floor: "f32", clip: "f32" },
  code: MEAN_STD_WGSL + /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let i = g.x;
  if (i >= p.n) { return; }
  let ms = mean_std();
  out[i] = select(0.0, clamp((x[i] - ms.x) / ms.y, -p.clip, p.clip), mask[i] > 0.5);
}`,
});

const denormalizeKernel = new LossKernel({
  name: "running_stats_denormalize",
  buffers: { x: "read", state: "read", out: "rw" },
  params: { n: "u32", eps: "f32", var_floor: "f32" },
  code: MEAN_STD_WGSL + /* wgsl */ `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let i = g.x;
  if (i >= p.n) { return; }
  let ms = mean_std();
  out[i] = x[i] * ms.y + ms.x;
}`,
});

function checkPair(op: string, a: [string, Tensor], b: [string, Tensor]): void {
  requireF32(op, a[0], a[1]);
  requireF32(op, b[0], b[1]);
  if (a[1].size !== b[1].size) {
    throw new RangeError(
      `${op}: ${b[0]} ('${b[1].label}' [${b[1].shape}]) must have as many elements as ${a[0]} ` +
        `('${a[1].label}' [${a[1].shape}])`,
    );
  }
}

/** ReaLHF's ExponentialRunningMeanStd over one scalar stream, its state in a GPU buffer. */
export class ExponentialRunningMeanStd {
  readonly options: Readonly<Resolved>;
  /** (m, s, d): the decayed mean, mean of squares and debiasing term. [3] */
  readonly state: Tensor<"f32">;

  constructor(gpu: Gpu, options: RunningStatsOptions = {}, label = "value_norm") {
    this.options = Object.freeze(resolve(options));
    this.state = gpu.zeros([3], "f32", `${label}.state`);
  }

  /** Records the update of the statistics with the masked elements of `x` (any shape; `mask` the same size). */
  update(enc: StepEncoder, x: Tensor, mask: Tensor): void {
    checkPair("Running mean/std update", ["x", x], ["mask", mask]);
    updateKernel.dispatch(enc, { x, mask, state: this.state }, { n: x.size, beta: this.options.beta }, 1);
  }

  /** Records out = clip((x − μ)/σ, ±clip) where mask is 1, and 0 elsewhere. `out` must not overlap `x`. */
  normalize(enc: StepEncoder, x: Tensor, mask: Tensor, out: Tensor): void {
    const op = "Running mean/std normalize";
    checkPair(op, ["x", x], ["mask", mask]);
    checkPair(op, ["x", x], ["out", out]);
    const { eps, varFloor, clip } = this.options;
    normalizeKernel.dispatch(enc, { x, mask, state: this.state, out }, {
      n: x.size,
      eps,
      var_floor: varFloor,
      clip,
    }, Math.ceil(x.size / 256));
  }

  /** Records out = x·σ + μ at every element. `out` must not overlap `x`. */
  denormalize(enc: StepEncoder, x: Tensor, out: Tensor): void {
    checkPair("Running mean/std denormalize", ["x", x], ["out", out]);
    const { eps, varFloor } = this.options;
    denormalizeKernel.dispatch(
      enc,
      { x, state: this.state, out },
      { n: x.size, eps, var_floor: varFloor },
      Math.ceil(x.size / 256),
    );
  }

  /** Reads μ and σ back (for logging; never inside a step). */
  async meanStd(): Promise<{ mean: number; std: number }> {
    const s = await this.state.read();
    return meanStdOf([s[0], s[1], s[2]], this.options);
  }
}

function meanStdOf(state: readonly number[], o: Resolved): { mean: number; std: number } {
  const d = Math.max(state[2], o.eps);
  const mean = state[0] / d;
  return { mean, std: Math.sqrt(Math.max(state[1] / d - mean * mean, o.varFloor)) };
}

/** CPU reference of {@link ExponentialRunningMeanStd} in float64 (ReaLHF's `high_precision` mode). */
export class ExponentialRunningMeanStdCpu {
  readonly options: Readonly<Resolved>;
  /** (m, s, d) as in the GPU class. */
  state: [number, number, number] = [0, 0, 0];

  constructor(options: RunningStatsOptions = {}) {
    this.options = Object.freeze(resolve(options));
  }

  update(x: ArrayLike<number>, mask: ArrayLike<number>): void {
    let s = 0, q = 0, c = 0;
    for (let i = 0; i < x.length; i++) if (mask[i] > 0.5) [s, q, c] = [s + x[i], q + x[i] * x[i], c + 1];
    if (c === 0) return;
    const b = this.options.beta, [m, sq, d] = this.state;
    this.state = [b * m + (1 - b) * (s / c), b * sq + (1 - b) * (q / c), b * d + (1 - b)];
  }

  meanStd(): { mean: number; std: number } {
    return meanStdOf(this.state, this.options);
  }

  normalize(x: ArrayLike<number>, mask: ArrayLike<number>): Float64Array {
    const { mean, std } = this.meanStd(), c = this.options.clip;
    return Float64Array.from(x, (v, i) => (mask[i] > 0.5 ? Math.min(c, Math.max(-c, (v - mean) / std)) : 0));
  }

  denormalize(x: ArrayLike<number>): Float64Array {
    const { mean, std } = this.meanStd();
    return Float64Array.from(x, (v) => v * std + mean);
  }
}
