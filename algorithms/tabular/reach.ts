/**
 * Is a given policy one that PPO can produce (Theorem 4.1's Π_PPO)?
 *
 * PPO with a reward model r fitted on D reaches π = π_ref·exp(r/β)/Z (Eqs. 5 and 8). The reward model is pinned by
 * the data only on covered responses, and only up to Bradley-Terry maximisers; on an uncovered response it may take
 * any value. So, for one prompt:
 *
 * - reachable: supp(π) = supp(π_ref) and β·log(π/π_ref) on the covered responses is a BT maximiser (up to a
 *   constant per connected component) — possible only when the maximiser is finite;
 * - reachable only as a limit (of PPO optima for a sequence of BT-optimal reward models): π = 0 wherever π_ref = 0,
 *   π = 0 on every covered response beaten by another SCC (its gap to the winner goes to +∞, so its share of the
 *   winner's mass goes to 0, and so does its mass), and inside each SCC either all zero or all positive with the
 *   fitted ratios. Zeros elsewhere on supp(π_ref) come from rewards sent to -∞ (or others to +∞; the free values
 *   on uncovered responses allow it). Sufficiency: take r_t = β·log(π/π_ref) where π > 0, and push the rest down
 *   by multiples of t, deeper SCCs further down, so every cross-SCC gap grows without bound;
 * - unreachable otherwise, with the first reason found.
 * @module
 */
import { type BtFit, btGap } from "./bt.ts";
import type { PromptCase } from "./case.ts";

/** The verdict on one policy. */
export interface Reach {
  status: "reachable" | "limit" | "unreachable";
  reason: string;
}

/** Relative tolerance on β·log-ratio gaps when comparing a given policy with the fitted rewards. */
export const REACH_TOLERANCE = 1e-6;

const fmt = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(4))) : v > 0 ? "+∞" : "-∞");

/** Classifies policy `pi` of prompt `p` against PPO's reachable set. */
export function ppoReach(p: PromptCase, fit: BtFit, beta: number, pi: number[]): Reach {
  const y = p.responses;
  for (let i = 0; i < y.length; i++) {
    if (p.ref[i] === 0 && pi[i] > 0) {
      return {
        status: "unreachable",
        reason: `it puts ${fmt(pi[i])} on ${y[i]}, where π_ref = 0; PPO's optimum π_ref·exp(r/β)/Z (Eq. 5) is 0 ` +
          `there for every reward`,
      };
    }
  }
  const { members, beatenBy } = fit.graph;
  for (let k = 0; k < members.length; k++) {
    const pos = members[k].filter((i) => pi[i] > 0);
    if (beatenBy[k].length > 0 && pos.length > 0) {
      const w = members[beatenBy[k][0]][0];
      return {
        status: "unreachable",
        reason: `it puts ${fmt(pi[pos[0]])} on ${y[pos[0]]}, but every BT-optimal reward sends r(${y[w]}) − ` +
          `r(${y[pos[0]]}) to +∞, so PPO's share of ${y[pos[0]]} goes to 0`,
      };
    }
    if (pos.length > 0 && pos.length < members[k].length) {
      const z = members[k].find((i) => !(pi[i] > 0))!;
      return {
        status: "unreachable",
        reason: `it puts 0 on ${y[z]} but ${fmt(pi[pos[0]])} on ${y[pos[0]]}; their fitted gap is finite ` +
          `(${fmt(fit.rho[z] - fit.rho[pos[0]])}), so PPO keeps both positive`,
      };
    }
    for (const i of pos.slice(1)) {
      const j = pos[0];
      const implied = beta * (Math.log(pi[i] / p.ref[i]) - Math.log(pi[j] / p.ref[j]));
      const gap = btGap(fit, i, j) as number;
      if (Math.abs(implied - gap) > REACH_TOLERANCE * Math.max(1, Math.abs(gap))) {
        return {
          status: "unreachable",
          reason: `β·log(π/π_ref) differs by ${fmt(implied)} between ${y[i]} and ${y[j]}, but the BT fit gives ` +
            `r(${y[i]}) − r(${y[j]}) = ${fmt(gap)}`,
        };
      }
    }
  }
  const lost = y.flatMap((_, i) => (p.ref[i] > 0 && !(pi[i] > 0) ? [i] : []));
  if (lost.length === 0) {
    return {
      status: "reachable",
      reason: "same support as π_ref, and its log-ratios on covered responses are BT-optimal",
    };
  }
  const why = lost.map((i) => {
    if (Number.isNaN(fit.rho[i])) return `${y[i]} (uncovered: the reward model's free value there → −∞)`;
    const k = fit.graph.scc[i];
    if (beatenBy[k].length > 0) return `${y[i]} (r(${y[members[beatenBy[k][0]][0]]}) − r(${y[i]}) → +∞)`;
    return `${y[i]} (its group's reward falls infinitely below the responses that keep mass)`;
  });
  return {
    status: "limit",
    reason: `it is 0 on ${why.join(", ")} where π_ref > 0: Eq. 5 gives that only as reward gaps go to infinity`,
  };
}
