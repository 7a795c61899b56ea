/**
 * The audit of one tabular case: for each prompt the BT fit, PPO's target, DPO's minimal loss and how much mass a
 * DPO-optimal policy can put outside the data, an explicit such policy and whether PPO can reach it, the case's
 * candidate policies checked the same way; then gradient descent on the DPO loss under a tabular and a
 * shared-parameter policy. The result is a plain JSON-safe record (infinities as "+inf"/"-inf"), which markdown.ts
 * renders and summary.json stores.
 *
 * @example
 * ```ts
 * const record = runAudit(parseCase(text, "examples/table1.yaml"));
 * console.log(auditMarkdown(record));
 * ```
 * @module
 */
import { BT_TOLERANCE, btGap, fitBradleyTerry } from "./bt.ts";
import { type AuditSettings, coveredOf, pairsOf, parseUnseenRule, type TabularCase, winMatrix } from "./case.ts";
import { type GdRun, runGd } from "./gd.ts";
import { dpoInfimumAttained, dpoLoss, dpoWitness, type LimitReward, ppoTarget, rewardsForPpo } from "./policies.ts";
import { ppoReach, type Reach } from "./reach.ts";

/** A number that may be infinite, as JSON can hold it. */
export type Extended = number | "+inf" | "-inf";
/** How close to the minimum a policy's DPO loss must be to count as attaining it. */
export const OPTIMAL_TOLERANCE = 1e-9;

/** A policy's DPO loss and its verdicts. */
export interface PolicyCheck {
  name: string;
  policy: number[];
  /** The DPO loss (mean over the prompt's comparisons); null where undefined (both sides of a pair at 0). */
  dpoLoss: Extended | null;
  dpoOptimal: boolean;
  ppo: Reach;
}

/** The audit of one prompt. */
export interface PromptAudit {
  prompt: string;
  responses: string[];
  reference: number[];
  covered: boolean[];
  comparisons: { chosen: string; rejected: string; count: number }[];
  bt: {
    finite: boolean;
    /** Finite part ρ per response (each win group centred to mean 0); null if uncovered. */
    rewards: (number | null)[];
    /** 0 for the top groups, -k for k steps down the win order; null if uncovered. */
    tiers: (number | null)[];
    /** The win groups (strongly connected components) in a topological order of the wins between them. */
    groups: string[][];
    /** [a, b]: group a beat group b directly (every comparison between them went that way). */
    groupWins: [number, number][];
    /** Every gap between two covered responses: finite, infinite, or "free" (not identified by the data). */
    gaps: { a: string; b: string; gap: Extended | "free" }[];
    newtonIterations: number;
    gradMax: number;
  };
  ppo: { unseenReward: LimitReward; target: number[]; limit: boolean; reach: Reach };
  dpo: {
    minLoss: number;
    attained: boolean;
    attainedNote: string;
    /** The supremum of the mass a DPO-optimal (or, if none exists, near-optimal) policy puts on uncovered responses. */
    oodSupremum: number;
    oodAttained: boolean;
    witness: PolicyCheck;
  };
  candidates: PolicyCheck[];
}

/** A descent, with the mass on uncovered responses per prompt at its start and end. */
export type GdSummary = GdRun & { oodInitial: number[]; oodFinal: number[] };

/** The whole record (summary.json). */
export interface AuditRecord {
  title: string;
  file: string;
  settings: AuditSettings;
  conventions: string[];
  prompts: PromptAudit[];
  dataset: { comparisons: number; minDpoLoss: number; attained: boolean };
  gd: { tabular: GdSummary; shared: GdSummary | { skipped: string } };
}

/** JSON-safe form of an extended real. */
export function extended(v: number): Extended {
  return v === Infinity ? "+inf" : v === -Infinity ? "-inf" : v;
}

/** Runs the full audit of a validated case. */
export function runAudit(c: TabularCase): AuditRecord {
  const s = c.settings;
  const rule = parseUnseenRule(s.unseenReward, "unseenReward");
  const prompts = c.prompts.map((p, x): PromptAudit => {
    const pairs = pairsOf(c, x);
    const covered = coveredOf(c, x);
    const wins = winMatrix(c, x);
    const fit = fitBradleyTerry(wins);
    const check = (name: string, pi: number[]): PolicyCheck => {
      const loss = pairs.length === 0 ? 0 : dpoLoss(p, pairs, s.beta, pi);
      return {
        name,
        policy: pi,
        dpoLoss: Number.isNaN(loss) ? null : extended(loss),
        dpoOptimal: loss <= minLoss + OPTIMAL_TOLERANCE,
        ppo: ppoReach(p, fit, s.beta, pi),
      };
    };
    const minLoss = fit.count > 0 ? fit.minLoss / fit.count : 0;
    const { attained, group, why } = dpoInfimumAttained(fit);
    const names = (k: number) => `{${fit.graph.members[k].map((i) => p.responses[i]).join(", ")}}`;
    const { rewards, unseen } = rewardsForPpo(fit, rule);
    const target = ppoTarget(p.ref, rewards, s.beta);
    const anyCovered = covered.some((v) => v);
    const anyUncovered = covered.some((v) => !v);
    const gaps: PromptAudit["bt"]["gaps"] = [];
    for (let a = 0; a < covered.length; a++) {
      for (let b = a + 1; b < covered.length; b++) {
        if (!covered[a] || !covered[b]) continue;
        const g = btGap(fit, a, b);
        gaps.push({ a: p.responses[a], b: p.responses[b], gap: g === "free" ? g : extended(g) });
      }
    }
    return {
      prompt: p.name,
      responses: p.responses,
      reference: p.ref,
      covered,
      comparisons: wins.flatMap((row, i) =>
        row.flatMap((n, j) => (n > 0 ? [{ chosen: p.responses[i], rejected: p.responses[j], count: n }] : []))
      ),
      bt: {
        finite: fit.finite,
        rewards: fit.rho.map((v) => (Number.isNaN(v) ? null : v)),
        tiers: fit.tier.map((v) => (Number.isNaN(v) ? null : v)),
        groups: fit.graph.members.map((ms) => ms.map((i) => p.responses[i])),
        groupWins: fit.graph.beats.flatMap((bs, a) => bs.map((b): [number, number] => [a, b])),
        gaps,
        newtonIterations: fit.iterations,
        gradMax: fit.gradMax,
      },
      ppo: {
        unseenReward: unseen,
        target: target.policy,
        limit: target.limit,
        reach: ppoReach(p, fit, s.beta, target.policy),
      },
      dpo: {
        minLoss,
        attained,
        attainedNote: attained ? "" : `the win group ${names(group)} ${why}`,
        // Only β·log(π/π_ref) differences of covered responses enter Eq. 7, and their common scale per connected
        // component is free: shrink every covered probability by the same factor and the loss does not change.
        // So the mass outside the data can approach 1 but not reach it while a covered response needs mass > 0.
        oodSupremum: anyUncovered ? 1 : 0,
        oodAttained: !anyUncovered || !anyCovered,
        witness: check("explicit DPO optimum", dpoWitness(p.ref, fit, s.beta, s.witnessMass)),
      },
      candidates: c.candidates.flatMap((cand) => {
        const pi = cand.policy.get(x);
        return pi ? [check(cand.name, pi)] : [];
      }),
    };
  });
  const total = c.pairs.reduce((a, q) => a + q.count, 0);
  const minDpoLoss =
    prompts.reduce((a, pa, x) => a + pa.dpo.minLoss * pairsOf(c, x).reduce((t, q) => t + q.count, 0), 0) /
    total;
  const withOod = (run: GdRun): GdSummary => {
    const ood = (probs: number[][]) =>
      probs.map((row, x) => row.reduce((a, v, j) => a + (prompts[x].covered[j] ? 0 : v), 0));
    return { ...run, oodInitial: ood(run.initial), oodFinal: ood(run.final) };
  };
  const hasFeatures = c.prompts.every((p) => p.features);
  return {
    title: s.title || c.file,
    file: c.file,
    settings: s,
    conventions: conventions(s),
    prompts,
    dataset: { comparisons: total, minDpoLoss, attained: prompts.every((pa) => pa.dpo.attained) },
    gd: {
      tabular: withOod(runGd(c, "tabular")),
      shared: hasFeatures
        ? withOod(runGd(c, s.gd.model as "linear" | "mlp"))
        : { skipped: "the case gives no response features, so there is no shared-parameter policy to run" },
    },
  };
}

/** The choices the audit makes that the paper leaves open, in words, for the record and the report. */
function conventions(s: AuditSettings): string[] {
  const unseen = s.unseenReward === "min"
    ? "the prompt's lowest fitted reward"
    : s.unseenReward === "max"
    ? "the prompt's highest fitted reward"
    : `${s.unseenReward} at the top tier`;
  return [
    `Bradley-Terry rewards are maximum-likelihood fits per prompt (Newton, |∂L/∂r| ≤ ${BT_TOLERANCE} × comparisons), ` +
    "fixed up to one constant per connected component of the comparison graph; each win group is centred to mean 0, " +
    "and infinite gaps are written as tiers of the family r_t = ρ + t·tier, t → ∞.",
    `PPO's target π_ref·exp(r/β)/Z (Eq. 5) assumes a reward of ${unseen} for responses outside the preference data, ` +
    "which the data do not identify; its zero wherever π_ref is zero holds for any value.",
    "DPO loss on the boundary: π(rejected) = 0 gives a pair its limit 0, π(chosen) = 0 gives +∞, both 0 is undefined; " +
    "pairs naming a response with π_ref = 0 are rejected as input.",
    `The explicit DPO optimum keeps mass ${s.witnessMass} on the top win groups (∝ π_ref·exp(ρ/β)) and spreads the ` +
    "rest over the uncovered responses with π_ref = 0, or over all uncovered responses if none has π_ref = 0.",
    `Gradient descent: ${s.gd.optimizer}, lr ${s.gd.lr}, ${s.gd.steps} steps on the dataset's DPO loss. Tabular ` +
    "logits start at log π_ref; π_ref = 0 is a logit of −∞ held fixed. A shared policy is first fitted to π_ref " +
    `(cross-entropy, ${s.gd.fitSteps} Adam steps, lr ${s.gd.fitLr}); the DPO loss keeps the case's π_ref.`,
  ];
}
