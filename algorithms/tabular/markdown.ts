/**
 * Renders an audit record as Markdown: per prompt, a table in the form of the paper's Table 1 (a column per response;
 * rows π_ref, D_pref, the BT reward, PPO's target, an explicit DPO optimum, the case's candidates, and where gradient
 * descent on the DPO loss took the mass), then the findings in sentences.
 * @module
 */
import type { AuditRecord, Extended, GdSummary, PolicyCheck, PromptAudit } from "./audit.ts";

/** A probability or reward for a table cell: 0 and 1 exact, else 3 decimals (4 significant digits below 0.001). */
export function cell(v: number): string {
  if (v === 0 || v === 1) return String(v);
  if (Math.abs(v) < 1e-3) return v.toExponential(1).replace("e-", "e−").replace(/^-/, "−");
  // Trailing zeros are dropped only when the value is exact at 3 decimals, so 1.000 (not 1) marks a rounded 0.9999.
  const t = v.toFixed(3);
  return (Math.abs(Number(t) - v) < 1e-12 ? String(Number(t)) : t).replace(/^-/, "−");
}

function ext(v: Extended | null): string {
  if (v === null) return "undefined";
  return v === "+inf" ? "+∞" : v === "-inf" ? "−∞" : cell(v);
}

function row(label: string, cells: string[]): string {
  return `| ${label} | ${cells.join(" | ")} |`;
}

function rewardCell(pa: PromptAudit, j: number): string {
  const t = pa.bt.tiers[j];
  const r = pa.bt.rewards[j];
  if (t === null || r === null) return "unseen";
  return t === 0 ? cell(r) : `−∞ (tier ${cell(t)})`;
}

const reachWords = {
  reachable: "reachable by PPO",
  limit: "reachable by PPO only as a limit",
  unreachable: "not reachable by PPO",
};

function checkSentence(c: PolicyCheck): string {
  const opt = c.dpoOptimal ? "attains DPO's minimal loss" : "does not attain DPO's minimal loss";
  return `${c.name} (${c.policy.map(cell).join(", ")}): DPO loss ${ext(c.dpoLoss)}, ${opt}; ${
    reachWords[c.ppo.status]
  }` +
    ` — ${c.ppo.reason}.`;
}

/** The Table-1-style table and the findings for one prompt. */
export function promptMarkdown(r: AuditRecord, x: number): string {
  const pa = r.prompts[x];
  const n = pa.responses.length;
  const pairs = pa.comparisons.map((c) => `${c.chosen} ≻ ${c.rejected}${c.count === 1 ? "" : ` (×${cell(c.count)})`}`);
  const lines = [
    row("Action", pa.responses.map((y) => (pa.covered[pa.responses.indexOf(y)] ? y : `${y} (uncovered)`))),
    `|---|${"---|".repeat(n)}`,
    row("π_ref", pa.reference.map(cell)),
    row("D_pref", [pairs.length > 0 ? `{${pairs.join(", ")}}` : "none", ...new Array(n - 1).fill("")]),
    row("BT reward r̂", pa.responses.map((_, j) => rewardCell(pa, j))),
    row(`π_PPO (target${pa.ppo.limit ? ", limit" : ""})`, pa.ppo.target.map(cell)),
    row("π_DPO (explicit optimum)", pa.dpo.witness.policy.map(cell)),
    ...pa.candidates.map((c) => row(`given: ${c.name}`, c.policy.map(cell))),
  ];
  const runs = [r.gd.tabular, r.gd.shared].filter((g): g is GdSummary => "trajectory" in g);
  for (const g of runs) lines.push(row(`DPO descent, ${g.policy}, step ${last(g).step}`, g.final[x].map(cell)));

  const finite = pa.bt.gaps.filter((g) => typeof g.gap === "number");
  const infinite = pa.bt.gaps.filter((g) => g.gap === "+inf" || g.gap === "-inf");
  const free = pa.bt.gaps.filter((g) => g.gap === "free");
  const gapText = (gs: typeof finite) =>
    gs.map((g) => `r(${g.a}) − r(${g.b}) = ${g.gap === "free" ? "free" : ext(g.gap as Extended)}`).join("; ");
  const facts = [
    pa.comparisons.length === 0
      ? "No preference pair names this prompt: its rewards are not identified and the DPO loss ignores its policy."
      : pa.bt.finite
      ? `Bradley-Terry MLE: finite${finite.length ? ` (${gapText(finite)})` : ""}.`
      : `Bradley-Terry MLE: does not exist; the likelihood's supremum needs ${gapText(infinite)}` +
        `${finite.length ? `, with finite gaps ${gapText(finite)}` : ""}. Wins between groups: ${groupWinsText(pa)}.`,
    ...(free.length ? [`Not identified by the data: ${gapText(free)}.`] : []),
    `PPO's target ${pa.ppo.limit ? "is a limit (as the infinite gaps grow), never attained" : "is attained"}; it ` +
    `gives 0 to every response with π_ref = 0. Unseen responses are given reward ${unseenText(pa)}.` +
    (free.length ? " Its split across groups the data never link follows the convention that each has mean 0." : ""),
    `DPO's minimal loss (mean over this prompt's comparisons): ${cell(pa.dpo.minLoss)}, ` +
    (pa.dpo.attained ? "attained." : `an infimum only approached (${pa.dpo.attainedNote}).`),
    pa.dpo.attained
      ? `Largest mass a DPO-optimal policy can put outside the preference data: ${cell(pa.dpo.oodSupremum)}, ` +
        (pa.dpo.oodAttained ? "attained." : "approached but not attained (covered responses need positive mass).")
      : "No policy attains DPO's infimum here; along minimising sequences the mass outside the preference data " +
        `can approach ${cell(pa.dpo.oodSupremum)}${pa.dpo.oodAttained ? "" : " (never reach it)"}.`,
    checkSentence(pa.dpo.witness),
    `PPO's target is ${reachWords[pa.ppo.reach.status]} — ${pa.ppo.reach.reason}.`,
    ...pa.candidates.map(checkSentence),
    ...runs.map((g) =>
      `DPO descent (${g.policy}): mass outside the data ${cell(g.oodInitial[x])} → ${cell(g.oodFinal[x])}` +
      (g.fit ? ` (started from a fit to π_ref with max |π − π_ref| = ${cell(g.fit.maxAbsError)})` : "") + "."
    ),
  ];
  return [`### Prompt ${pa.prompt}`, "", ...lines, "", ...facts.map((f) => `- ${f}`)].join("\n");
}

function groupWinsText(pa: PromptAudit): string {
  const name = (k: number) => `{${pa.bt.groups[k].join(", ")}}`;
  return pa.bt.groupWins.map(([a, b]) => `${name(a)} ≻ ${name(b)}`).join(", ");
}

function unseenText(pa: PromptAudit): string {
  const u = pa.ppo.unseenReward;
  return u.tier === 0 ? cell(u.rho) : `${cell(u.rho)} at tier ${cell(u.tier)} (−∞ below the top)`;
}

function last(g: GdSummary) {
  return g.trajectory[g.trajectory.length - 1];
}

/** The whole report: title, settings line, one section per prompt, the descents, and the conventions used. */
export function auditMarkdown(r: AuditRecord): string {
  const shared = "skipped" in r.gd.shared ? `Shared-parameter descent skipped: ${r.gd.shared.skipped}.` : "";
  return [
    `## Audit: ${r.title}`,
    "",
    `β = ${r.settings.beta}; ${cell(r.dataset.comparisons)} comparison${
      r.dataset.comparisons === 1 ? "" : "s"
    }; DPO's minimal loss over the dataset ` +
    `${cell(r.dataset.minDpoLoss)} (${r.dataset.attained ? "attained" : "an infimum, not attained"}).`,
    "",
    ...r.prompts.flatMap((_, x) => [promptMarkdown(r, x), ""]),
    ...(shared ? [shared, ""] : []),
    "Conventions:",
    "",
    ...r.conventions.map((c) => `- ${c}`),
    "",
  ].join("\n");
}
