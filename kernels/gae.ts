/**
 * Generalised advantage estimation (GAE; Schulman et al. 2016) over right-padded response tokens, as ReaLHF's
 * `pygae1d_nolp_misalign` / `cugae1d_nolp_misalign_func` compute it (PAPER.md §8.4):
 *
 *   δ_t = r_t + γ V(s_{t+1}) − V(s_t),   A_t = Σ_l (γλ)^l δ_{t+l},   R_t = A_t + V(s_t)
 *
 * over the response tokens of each sequence (mask = 1). After the last response token L_b the next value is 0 when
 * the response ended with EOS (terminated[b] = 1) and the critic's bootstrap[b] = V(s_{L_b+1}) when it was
 * truncated at the length limit. With the paper's γ = λ = 1 (§5.5) this is A_t = Σ_{k≥t} r_k (+ bootstrap) − V(s_t),
 * a Monte-Carlo return minus a baseline.
 *
 * One invocation per sequence scans backward: A_t = δ_t + γλ A_{t+1}. Prompt and padding positions (mask = 0) get
 * A = R = 0 and are skipped by the recursion, so a hole inside a response would join the tokens on either side as
 * consecutive states (what ReaLHF's packing of response tokens does); the shared convention is a contiguous run.
 * Value normalisation (PAPER.md §8.6) is the caller's: pass de-normalised values.
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { LossKernel, requireAll, requireRange, tokenShape } from "./loss_common.ts";
import type { Tensor } from "./tensor.ts";

/** GPU inputs of {@link gae}. */
export interface GaeInputs {
  /** Per-token rewards, e.g. from {@link klReward}. [B, T] */
  rewards: Tensor;
  /** Critic values V(s_t). [B, T] */
  values: Tensor;
  /** 1 at response tokens, 0 at prompt and padding. [B, T] */
  mask: Tensor;
  /** 1 if the response ended with EOS, else 0. [B] */
  terminated: Tensor;
  /** V of the state after the last response token, used only when terminated[b] = 0. [B] */
  bootstrap: Tensor;
}

/** GPU outputs of {@link gae} (written; 0 where mask = 0). */
export interface GaeOutputs {
  /** A_t. [B, T] */
  advantages: Tensor;
  /** R_t = A_t + V(s_t), the critic's regression target. [B, T] */
  returns: Tensor;
}

/** Options of {@link gae}. */
export interface GaeOptions {
  /** Discount γ in [0, 1]; default 1 (paper §5.5, ReaLHF `discount`). */
  gamma?: number;
  /** GAE λ in [0, 1]; default 1 (paper §5.5, ReaLHF `gae_lambda` as the experiment sets it). */
  lambda?: number;
}

const gaeKernel = new LossKernel({
  name: "gae",
  buffers: {
    rewards: "read",
    values: "read",
    mask: "read",
    terminated: "read",
    bootstrap: "read",
    adv: "rw",
    ret: "rw",
  },
  params: { B: "u32", T: "u32", gamma: "f32", gl: "f32" },
  code: /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let b = g.x;
  if (b >= p.B) { return; }
  let row = b * p.T;
  // The value after the last response token: 0 at EOS, the critic's estimate after a truncation (PAPER.md §8.4).
  var next_v = 0.0;
  if (terminated[b] < 0.5) { next_v = bootstrap[b]; }
  var acc = 0.0;
  for (var i = 0u; i < p.T; i++) {
    let t = row + p.T - 1u - i;
    if (mask[t] > 0.5) {
      let v = values[t];
      let delta = rewards[t] + p.gamma * next_v - v;
      acc = delta + p.gl * acc;
      adv[t] = acc;
      ret[t] = acc + v;
      next_v = v;
    } else {
      adv[t] = 0.0;
      ret[t] = 0.0;
    }
  }
}`,
});

/**
 * Records GAE advantages and returns for a rollout batch into `enc`.
 *
 * @example
 * ```ts
 * // rewards, values, mask: [B, T]; terminated, bootstrap: [B]
 * gae(enc, { rewards, values, mask, terminated, bootstrap }, { advantages, returns }, { gamma: 1, lambda: 1 });
 * whiten(enc, advantages, mask, stats); // PAPER.md §8.5, in place
 * ```
 */
export function gae(enc: StepEncoder, inputs: GaeInputs, outputs: GaeOutputs, options: GaeOptions = {}): void {
  const op = "GAE";
  const gamma = options.gamma ?? 1, lambda = options.lambda ?? 1;
  requireRange(op, "gamma", gamma, 0, 1);
  requireRange(op, "lambda", lambda, 0, 1);
  const [B, T] = tokenShape(op, "rewards", inputs.rewards);
  const like = " like rewards";
  requireAll(op, [B, T], like, { values: inputs.values, mask: inputs.mask, ...outputs });
  requireAll(op, [B], " (one per sequence of rewards)", {
    terminated: inputs.terminated,
    bootstrap: inputs.bootstrap,
  });
  const { rewards, values, mask, terminated, bootstrap } = inputs;
  gaeKernel.dispatch(enc, {
    rewards,
    values,
    mask,
    terminated,
    bootstrap,
    adv: outputs.advantages,
    ret: outputs.returns,
  }, {
    B,
    T,
    gamma,
    gl: gamma * lambda,
  }, [Math.ceil(B / 64), 1, 1]);
}

/** CPU inputs of {@link gaeCpu}: the same tensors as flat arrays, row-major [B, T] and [B]. */
export interface GaeCpuInputs {
  rewards: ArrayLike<number>;
  values: ArrayLike<number>;
  mask: ArrayLike<number>;
  terminated: ArrayLike<number>;
  bootstrap: ArrayLike<number>;
}

/** CPU reference of {@link gae} in float64: the backward recursion written as ReaLHF's Python reference does. */
export function gaeCpu(
  x: GaeCpuInputs,
  B: number,
  T: number,
  options: GaeOptions = {},
): { advantages: Float64Array; returns: Float64Array } {
  const gamma = options.gamma ?? 1, lambda = options.lambda ?? 1;
  const advantages = new Float64Array(B * T), returns = new Float64Array(B * T);
  for (let b = 0; b < B; b++) {
    let nextV = x.terminated[b] > 0.5 ? 0 : x.bootstrap[b];
    let acc = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = b * T + t;
      if (!(x.mask[i] > 0.5)) continue;
      const delta = x.rewards[i] + gamma * nextV - x.values[i];
      acc = delta + gamma * lambda * acc;
      advantages[i] = acc;
      returns[i] = acc + x.values[i];
      nextV = x.values[i];
    }
  }
  return { advantages, returns };
}
