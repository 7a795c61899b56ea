/**
 * Pairwise preference losses on sequence log-probabilities (sum of response-token log-probs, prompt excluded, as
 * ReaLHF's `dpo_functional.dpo_loss` builds them; PAPER.md §8.2). With h the log-ratio difference of pair i,
 *
 *   h = (log π_θ(y_w) − log π_ref(y_w)) − (log π_θ(y_l) − log π_ref(y_l)),
 *
 * - DPO (Eq. 7; Rafailov et al. 2023):    ℓ = −log σ(β h),                                 β = 0.1 (paper §5.6)
 * - conservative DPO (label smoothing ε): ℓ = −(1 − ε) log σ(β h) − ε log σ(−β h)         (Mitchell 2023; ε = 0 is DPO)
 * - IPO (Azar et al. 2023):               ℓ = (h − 1/(2β))²                                (β plays IPO's τ)
 *
 * and L = mean over the P pairs. Gradients w.r.t. the policy's chosen and rejected sequence log-probs:
 * ∂L/∂logπ(y_w) = ℓ'(h)/P, ∂L/∂logπ(y_l) = −ℓ'(h)/P, with ℓ'(h) = −β(1 − ε) σ(−βh) + β ε σ(βh) for (c)DPO and
 * 2(h − 1/(2β)) for IPO. −log σ(z) is computed as softplus(−z) = max(−z, 0) + log1p(e^−|z|), which neither overflows
 * nor loses precision for large |z|. IPO is neither in the paper nor in ReaLHF; Azar et al.'s log-probs are not
 * length-normalised, and neither are ours (pass averages if you want TRL's variant).
 *
 * Stats (ReaLHF logs "pos_score"/"neg_score"): chosen_reward = mean β(log π_θ − log π_ref)(y_w), rejected_reward
 * likewise for y_l, margin = their mean difference (β h), accuracy = fraction of pairs with chosen reward > rejected.
 * The Bradley-Terry reward-model loss (Eq. 4) is in bradley_terry.ts.
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
  requireRange,
  sigmoid,
} from "./loss_common.ts";
import type { Tensor } from "./tensor.ts";

/** Layout of the stats tensor of {@link preferenceLoss}. */
export const PREFERENCE_STATS = ["loss", "chosen_reward", "rejected_reward", "margin", "accuracy"] as const;

/** GPU inputs of {@link preferenceLoss}: sequence log-probs of each pair. All [P]. */
export interface PreferenceInputs {
  policyChosen: Tensor;
  policyRejected: Tensor;
  refChosen: Tensor;
  refRejected: Tensor;
}

/** GPU outputs of {@link preferenceLoss}. */
export interface PreferenceOutputs {
  /** [1] */
  loss: Tensor;
  /** ∂loss/∂policyChosen (written). [P] */
  dChosen: Tensor;
  /** ∂loss/∂policyRejected (written). [P] */
  dRejected: Tensor;
  /** {@link PREFERENCE_STATS}. [5] */
  stats: Tensor;
}

/** Options of {@link preferenceLoss}. */
export interface PreferenceOptions {
  /** "dpo" (Eq. 7, default; with labelSmoothing > 0 conservative DPO) or "ipo". */
  kind?: "dpo" | "ipo";
  /** β > 0; default 0.1 (paper §5.6, ReaLHF `DPOConfig.beta`). */
  beta?: number;
  /** Conservative-DPO label smoothing ε in [0, 0.5); default 0 (plain DPO, as the paper and ReaLHF). */
  labelSmoothing?: number;
}

const KIND = { dpo: 0, ipo: 1 } as const;

const preferenceKernel = new LossKernel({
  name: "preference_loss",
  buffers: { pc: "read", pr: "read", rc: "read", rr: "read", loss: "rw", dc: "rw", dr: "rw", stats: "rw" },
  params: { P: "u32", kind: "u32", beta: "f32", eps: "f32" },
  code: REDUCE_WGSL + MATH_WGSL + /* wgsl */ `
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let inv_p = 1.0 / f32(p.P);
  var l = 0.0; var cw = 0.0; var cl = 0.0; var acc = 0.0;
  for (var i = lid; i < p.P; i += WG) {
    let lw = pc[i] - rc[i];
    let ll = pr[i] - rr[i];
    let h = lw - ll;
    var li = 0.0; var gi = 0.0;
    if (p.kind == 1u) {
      let u = h - 0.5 / p.beta;
      li = u * u;
      gi = 2.0 * u;
    } else {
      let z = p.beta * h;
      li = (1.0 - p.eps) * softplus(-z) + p.eps * softplus(z);
      gi = p.beta * (p.eps * sigmoid(z) - (1.0 - p.eps) * sigmoid(-z));
    }
    dc[i] = gi * inv_p;
    dr[i] = -gi * inv_p;
    l += li;
    cw += p.beta * lw;
    cl += p.beta * ll;
    acc += select(0.0, 1.0, p.beta * lw > p.beta * ll);
  }
  let l_t = wg_sum(l, lid) * inv_p;
  let cw_t = wg_sum(cw, lid) * inv_p;
  let cl_t = wg_sum(cl, lid) * inv_p;
  let acc_t = wg_sum(acc, lid) * inv_p;
  if (lid == 0u) {
    loss[0] = l_t;
    stats[0] = l_t;
    stats[1] = cw_t;
    stats[2] = cl_t;
    stats[3] = cw_t - cl_t;
    stats[4] = acc_t;
  }
}`,
});

/**
 * Records a DPO / conservative-DPO / IPO loss over P pairs, its gradients w.r.t. the policy's chosen and rejected
 * sequence log-probs, and its stats into `enc`.
 *
 * @example
 * ```ts
 * // policy and reference sequence log-probs of P pairs: [P] each (sums over response tokens)
 * preferenceLoss(enc, { policyChosen, policyRejected, refChosen, refRejected }, { loss, dChosen, dRejected, stats });
 * // dChosen/dRejected then scatter onto the response tokens' dlogp before the policy's backward pass
 * ```
 */
export function preferenceLoss(
  enc: StepEncoder,
  inputs: PreferenceInputs,
  outputs: PreferenceOutputs,
  options: PreferenceOptions = {},
): void {
  const op = "Preference loss";
  const o = resolve(op, options);
  const P = pairCount(op, "policyChosen", inputs.policyChosen);
  const { policyChosen, policyRejected, refChosen, refRejected } = inputs;
  requireAll(op, [P], " like policyChosen", {
    policyRejected,
    refChosen,
    refRejected,
    dChosen: outputs.dChosen,
    dRejected: outputs.dRejected,
  });
  requireLossOutputs(op, outputs, PREFERENCE_STATS);
  preferenceKernel.dispatch(
    enc,
    {
      pc: policyChosen,
      pr: policyRejected,
      rc: refChosen,
      rr: refRejected,
      loss: outputs.loss,
      dc: outputs.dChosen,
      dr: outputs.dRejected,
      stats: outputs.stats,
    },
    { P, kind: KIND[o.kind], beta: o.beta, eps: o.labelSmoothing },
    1,
  );
}

function resolve(op: string, options: PreferenceOptions): Required<PreferenceOptions> {
  const o = { kind: options.kind ?? "dpo", beta: options.beta ?? 0.1, labelSmoothing: options.labelSmoothing ?? 0 };
  if (o.kind !== "dpo" && o.kind !== "ipo") {
    throw new RangeError(`${op}: kind must be "dpo" or "ipo", got ${JSON.stringify(o.kind)}`);
  }
  requireRange(op, "beta", o.beta, 0, Infinity, { lo: true, hi: true });
  requireRange(op, "labelSmoothing", o.labelSmoothing, 0, 0.5, { hi: true });
  if (o.kind === "ipo" && o.labelSmoothing !== 0) {
    throw new RangeError(`${op}: labelSmoothing applies to kind "dpo" only, got ${o.labelSmoothing} with "ipo"`);
  }
  return o;
}

/** CPU inputs of {@link preferenceLossCpu}: [P] arrays. */
export interface PreferenceCpuInputs {
  policyChosen: ArrayLike<number>;
  policyRejected: ArrayLike<number>;
  refChosen: ArrayLike<number>;
  refRejected: ArrayLike<number>;
}

/**
 * CPU reference of {@link preferenceLoss} in float64: loss, both gradients, stats in {@link PREFERENCE_STATS} order.
 */
export function preferenceLossCpu(
  x: PreferenceCpuInputs,
  options: PreferenceOptions = {},
): { loss: number; dChosen: Float64Array; dRejected: Float64Array; stats: number[] } {
  const { kind, beta, labelSmoothing: eps } = resolve("Preference loss", options);
  const P = x.policyChosen.length;
  const dChosen = new Float64Array(P), dRejected = new Float64Array(P);
  let loss = 0, cw = 0, cl = 0, acc = 0;
  for (let i = 0; i < P; i++) {
    const lw = x.policyChosen[i] - x.refChosen[i], ll = x.policyRejected[i] - x.refRejected[i], h = lw - ll;
    let li: number, gi: number;
    if (kind === "ipo") [li, gi] = [(h - 0.5 / beta) ** 2, 2 * (h - 0.5 / beta)];
    else {
      const z = beta * h;
      li = -(1 - eps) * logSigmoid(z) - eps * logSigmoid(-z);
      gi = beta * (eps * sigmoid(z) - (1 - eps) * sigmoid(-z));
    }
    loss += li;
    [dChosen[i], dRejected[i]] = [gi / P, -gi / P];
    cw += beta * lw;
    cl += beta * ll;
    acc += beta * lw > beta * ll ? 1 : 0;
  }
  return { loss: loss / P, dChosen, dRejected, stats: [loss / P, cw / P, cl / P, (cw - cl) / P, acc / P] };
}
