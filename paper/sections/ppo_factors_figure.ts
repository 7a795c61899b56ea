/**
 * Figures of the §5 section (paper/sections/ppo_factors.ts): Figure 2 (PPO's pass@5 per tier against the batch
 * size, a band over seeds) and the training curves of Table 3's rows (the score, the KL to the reference and the
 * actor's clip fraction against the rollouts seen), built from summary.json and metrics.jsonl.
 * @module
 */
import { type FactorTestbed, over, type PpoFactorsSummary } from "../../experiments/ppo_factors_summary.ts";
import type { MetricRow } from "../../util/run_dir.ts";
import { type Figure, lineChart, type LineSeries, panels } from "../plot/mod.ts";

const TIERS = ["introductory", "interview", "competition"] as const;

/** The batch size of each Figure 2 row, sorted. */
export function sweepRows(s: PpoFactorsSummary): { id: string; batch: number }[] {
  return s.rows.filter((r) => r.testbed === "code" && r.uses.includes("figure2"))
    .map((r) => ({ id: r.id, batch: r.config.batchSize })).sort((a, b) => a.batch - b.batch);
}

/** Figure 2: pass@5 (%) per tier against the batch size, mean over seeds with its 95% t-interval as a band. */
export function batchFigure(s: PpoFactorsSummary, k: string): Figure {
  const rows = sweepRows(s), x = rows.map((r) => r.batch);
  const clip = (v: number) => Math.min(100, Math.max(0, 100 * v));
  const series: LineSeries[] = [...TIERS, "average" as const].map((tier) => {
    const iv = rows.map((r) => over(s, "code", `ppo_${r.id}`, `apps:${k}:${tier}`));
    return {
      name: tier === "average" ? "average (1 : 3 : 1)" : tier,
      x,
      mean: iv.map((i) => 100 * (i?.mean ?? NaN)),
      lo: iv.map((i) => clip(i && Number.isFinite(i.lo) ? i.lo : i?.mean ?? NaN)),
      hi: iv.map((i) => clip(i && Number.isFinite(i.hi) ? i.hi : i?.mean ?? NaN)),
    };
  });
  return lineChart({ series, xLabel: "rollouts per batch", yLabel: `pass@${k}, %`, logX: true, xTicks: x });
}

/** Mean over seeds of `key` × scale per logged iteration of one testbed's phase, against the rollouts seen. */
function curve(rows: MetricRow[], testbed: FactorTestbed, phase: string, key: string, batch: number, scale: number) {
  const bySteps = new Map<number, number[]>();
  for (const r of rows) {
    if (r.testbed !== testbed || r.phase !== phase || typeof r[key] !== "number") continue;
    bySteps.set(r.step, [...(bySteps.get(r.step) ?? []), (r[key] as number) * scale]);
  }
  const steps = [...bySteps.keys()].sort((a, b) => a - b);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return { x: steps.map((st) => st * batch), mean: steps.map((st) => mean(bySteps.get(st)!)) };
}

/** Table 3's rows: the score, KL to the reference and clip fraction per rollout seen, one panel each. */
export function factorCurves(
  s: PpoFactorsSummary,
  rows: MetricRow[],
  testbed: FactorTestbed,
  names: Record<string, string>,
): Figure {
  const table3 = s.rows.filter((r) => r.testbed === testbed && r.uses.includes("table3"));
  // Code's score is 10 per passing rollout, so ×10 gives the share passing in percent.
  const score = testbed === "code"
    ? { key: "charts/task_reward_mean", scale: 10, label: "rollouts passing, %" }
    : { key: "charts/task_reward_mean", scale: 1, label: "training RM score" };
  const metrics = [
    score,
    { key: "charts/kl_ref", scale: 1, label: "KL to the reference (nats)" },
    { key: "losses/clipfrac", scale: 1, label: "actor clip fraction" },
  ];
  return panels({
    panels: metrics.map((m) =>
      lineChart({
        series: table3.map((r) => ({
          name: names[r.id] ?? r.id,
          ...curve(rows, testbed, `ppo_${r.id}`, m.key, r.config.batchSize, m.scale),
        })),
        xLabel: "rollouts seen",
        yLabel: m.label,
        width: 300,
        height: 220,
      })
    ),
    columns: 3,
    gap: 16,
  });
}
