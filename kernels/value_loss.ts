/**
 * PPO clipped value loss, ReaLHF's `ppo_functional.critic_loss_fn` with its MSE default (PAPER.md §8.8):
 *
 *   V_clip = V_old + clip(V − V_old, −ε_v, ε_v),   L_V = (1/N) Σ_{mask} max(½(V − R)², ½(V_clip − R)²),   ε_v = 0.2
 *
 * over the N response tokens of the mini-batch; V = the critic's current values, V_old = its values at rollout
 * time, R = GAE returns (normalised returns when value normalisation is on, PAPER.md §8.6: the caller's). The critic
 * is a separate network, so there is no value-loss coefficient. ReaLHF's optional Huber loss is not implemented.
 *
 * Gradient w.r.t. V: (V − R)/N where the unclipped term is the max, 0 where the clipped term is strictly larger. The
 * latter happens only outside the clip range, where V_clip is constant in V: inside it V_clip is taken to be V itself
 * (so f32 rounding of V_old + (V − V_old) can never count a token as clipped) and the two terms are equal.
 *
 * Stats: loss, clip_frac (tokens whose clipped term is strictly larger), explained_variance = 1 − Var(R − V)/Var(R)
 * over the masked tokens with the current V (0 when Var(R) = 0, to keep logs free of NaN), value_mean, return_mean,
 * tokens. Variances are two-pass in one workgroup (fixed order, bitwise reproducible).
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { LossKernel, REDUCE_WGSL, requireAll, requireLossOutputs, requireRange, tokenShape } from "./loss_common.ts";
import type { Tensor } from "./tensor.ts";

/** Layout of the stats tensor of {@link ppoValueLoss}. */
export const PPO_VALUE_STATS = [
  "loss",
  "clip_frac",
  "explained_variance",
  "value_mean",
  "return_mean",
  "tokens",
] as const;

/** GPU inputs of {@link ppoValueLoss}. */
export interface PpoValueInputs {
  /** The critic's current values (the differentiated input). [B, T] */
  values: Tensor;
  /** The critic's values at rollout time. [B, T] */
  valuesOld: Tensor;
  /** Regression targets R_t (GAE returns). [B, T] */
  returns: Tensor;
  /** 1 at response tokens. [B, T] */
  mask: Tensor;
}

/** GPU outputs of {@link ppoValueLoss}. */
export interface PpoValueOutputs {
  /** [1] */
  loss: Tensor;
  /** ∂loss/∂values, 0 off the mask (written, not accumulated). [B, T] */
  dvalues: Tensor;
  /** {@link PPO_VALUE_STATS}. [6] */
  stats: Tensor;
}

/** Options of {@link ppoValueLoss}. */
export interface PpoValueOptions {
  /** Value clip ε_v > 0; default 0.2 (ReaLHF `value_eps_clip`; the paper names the technique, not the value). */
  valueClipEps?: number;
}

const valueKernel = new LossKernel({
  name: "ppo_value_loss",
  buffers: { v: "read", v_old: "read", ret: "read", mask: "read", loss: "rw", dv: "rw", stats: "rw" },
  params: { n: "u32", eps: "f32" },
  code: REDUCE_WGSL + /* wgsl */ `
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var cnt = 0.0; var rs = 0.0; var es = 0.0; var vs = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    if (mask[i] > 0.5) { cnt += 1.0; rs += ret[i]; es += ret[i] - v[i]; vs += v[i]; }
  }
  let n_tok = wg_sum(cnt, lid);
  let inv_n = select(0.0, 1.0 / n_tok, n_tok > 0.0);
  let r_mean = wg_sum(rs, lid) * inv_n;
  let e_mean = wg_sum(es, lid) * inv_n;
  let v_mean = wg_sum(vs, lid) * inv_n;
  var l = 0.0; var clipped = 0.0; var var_r = 0.0; var var_e = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    var g = 0.0;
    if (mask[i] > 0.5) {
      let vi = v[i]; let r = ret[i]; let step = vi - v_old[i];
      let inside = abs(step) <= p.eps;
      let vc = select(v_old[i] + clamp(step, -p.eps, p.eps), vi, inside);
      let l1 = 0.5 * (vi - r) * (vi - r);
      let l2 = 0.5 * (vc - r) * (vc - r);
      l += max(l1, l2);
      let use_clip = l2 > l1;
      clipped += select(0.0, 1.0, use_clip);
      g = select(vi - r, 0.0, use_clip) * inv_n;
      let dr = r - r_mean; let de = r - vi - e_mean;
      var_r += dr * dr; var_e += de * de;
    }
    dv[i] = g;
  }
  let l_t = wg_sum(l, lid) * inv_n;
  let clip_t = wg_sum(clipped, lid) * inv_n;
  let vr = wg_sum(var_r, lid);
  let ve = wg_sum(var_e, lid);
  if (lid == 0u) {
    loss[0] = l_t;
    stats[0] = l_t;
    stats[1] = clip_t;
    stats[2] = select(0.0, 1.0 - ve / vr, vr > 0.0);
    stats[3] = v_mean;
    stats[4] = r_mean;
    stats[5] = n_tok;
  }
}`,
});

/**
 * Records the clipped value loss, its gradient w.r.t. the critic's values, and its stats into `enc`.
 *
 * @example
 * ```ts
 * ppoValueLoss(enc, { values, valuesOld, returns, mask }, { loss, dvalues, stats }, { valueClipEps: 0.2 });
 * ```
 */
export function ppoValueLoss(
  enc: StepEncoder,
  inputs: PpoValueInputs,
  outputs: PpoValueOutputs,
  options: PpoValueOptions = {},
): void {
  const op = "PPO value loss";
  const eps = options.valueClipEps ?? 0.2;
  requireRange(op, "valueClipEps", eps, 0, Infinity, { lo: true });
  const [B, T] = tokenShape(op, "values", inputs.values);
  const { values, valuesOld, returns, mask } = inputs;
  requireAll(op, [B, T], " like values", { valuesOld, returns, mask, dvalues: outputs.dvalues });
  requireLossOutputs(op, outputs, PPO_VALUE_STATS);
  valueKernel.dispatch(
    enc,
    {
      v: values,
      v_old: valuesOld,
      ret: returns,
      mask,
      loss: outputs.loss,
      dv: outputs.dvalues,
      stats: outputs.stats,
    },
    { n: B * T, eps },
    1,
  );
}

/** CPU inputs of {@link ppoValueLossCpu}: flat [B, T] arrays. */
export interface PpoValueCpuInputs {
  values: ArrayLike<number>;
  valuesOld: ArrayLike<number>;
  returns: ArrayLike<number>;
  mask: ArrayLike<number>;
}

/** CPU reference of {@link ppoValueLoss} in float64: loss, gradient, and stats in {@link PPO_VALUE_STATS} order. */
export function ppoValueLossCpu(
  x: PpoValueCpuInputs,
  options: PpoValueOptions = {},
): { loss: number; dvalues: Float64Array; stats: number[] } {
  const eps = options.valueClipEps ?? 0.2;
  const n = x.values.length;
  const idx = [...Array(n).keys()].filter((i) => x.mask[i] > 0.5);
  const N = idx.length, inv = N > 0 ? 1 / N : 0;
  const mean = (f: (i: number) => number) => idx.reduce((s, i) => s + f(i), 0) * inv;
  const rMean = mean((i) => x.returns[i]), eMean = mean((i) => x.returns[i] - x.values[i]);
  const g = new Float64Array(n);
  let loss = 0, clipped = 0, varR = 0, varE = 0;
  for (const i of idx) {
    const v = x.values[i], r = x.returns[i], step = v - x.valuesOld[i];
    const inside = Math.abs(step) <= eps;
    const vc = inside ? v : x.valuesOld[i] + Math.min(eps, Math.max(-eps, step));
    const l1 = 0.5 * (v - r) ** 2, l2 = 0.5 * (vc - r) ** 2;
    loss += Math.max(l1, l2);
    clipped += l2 > l1 ? 1 : 0;
    g[i] = (l2 > l1 ? 0 : v - r) * inv;
    varR += (r - rMean) ** 2;
    varE += (r - v - eMean) ** 2;
  }
  const ev = varR > 0 ? 1 - varE / varR : 0;
  return { loss: loss * inv, dvalues: g, stats: [loss * inv, clipped * inv, ev, mean((i) => x.values[i]), rMean, N] };
}
