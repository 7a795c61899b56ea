/**
 * The figure of a tabular audit (algorithms/tabular/audit.ts), made from its record (summary.json) alone: per
 * prompt, bars of π_ref, PPO's target, an explicit DPO-optimal policy and where DPO descent actually took the mass
 * (tabular and shared-parameter policies); then the mass on responses outside the preference data along each
 * descent. `deno task audit` writes it into the run; the §4.1 report section draws it again from the run.
 * @module
 */
import type { AuditRecord, GdSummary } from "../../algorithms/tabular/audit.ts";
import { type Figure, groupedBars, lineChart, panels } from "../plot/mod.ts";

/** The descents a record holds (the shared one only when the case had features). */
export function descents(r: AuditRecord): GdSummary[] {
  return [r.gd.tabular, r.gd.shared].filter((g): g is GdSummary => "trajectory" in g);
}

/** Bars per response of one prompt: π_ref, PPO's target, the explicit DPO optimum, and each descent's end point. */
export function promptBars(r: AuditRecord, x: number, opts: { title?: string } = {}): Figure {
  const pa = r.prompts[x];
  const runs = descents(r);
  const series = [
    "π_ref",
    pa.ppo.limit ? "PPO target (limit)" : "PPO target",
    "a DPO optimum",
    ...runs.map((g) => `DPO descent, ${g.policy}`),
  ];
  const columns = [pa.reference, pa.ppo.target, pa.dpo.witness.policy, ...runs.map((g) => g.final[x])];
  return groupedBars({
    title: opts.title ?? `Prompt ${pa.prompt}`,
    groups: pa.responses.map((y, j) => (pa.covered[j] ? y : `${y} (uncovered)`)),
    series,
    values: pa.responses.map((_, j) => columns.map((c) => c[j])),
    yLabel: "probability",
    yDomain: [0, 1],
  });
}

/** Mass on uncovered responses along each descent, one line per (policy, prompt with an uncovered response). */
export function oodTrajectory(r: AuditRecord, opts: { title?: string } = {}): Figure | undefined {
  const prompts = r.prompts.flatMap((pa, x) => (pa.covered.some((c) => !c) ? [x] : []));
  if (prompts.length === 0) return undefined;
  const series = descents(r).flatMap((g) =>
    prompts.map((x) => ({
      name: `${g.policy}${r.prompts.length > 1 ? `, ${r.prompts[x].prompt}` : ""}`,
      x: g.trajectory.map((t) => t.step),
      mean: g.trajectory.map((t) => t.probs[x].reduce((a, v, j) => a + (r.prompts[x].covered[j] ? 0 : v), 0)),
    }))
  );
  return lineChart({
    title: opts.title ?? "Mass outside the preference data during DPO descent",
    series,
    xLabel: "step",
    yLabel: "probability",
    yDomain: [0, 1],
    points: false,
  });
}

/** The whole audit figure: the bars of every prompt and the trajectory chart, two panels per row. */
export function auditFigure(r: AuditRecord): Figure {
  const figs = r.prompts.map((_, x) => promptBars(r, x));
  const traj = oodTrajectory(r);
  if (traj) figs.push(traj);
  return panels({ title: `Audit: ${r.title}`, panels: figs, columns: Math.min(2, figs.length), gap: 16 });
}

/** The caption of {@link auditFigure}. */
export function auditCaption(r: AuditRecord): string {
  const s = r.settings;
  const unseen = s.unseenReward === "min" || s.unseenReward === "max"
    ? `the prompt's ${s.unseenReward === "min" ? "lowest" : "highest"} fitted reward`
    : `a reward of ${s.unseenReward}`;
  return `Per prompt: π_ref, PPO's KL-regularised target (Eq. 5, with ${unseen} for responses outside the data), ` +
    `an explicit DPO-optimal policy keeping ${s.witnessMass} on covered responses, and the policy after ` +
    `${s.gd.steps} ${s.gd.optimizer} steps on the DPO loss (β = ${s.beta}) from the reference. The line chart ` +
    "follows the probability of the responses no preference pair mentions.";
}
