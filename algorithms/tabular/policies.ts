/**
 * The two solution sets of Theorem 4.1 for one prompt, computed exactly from the Bradley-Terry fit (bt.ts):
 * PPO's target, the KL-regularised optimum π*(y) ∝ π_ref(y)·exp(r(y)/β) (Eq. 5), and an explicit DPO-optimal policy
 * that puts as much mass as asked outside the preference data, with DPO's minimal loss and whether it is attained.
 * @module
 */
import { type BtFit, softplus } from "./bt.ts";
import type { Pair, PromptCase, UnseenRule } from "./case.ts";

/** A reward in the limit family r_t = ρ + t·tier (t -> ∞): compared by tier first, then by ρ. */
export interface LimitReward {
  tier: number;
  rho: number;
}

/** Per response, the reward PPO's target uses: the fit where covered, the `unseen` rule elsewhere. */
export function rewardsForPpo(fit: BtFit, rule: UnseenRule): { rewards: LimitReward[]; unseen: LimitReward } {
  const covered = fit.rho.map((v) => !Number.isNaN(v));
  const seen = fit.rho.flatMap((rho, i) => (covered[i] ? [{ tier: fit.tier[i], rho }] : []));
  const cmp = (a: LimitReward, b: LimitReward) => a.tier - b.tier || a.rho - b.rho;
  // The data say nothing about an uncovered response (the reward model is free there, PAPER.md §3.4); with no
  // covered response at all, 'min' and 'max' fall back to a reward of 0 at the top tier.
  const unseen: LimitReward = rule.kind === "value"
    ? { tier: 0, rho: rule.value }
    : seen.length === 0
    ? { tier: 0, rho: 0 }
    : seen.reduce((a, b) => ((rule.kind === "min" ? cmp(b, a) < 0 : cmp(b, a) > 0) ? b : a));
  return { rewards: fit.rho.map((rho, i) => (covered[i] ? { tier: fit.tier[i], rho } : unseen)), unseen };
}

/**
 * The limit as t -> ∞ of π_t ∝ π_ref·exp((ρ + t·tier)/β): the responses with π_ref > 0 at the highest tier among
 * them keep mass ∝ π_ref·exp(ρ/β); everything else goes to 0. `limit` says whether that loses support (so the
 * target is approached, never attained: Table 1's (1, 0, 0)). Responses with π_ref = 0 get 0 whatever the rewards.
 */
export function ppoTarget(ref: number[], rewards: LimitReward[], beta: number): { policy: number[]; limit: boolean } {
  const live = ref.map((p) => p > 0);
  const top = Math.max(...rewards.filter((_, i) => live[i]).map((r) => r.tier));
  const at = ref.map((_, i) => live[i] && rewards[i].tier === top);
  const logw = ref.map((p, i) => (at[i] ? Math.log(p) + rewards[i].rho / beta : -Infinity));
  const m = Math.max(...logw);
  const w = logw.map((v) => Math.exp(v - m));
  const z = w.reduce((a, b) => a + b, 0);
  return { policy: w.map((v) => v / z), limit: live.some((l, i) => l && !at[i]) };
}

/**
 * The DPO loss (Eq. 7) of one prompt's pairs at policy π, as a count-weighted mean over comparisons. Conventions
 * on the boundary: π(rejected) = 0 with π(chosen) > 0 gives the term its limit 0; π(chosen) = 0 with π(rejected) > 0
 * gives +∞; both 0 is undefined (log 0 - log 0), returned as NaN.
 */
export function dpoLoss(p: PromptCase, pairs: Pair[], beta: number, pi: number[]): number {
  let sum = 0;
  let count = 0;
  for (const q of pairs) {
    const pw = pi[q.chosen];
    const pl = pi[q.rejected];
    count += q.count;
    if (pw === 0 && pl === 0) return NaN;
    if (pl === 0) continue;
    if (pw === 0) return Infinity;
    const margin = beta * (Math.log(pw / p.ref[q.chosen]) - Math.log(pl / p.ref[q.rejected]));
    sum += q.count * softplus(-margin);
  }
  return sum / count;
}

/**
 * Whether the infimum of the DPO loss is attained by some policy. The loss of a pair across SCCs reaches its
 * infimum 0 only with π(rejected) = 0 and π(chosen) > 0 (the log-ratio of a positive probability is finite), and a
 * pair inside an SCC needs both positive. So it is attained iff every SCC that is beaten from outside is a single
 * response that beats no other SCC; a chain y1 ≻ y2 ≻ y3 is approached only (y2 must be both 0 and positive).
 */
export function dpoInfimumAttained(fit: BtFit): { attained: boolean; group: number; why: string } {
  const { members, beats, beatenBy } = fit.graph;
  for (let k = 0; k < members.length; k++) {
    if (beatenBy[k].length === 0) continue;
    if (beats[k].length > 0) return { attained: false, group: k, why: "is beaten by one group and beats another" };
    if (members[k].length > 1) return { attained: false, group: k, why: "is beaten but holds pairs of its own" };
  }
  return { attained: true, group: -1, why: "" };
}

/**
 * An explicit DPO-optimal policy with mass `covered` on the covered responses (the top SCCs, ∝ π_ref·exp(ρ/β), the
 * ratios Eq. 6 requires; every beaten SCC gets 0) and 1 - covered outside the data: spread evenly over the uncovered
 * responses with π_ref = 0 (those PPO can never reach, Table 1's y3) if there are any, else over all uncovered ones.
 * With no uncovered response all mass stays on the covered ones; with no covered response, all of it goes outside.
 */
export function dpoWitness(ref: number[], fit: BtFit, beta: number, covered: number): number[] {
  const cov = fit.rho.map((v) => !Number.isNaN(v));
  const out = ref.map(() => 0);
  const uncovered = ref.flatMap((p, i) => (cov[i] ? [] : [{ i, p }]));
  const zeroRef = uncovered.filter((u) => u.p === 0);
  const sink = zeroRef.length > 0 ? zeroRef : uncovered;
  const onCovered = sink.length === 0 ? 1 : cov.some((c) => c) ? covered : 0;
  const logw = ref.map((p, i) => (cov[i] && fit.tier[i] === 0 ? Math.log(p) + fit.rho[i] / beta : -Infinity));
  const m = Math.max(...logw);
  if (onCovered > 0) {
    const w = logw.map((v) => Math.exp(v - m));
    const z = w.reduce((a, b) => a + b, 0);
    w.forEach((v, i) => (out[i] = (onCovered * v) / z));
  }
  for (const u of sink) out[u.i] = (1 - onCovered) / sink.length;
  return out;
}
