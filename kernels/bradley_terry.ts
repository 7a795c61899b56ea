/**
 * Bradley-Terry reward-model loss (Eqs. 3-4), as ReaLHF's `rw_interface._paired_rw_loss_from_model_outputs`
 * (PAPER.md §8.1): with s_w, s_l the scalar-head scores of the chosen and rejected response of pair i (taken at each
 * sequence's last token) and an optional weight w_i >= 0,
 *
 *   L = Σ_i w_i · (−log σ(s_w − s_l)) / Σ_i w_i,   −log σ(x) = softplus(−x) (stable for any |x|)
 *
 * ReaLHF weights each pair by 1/(number of pairs sampled for its prompt) so every prompt counts once; pass those
 * weights, or none for a plain mean over pairs. Normalising by Σ w (our choice; ReaLHF leaves the sum to its
 * engine's loss scaling) makes the loss a per-prompt mean that does not grow with the batch.
 * Gradients: ∂L/∂s_w = −w_i σ(s_l − s_w)/Σw, ∂L/∂s_l = +w_i σ(s_l − s_w)/Σw.
 *
 * Stats (unweighted, over pairs): loss (weighted, as applied), accuracy (fraction with s_w > s_l), margin (mean of
 * s_w − s_l), chosen_mean, rejected_mean. Weights must be non-negative; a GPU tensor is not checked (no readback),
 * and a zero total weight gives loss and gradients 0.
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import {
  logSigmoid,
  LossKernel,
  MATH_WGSL,
  pairCount,
  REDUCE_WGSL,
  requireAll,
  requireLossOutputs,
  sigmoid,
} from "./loss_common.ts";
import type { Tensor } from "./tensor.ts";

/** Layout of the stats tensor of {@link bradleyTerryLoss}. */
export const BRADLEY_TERRY_STATS = ["loss", "accuracy", "margin", "chosen_mean", "rejected_mean"] as const;

/** GPU inputs of {@link bradleyTerryLoss}. */
export interface BradleyTerryInputs {
  /** Scores of the preferred responses. [P] */
  chosen: Tensor;
  /** Scores of the dispreferred responses. [P] */
  rejected: Tensor;
  /** Optional per-pair weights, e.g. 1/(pairs of the pair's prompt). [P] */
  weights?: Tensor;
}

/** GPU outputs of {@link bradleyTerryLoss}. */
export interface BradleyTerryOutputs {
  /** [1] */
  loss: Tensor;
  /** ∂loss/∂chosen (written). [P] */
  dChosen: Tensor;
  /** ∂loss/∂rejected (written). [P] */
  dRejected: Tensor;
  /** {@link BRADLEY_TERRY_STATS}. [5] */
  stats: Tensor;
}

const btKernel = new LossKernel({
  name: "bradley_terry_loss",
  buffers: { sw: "read", sl: "read", w: "read", loss: "rw", dc: "rw", dr: "rw", stats: "rw" },
  params: { P: "u32", weighted: "u32" },
  code: REDUCE_WGSL + MATH_WGSL + /* wgsl */ `
fn weight(i: u32) -> f32 {
  if (p.weighted == 1u) { return w[i]; }
  return 1.0;
}
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var ws = 0.0; var l = 0.0; var acc = 0.0; var m = 0.0; var c = 0.0; var r = 0.0;
  for (var i = lid; i < p.P; i += WG) {
    let x = sw[i] - sl[i];
    let wi = weight(i);
    ws += wi;
    l += wi * softplus(-x);
    acc += select(0.0, 1.0, x > 0.0);
    m += x; c += sw[i]; r += sl[i];
  }
  let w_t = wg_sum(ws, lid);
  let inv_w = select(0.0, 1.0 / w_t, w_t > 0.0);
  let l_t = wg_sum(l, lid) * inv_w;
  for (var i = lid; i < p.P; i += WG) {
    let g = -weight(i) * sigmoid(sl[i] - sw[i]) * inv_w;
    dc[i] = g;
    dr[i] = -g;
  }
  let inv_p = 1.0 / f32(p.P);
  let acc_t = wg_sum(acc, lid) * inv_p;
  let m_t = wg_sum(m, lid) * inv_p;
  let c_t = wg_sum(c, lid) * inv_p;
  let r_t = wg_sum(r, lid) * inv_p;
  if (lid == 0u) {
    loss[0] = l_t;
    stats[0] = l_t;
    stats[1] = acc_t;
    stats[2] = m_t;
    stats[3] = c_t;
    stats[4] = r_t;
  }
}`,
});

/**
 * Records the Bradley-Terry loss over P pairs, its gradients w.r.t. both scores, and its stats into `enc`.
 *
 * @example
 * ```ts
 * // scores [P] from the reward model's scalar head at each sequence's last token
 * bradleyTerryLoss(enc, { chosen, rejected, weights }, { loss, dChosen, dRejected, stats });
 * ```
 */
export function bradleyTerryLoss(enc: StepEncoder, inputs: BradleyTerryInputs, outputs: BradleyTerryOutputs): void {
  const op = "Bradley-Terry loss";
  const P = pairCount(op, "chosen", inputs.chosen);
  const { chosen, rejected, weights } = inputs;
  requireAll(op, [P], " like chosen", {
    rejected,
    ...(weights ? { weights } : {}),
    dChosen: outputs.dChosen,
    dRejected: outputs.dRejected,
  });
  requireLossOutputs(op, outputs, BRADLEY_TERRY_STATS);
  btKernel.dispatch(
    enc,
    {
      sw: chosen,
      sl: rejected,
      w: weights ?? enc.gpu.dummy(),
      loss: outputs.loss,
      dc: outputs.dChosen,
      dr: outputs.dRejected,
      stats: outputs.stats,
    },
    { P, weighted: weights ? 1 : 0 },
    1,
  );
}

/** CPU reference of {@link bradleyTerryLoss} in float64 (`weights` optional). */
export function bradleyTerryLossCpu(
  chosen: ArrayLike<number>,
  rejected: ArrayLike<number>,
  weights?: ArrayLike<number>,
): { loss: number; dChosen: Float64Array; dRejected: Float64Array; stats: number[] } {
  const P = chosen.length;
  const w = (i: number) => (weights ? weights[i] : 1);
  let ws = 0, l = 0, acc = 0, m = 0, c = 0, r = 0;
  for (let i = 0; i < P; i++) {
    const x = chosen[i] - rejected[i];
    ws += w(i);
    l -= w(i) * logSigmoid(x);
    acc += x > 0 ? 1 : 0;
    [m, c, r] = [m + x, c + chosen[i], r + rejected[i]];
  }
  const invW = ws > 0 ? 1 / ws : 0;
  const dChosen = new Float64Array(P), dRejected = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    dChosen[i] = -w(i) * sigmoid(rejected[i] - chosen[i]) * invW;
    dRejected[i] = -dChosen[i];
  }
  return { loss: l * invW, dChosen, dRejected, stats: [l * invW, acc / P, m / P, c / P, r / P] };
}
