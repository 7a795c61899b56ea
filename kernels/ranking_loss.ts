/**
 * Ranking losses over G groups of k scored responses to the same prompt (the paper's RRHF and PRO baselines, §6).
 * `logp` [G, k] holds each response's length-normalised log-probability p_i (the caller's choice of normalisation,
 * e.g. RRHF's Σ log π / |y|); `rewards` [G, k] its score. Both losses are means over groups.
 *
 * RRHF (Yuan et al. 2023): L_rank = Σ_{r_i < r_j} max(0, p_i − p_j) per group, the hinge of the authors' code
 * (`-diff[aval].sum()` with aval = rw_diff > 0 & diff < 0: strict, so tied rewards and tied p give nothing). Its
 * full loss adds the cross-entropy of the best response, which the training loop takes from the model's token
 * loss; `best` [G] (u32, the in-group index of the first maximal reward, as torch.argmax) says which one.
 * ∂L/∂p_i = (#{j: r_i < r_j, p_i > p_j} − #{j: r_j < r_i, p_j > p_i}) / G.
 * The authors train one prompt per device step with gradient accumulation, which averages over prompts: our
 * mean over groups.
 *
 * PRO (Song et al. 2023): with the group sorted by reward, y_1 ≻ … ≻ y_n,
 *   L = −Σ_{m=1}^{n−1} log( exp(p_m) / Σ_{i≥m} exp(p_i) ) = Σ_m (LSE_{i≥m} p_i − p_m),
 *   ∂L/∂p_m = −[m < n] + Σ_{q ≤ min(m, n−1)} softmax_{i≥q}(p)_m.
 * Suffix log-sum-exps are accumulated backward with a stable logaddexp. Ties in reward keep index order (a stable
 * sort); PRO assumes a strict ranking. Omitted: PRO's reward-gap temperature and its SFT term weight (the SFT term
 * on y_1 is the training loop's, via `best`). k <= 64 (per-invocation arrays).
 *
 * Both kernels run one workgroup; an invocation handles whole groups, and the per-group losses are reduced in a
 * fixed order.
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { LossKernel, MATH_WGSL, REDUCE_WGSL, requireAll, requireF32, requireLossOutputs } from "./loss_common.ts";
import type { Tensor } from "./tensor.ts";

/**
 * Stats of {@link rrhfLoss}: loss; pair_accuracy = fraction of reward-ordered pairs with p_i < p_j; pairs_per_group.
 */
export const RRHF_STATS = ["loss", "pair_accuracy", "pairs_per_group"] as const;
/** Stats of {@link proLoss}: loss; top1_accuracy = fraction of groups whose best response has the (first) largest p. */
export const PRO_STATS = ["loss", "top1_accuracy"] as const;
/** Largest group size {@link proLoss} takes. */
export const PRO_MAX_K = 64;

/** GPU inputs of the ranking losses. */
export interface RankingInputs {
  /** Length-normalised sequence log-probs p. [G, k] */
  logp: Tensor;
  /** Scores of the same responses. [G, k] */
  rewards: Tensor;
}

/** GPU outputs of the ranking losses. */
export interface RankingOutputs {
  /** [1] */
  loss: Tensor;
  /** ∂loss/∂logp (written). [G, k] */
  dlogp: Tensor;
  /** In-group index of the best-rewarded response, for the SFT term. [G] u32 */
  best: Tensor;
  /** {@link RRHF_STATS} or {@link PRO_STATS}. */
  stats: Tensor;
}

const COMMON = REDUCE_WGSL + MATH_WGSL + /* wgsl */ `
fn best_of(base: u32) -> u32 {
  var b = 0u;
  for (var i = 1u; i < p.k; i++) { if (rewards[base + i] > rewards[base + b]) { b = i; } }
  return b;
}
`;
const BUFFERS = { logp: "read", rewards: "read", loss: "rw", dlogp: "rw", best: "rw:u32", stats: "rw" } as const;

const rrhfKernel = new LossKernel({
  name: "rrhf_loss",
  buffers: BUFFERS,
  params: { G: "u32", k: "u32" },
  code: COMMON + /* wgsl */ `
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let inv_g = 1.0 / f32(p.G);
  var l = 0.0; var correct = 0.0; var pairs = 0.0;
  for (var g = lid; g < p.G; g += WG) {
    let base = g * p.k;
    best[g] = best_of(base);
    for (var i = 0u; i < p.k; i++) {
      let pi = logp[base + i]; let ri = rewards[base + i];
      var gi = 0.0;
      for (var j = 0u; j < p.k; j++) {
        let pj = logp[base + j]; let rj = rewards[base + j];
        if (ri < rj) {
          pairs += 1.0;
          if (pi > pj) { l += pi - pj; gi += 1.0; }
          if (pi < pj) { correct += 1.0; }
        }
        if (rj < ri && pj > pi) { gi -= 1.0; }
      }
      dlogp[base + i] = gi * inv_g;
    }
  }
  let l_t = wg_sum(l, lid) * inv_g;
  let c_t = wg_sum(correct, lid);
  let n_t = wg_sum(pairs, lid);
  if (lid == 0u) {
    loss[0] = l_t;
    stats[0] = l_t;
    stats[1] = select(0.0, c_t / n_t, n_t > 0.0);
    stats[2] = n_t * inv_g;
  }
}`,
});

const proKernel = new LossKernel({
  name: "pro_loss",
  buffers: BUFFERS,
  params: { G: "u32", k: "u32" },
  code: COMMON + /* wgsl */ `
fn logaddexp(a: f32, b: f32) -> f32 { return max(a, b) + log1p_(exp(-abs(a - b))); }
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let inv_g = 1.0 / f32(p.G);
  var l = 0.0; var top1 = 0.0;
  for (var g = lid; g < p.G; g += WG) {
    let base = g * p.k;
    best[g] = best_of(base);
    // ord = indices sorted by reward, descending, ties in index order: the rank of i is the number of responses
    // ahead of it (a counting sort; O(k²) but branch-light and stable). A swap-based insertion sort in a
    // \`while (j > 0u && ...)\` loop came out wrong on llvmpipe through wgpu's GL backend, so no such loop here.
    var ord: array<u32, ${PRO_MAX_K}>;
    for (var i = 0u; i < p.k; i++) {
      let ri = rewards[base + i];
      var rank = 0u;
      for (var j = 0u; j < p.k; j++) {
        let rj = rewards[base + j];
        if (rj > ri || (rj == ri && j < i)) { rank += 1u; }
      }
      ord[rank] = i;
    }
    // lse[m] = log Σ_{q >= m} exp(p of the q-th ranked response).
    var lse: array<f32, ${PRO_MAX_K}>;
    lse[p.k - 1u] = logp[base + ord[p.k - 1u]];
    for (var m = p.k - 1u; m > 0u; m -= 1u) { lse[m - 1u] = logaddexp(logp[base + ord[m - 1u]], lse[m]); }
    var argmax_p = 0u;
    for (var m = 0u; m < p.k; m++) {
      let pm = logp[base + ord[m]];
      var gm = 0.0;
      if (m + 1u < p.k) { l += lse[m] - pm; gm = -1.0; }
      for (var q = 0u; q <= min(m, p.k - 2u) && q + 1u < p.k; q++) { gm += exp(pm - lse[q]); }
      dlogp[base + ord[m]] = gm * inv_g;
      if (logp[base + m] > logp[base + argmax_p]) { argmax_p = m; }
    }
    top1 += select(0.0, 1.0, argmax_p == ord[0]);
  }
  let l_t = wg_sum(l, lid) * inv_g;
  let t_t = wg_sum(top1, lid) * inv_g;
  if (lid == 0u) { loss[0] = l_t; stats[0] = l_t; stats[1] = t_t; }
}`,
});

function check(op: string, inputs: RankingInputs, outputs: RankingOutputs, names: readonly string[]): [number, number] {
  requireF32(op, "logp", inputs.logp);
  const s = inputs.logp.shape;
  if (s.length !== 2 || s[0] === 0 || s[1] === 0) {
    throw new RangeError(`${op}: logp must be a non-empty [G, k] tensor, got shape [${s.join(", ")}]`);
  }
  const [G, k] = s;
  requireAll(op, [G, k], " like logp", { rewards: inputs.rewards, dlogp: outputs.dlogp });
  requireLossOutputs(op, outputs, names);
  if (outputs.best.dtype !== "u32" || outputs.best.size !== G || outputs.best.shape.length !== 1) {
    throw new TypeError(
      `${op}: best must be a u32 [${G}] tensor, got ${outputs.best.dtype} [${outputs.best.shape.join(", ")}]`,
    );
  }
  return [G, k];
}

/**
 * Records the RRHF ranking loss, its gradient w.r.t. `logp`, the best response per group and the stats into `enc`.
 *
 * @example
 * ```ts
 * // logp, rewards: [G, k] for G prompts with k sampled responses each
 * rrhfLoss(enc, { logp, rewards }, { loss, dlogp, best, stats });
 * ```
 */
export function rrhfLoss(enc: StepEncoder, inputs: RankingInputs, outputs: RankingOutputs): void {
  const [G, k] = check("RRHF loss", inputs, outputs, RRHF_STATS);
  rrhfKernel.dispatch(enc, { ...inputs, ...outputs }, { G, k }, 1);
}

/** Records the PRO loss (k <= {@link PRO_MAX_K}), its gradient, the best response per group and the stats. */
export function proLoss(enc: StepEncoder, inputs: RankingInputs, outputs: RankingOutputs): void {
  const [G, k] = check("PRO loss", inputs, outputs, PRO_STATS);
  if (k > PRO_MAX_K) throw new RangeError(`PRO loss: group size k must be at most ${PRO_MAX_K}, got ${k}`);
  proKernel.dispatch(enc, { ...inputs, ...outputs }, { G, k }, 1);
}

/** CPU result of the ranking losses. */
export interface RankingCpuResult {
  loss: number;
  dlogp: Float64Array;
  best: Uint32Array;
  stats: number[];
}

function bestOf(r: ArrayLike<number>, base: number, k: number): number {
  let b = 0;
  for (let i = 1; i < k; i++) if (r[base + i] > r[base + b]) b = i;
  return b;
}

/** CPU reference of {@link rrhfLoss} in float64. */
export function rrhfLossCpu(
  logp: ArrayLike<number>,
  rewards: ArrayLike<number>,
  G: number,
  k: number,
): RankingCpuResult {
  const dlogp = new Float64Array(G * k), best = new Uint32Array(G);
  let loss = 0, correct = 0, pairs = 0;
  for (let g = 0; g < G; g++) {
    const o = g * k;
    best[g] = bestOf(rewards, o, k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        if (!(rewards[o + i] < rewards[o + j])) continue;
        pairs++;
        const d = logp[o + i] - logp[o + j];
        if (d > 0) [loss, dlogp[o + i], dlogp[o + j]] = [loss + d, dlogp[o + i] + 1 / G, dlogp[o + j] - 1 / G];
        if (d < 0) correct++;
      }
    }
  }
  return { loss: loss / G, dlogp, best, stats: [loss / G, pairs > 0 ? correct / pairs : 0, pairs / G] };
}

/** CPU reference of {@link proLoss} in float64 (direct log-sum-exps, no shared code with the kernel's recursion). */
export function proLossCpu(
  logp: ArrayLike<number>,
  rewards: ArrayLike<number>,
  G: number,
  k: number,
): RankingCpuResult {
  const dlogp = new Float64Array(G * k), best = new Uint32Array(G);
  let loss = 0, top1 = 0;
  for (let g = 0; g < G; g++) {
    const o = g * k;
    best[g] = bestOf(rewards, o, k);
    const ord = [...Array(k).keys()].sort((a, b) => rewards[o + b] - rewards[o + a] || a - b);
    const p = ord.map((i) => logp[o + i]);
    for (let m = 0; m < k - 1; m++) {
      const rest = p.slice(m), mx = Math.max(...rest);
      const lse = mx + Math.log(rest.reduce((s, v) => s + Math.exp(v - mx), 0));
      loss += lse - p[m];
      dlogp[o + ord[m]] -= 1 / G;
      for (let q = m; q < k; q++) dlogp[o + ord[q]] += Math.exp(p[q] - lse) / G;
    }
    if (bestOf(logp, o, k) === ord[0]) top1++;
  }
  return { loss: loss / G, dlogp, best, stats: [loss / G, top1 / G] };
}
