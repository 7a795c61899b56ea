/**
 * Report section for §4.2 (Figure 1): the synthetic 8 x 8 study. Reads only what `deno task synthetic` wrote:
 * summary.json (per-seed numbers, 95% t-intervals over seeds, the settings with their docs), one seed's matrices
 * (seeds/seed_<s>.json) for Figure 1, and metrics.jsonl for the training curves. The statement of agreement is
 * computed from those numbers.
 * @module
 */
import { join } from "node:path";
import type { Interval, PolicyName, SeedMatrices, SyntheticSummary } from "../../experiments/synthetic_summary.ts";
import { readJson } from "../../util/fs.ts";
import { publishedValue } from "../published.ts";
import type { Headline, Section, SectionContext, SectionOutput } from "../section.ts";
import { fmtNumber, fmtPercent } from "../tables.ts";
import { figure1, trainingCurves } from "./synthetic_figure.ts";

const NAMES: Record<PolicyName, string> = {
  reference: "π_ref",
  dpo: "π_DPO",
  ppo: "π_PPO",
  ppoTarget: "PPO's exact target π_ref·exp(r_φ/β)",
};

/** Choices built into experiments/synthetic_train.ts (the settings the run records follow them in the list). */
const DESIGN = [
  "The reward model is an MLP with one score per response (the paper: 'MLP'); the policy is the softmax of an MLP's " +
  "outputs. Both take the one-hot prompt.",
  "DPO and PPO start from π_ref's parameters; π_ref stays frozen.",
  "PPO samples at temperature 1 without top-k or top-p (kernels/sample.ts), so behaviour and training log-probs agree.",
  "PPO's KL penalty is ReaLHF's per-sample k1 estimate, β(log π_old − log π_ref), subtracted from the learned reward.",
  "A one-step bandit has no future, so PPO has no critic: a baseline replaces it, and mini-batches are interleaved " +
  "rows of one rollout, so each sees every prompt.",
  "All three trainings use full batches or full rollouts of every prompt; Bradley-Terry pairs are unweighted (each " +
  "prompt has the same number of pairs, so ReaLHF's 1/pairs weights would change nothing).",
];

/** "0.12 [0.11, 0.13]": a mean with its 95% t-interval. */
const ci = (i: Interval, digits = 3) =>
  `${fmtNumber(i.mean, digits)} [${fmtNumber(i.lo, digits)}, ${fmtNumber(i.hi, digits)}]`;
const pct = (i: Interval) =>
  `${fmtPercent(i.mean, 0)} [${fmtPercent(Math.max(0, i.lo), 0)}, ${fmtPercent(Math.min(1, i.hi), 0)}]`;

/** Where an interval lies relative to 0. */
const sign = (
  i: Interval,
): "above" | "below" | "unresolved" => (i.lo > 0 ? "above" : i.hi < 0 ? "below" : "unresolved");

/** The plain statement of agreement, from the aggregates alone. */
function verdict(s: SyntheticSummary): { text: string; agree: number; of: number; unresolved: number } {
  const a = s.aggregate, d = a.uncoveredDelta, n = s.perSeed.length;
  const paperRef = publishedValue("figure1", "red-circled uncovered cells", "π_ref");
  const paperDpo = publishedValue("figure1", "red-circled uncovered cells", "π_DPO");
  const parts: string[] = [];
  let agree = 0;
  // Claim 1: DPO raises the probability of uncovered responses above π_ref (paper: 0.11 -> 0.23 on circled cells).
  const up = sign(d.dpoMinusReference);
  const conc = a.uncoveredMax.dpo.lo > a.uncoveredMax.reference.hi;
  if (up === "above") agree++;
  parts.push(
    `(1) DPO raises uncovered cells above π_ref (paper: ${paperRef} → ${paperDpo} on the circled cells): ` +
      `${up === "above" ? "agrees" : up === "below" ? "disagrees" : "not shown"} on the mean over all uncovered ` +
      `cells, ${fmtNumber(a.uncovered.reference.mean, 3)} → ${fmtNumber(a.uncovered.dpo.mean, 3)} (paired ` +
      `difference ${ci(d.dpoMinusReference)}, ${up === "unresolved" ? "its interval contains 0" : `${up} 0`}). ` +
      `Cell by cell, DPO raises ${fmtPercent(a.uncoveredAboveReference.dpo.mean, 0)} of the uncovered cells above ` +
      `π_ref, ${conc ? "and those it raises it raises far" : "and not by much"}: the largest uncovered probability ` +
      `per prompt is ${fmtNumber(a.uncoveredMax.dpo.mean, 2)} under DPO against ${
        fmtNumber(a.uncoveredMax.reference.mean, 2)
      } ` +
      `under π_ref, and DPO's most probable response is an uncovered one for ${
        fmtPercent(a.argmaxUncovered.dpo.mean, 0)
      } ` +
      `of prompts.`,
  );
  // Claim 2: PPO keeps uncovered cells low (below π_ref and below DPO).
  const ppoLow = sign(d.ppoMinusReference) === "below" && sign(d.dpoMinusPpo) === "above";
  if (ppoLow) agree++;
  parts.push(
    `(2) PPO keeps them low: ${ppoLow ? "agrees" : "does not hold"}; PPO's uncovered mean is ` +
      `${fmtNumber(a.uncovered.ppo.mean, 3)} (PPO − π_ref ${ci(d.ppoMinusReference)}, DPO − PPO ${ci(d.dpoMinusPpo)}).`,
  );
  // Claim 3: PPO learns the optimal policy.
  const opt = a.argmaxDiagonal.ppo.mean >= 0.95;
  if (opt) agree++;
  const follows = a.argmaxIsRewardArgmax.ppo.mean, gap = Math.abs(a.uncovered.ppo.mean - a.uncovered.ppoTarget.mean);
  parts.push(
    `(3) PPO learns the optimal policy: ${opt ? "agrees" : "only in part"}; its most probable response is the ` +
      `diagonal for ${fmtPercent(a.argmaxDiagonal.ppo.mean, 0)} of prompts (DPO ${
        fmtPercent(a.argmaxDiagonal.dpo.mean, 0)
      }), with mean optimal probability ${fmtNumber(a.diagonal.ppo.mean, 2)} (DPO ${
        fmtNumber(a.diagonal.dpo.mean, 2)
      }). ` +
      `PPO's most probable response is the learned reward's top response for ${fmtPercent(follows, 0)} of prompts, ` +
      `and the learned reward ranks an uncovered response first for ${fmtPercent(a.rewardArgmaxUncovered.mean, 0)} ` +
      `of prompts; PPO's uncovered mean is ${gap < 0.02 ? "close to" : "not close to"} that of its exact ` +
      `KL-regularised target (${fmtNumber(a.uncovered.ppo.mean, 3)} vs ${fmtNumber(a.uncovered.ppoTarget.mean, 3)}).` +
      (follows >= 0.9 && a.rewardArgmaxUncovered.mean > 0
        ? " So where PPO misses the optimum it follows the reward model's misspecification: with a near-uniform " +
          "π_ref, the KL penalty (Eq. 5: π* ∝ π_ref·exp(r/β)) cannot tell covered from uncovered responses."
        : ""),
  );
  const head = agree === 3 ? "Agrees" : agree === 0 ? "Disagrees" : "Partly agrees";
  const unresolved = up === "unresolved" ? 1 : 0;
  return { text: `${head} (${agree} of 3 claims hold over ${n} seeds). ${parts.join(" ")}`, agree, of: 3, unresolved };
}

async function render(ctx: SectionContext): Promise<SectionOutput> {
  const { run, note } = ctx.pick("synthetic")!;
  const s = run.summary as SyntheticSummary | null;
  if (!s || !s.aggregate) {
    return {
      body: `${note}\n\nThe run ${run.id} has no summary.json: it did not finish. Rerun \`deno task synthetic\`.`
        .trim(),
    };
  }
  const m = await readJson<SeedMatrices>(join(run.dir, s.matrices[s.figureSeed]));
  const a = s.aggregate, n = s.perSeed.length;
  const uncovered = m.coverage.flat().filter((c) => c === 0).length;
  const parts: string[] = [];
  if (note) parts.push(note);
  parts.push(
    `Eight prompts, eight responses, the optimal response on the diagonal, and ${m.pairs.length} ` +
      `preference pairs (${m.pairs.length / m.coverage.length} per prompt), which leave ${uncovered} of the ` +
      `${m.coverage.length * m.coverage[0].length} (prompt, response) cells uncovered. Policy and reward model are ` +
      `MLPs on one-hot prompts, trained on the GPU; DPO uses β = ${s.beta.dpo}, PPO optimises the learned reward with ` +
      `a KL penalty to π_ref of β = ${s.beta.ppo}. Each of the ${n} seeds draws new data and new networks.`,
  );
  parts.push(
    await ctx.figure("figure1", figure1(m), {
      caption: `Figure 1 regenerated from seed ${m.seed}: (a) the preference data's coverage (grey: the response ` +
        `appears in a pair for that prompt; white: it does not); (b) π_ref; (c) π_PPO; (d) π_DPO; (e) the learned ` +
        `reward r_φ (Bradley-Terry fixes it only up to a constant per prompt). Rows are prompts x1-x8, columns ` +
        `responses y1-y8; the optimal response is the diagonal. Circles mark the uncovered cells (orange on the ` +
        `reward panel, whose colour scale is red-blue).`,
      runs: run,
    }),
  );
  const rows = (["reference", "dpo", "ppo", "ppoTarget"] as const).map((p) => [
    NAMES[p],
    ci(a.uncovered[p]),
    p === "reference"
      ? fmtNumber(publishedValue("figure1", "red-circled uncovered cells", "π_ref"))
      : p === "dpo"
      ? fmtNumber(publishedValue("figure1", "red-circled uncovered cells", "π_DPO"))
      : "not given",
    ci(a.uncoveredMax[p], 2),
    pct(a.argmaxUncovered[p]),
    ci(a.diagonal[p], 2),
    pct(a.argmaxDiagonal[p]),
  ]);
  parts.push(ctx.table("uncovered", {
    title: "Probability on uncovered cells and on the optimal response",
    header: [
      "policy",
      "mean prob. on uncovered cells",
      "paper (circled cells)",
      "largest uncovered prob. per prompt",
      "prompts whose top response is uncovered",
      "prob. of the optimal response",
      "prompts whose top response is optimal",
    ],
    rows,
    caption: `Means over ${n} seeds with 95% confidence intervals (Student t with ${n - 1} degrees of freedom, ` +
      `mean ± t·sd/√n; percentages clipped to [0, 100]). The paper gives one number pair, for the red-circled cells ` +
      `of its figure: 0.11 under π_ref and 0.23 under π_DPO. PPO's exact target is the maximiser of Eq. 2 for the ` +
      `learned reward, computed in closed form (Eq. 5) from π_ref and r_φ.`,
    runs: run,
  }));
  parts.push(ctx.table("per_seed", {
    title: "Per seed",
    header: ["seed", "uncovered: π_ref", "π_DPO", "π_PPO", "optimal: π_DPO", "π_PPO", "top reward uncovered"],
    rows: s.perSeed.map((r) => [
      r.seed,
      fmtNumber(r.uncovered.reference, 3),
      fmtNumber(r.uncovered.dpo, 3),
      fmtNumber(r.uncovered.ppo, 3),
      fmtNumber(r.diagonal.dpo, 2),
      fmtNumber(r.diagonal.ppo, 2),
      fmtPercent(r.rewardArgmaxUncovered, 0),
    ]),
    caption: "Mean probability on uncovered cells and of the optimal response per seed, and the share of prompts " +
      "whose highest learned reward is on an uncovered response.",
    runs: run,
  }));
  parts.push(
    await ctx.figure("curves", trainingCurves(run.metrics, a.uncovered.reference.mean), {
      caption: `Training curves over ${n} seeds (line: mean; band: min to max over seeds): the mean probability on ` +
        `uncovered cells (dashed: π_ref) and of the optimal response, for DPO per full-batch step and PPO per rollout ` +
        `step (each rollout step makes several mini-batch updates).`,
      runs: run,
    }),
  );
  const v = verdict(s), d = a.uncoveredDelta.dpoMinusReference;
  const choices = [...DESIGN, ...s.choices.map((c) => `\`${c.key}\` = ${JSON.stringify(c.value)}: ${c.doc}.`)];
  const headlines: Headline[] = [{
    claim: "DPO raises the probability of responses the preference data never covers; PPO does not (Figure 1)",
    paper: `${publishedValue("figure1", "red-circled uncovered cells", "π_ref")} → ` +
      `${publishedValue("figure1", "red-circled uncovered cells", "π_DPO")} on the circled cells`,
    ours: `uncovered mean ${fmtNumber(a.uncovered.reference.mean, 3)} → ${fmtNumber(a.uncovered.dpo.mean, 3)} ` +
      `(DPO − π_ref ${ci(d)}); PPO ${fmtNumber(a.uncovered.ppo.mean, 3)}`,
    verdict: sign(d) === "above" ? "agrees" : sign(d) === "below" ? "disagrees" : "inconclusive",
  }];
  const tally = { agrees: v.agree, disagrees: v.of - v.agree - v.unresolved, inconclusive: v.unresolved };
  return { body: parts.join("\n\n"), choices, verdict: v.text, headlines, tally };
}

/** §4.2, Figure 1. */
export const section: Section = {
  id: "synthetic",
  title: "DPO raises the probability of responses the preference data does not cover",
  paper: "§4.2, Figure 1",
  experiments: ["synthetic"],
  command: "deno task synthetic",
  published: ["figure1"],
  render,
};
