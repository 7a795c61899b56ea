/**
 * The figures of the §4.2 section, made from what `deno task synthetic` wrote: Figure 1's five heat-maps from one
 * seed's matrices (runs/synthetic/<name>/seeds/seed_<s>.json) and the training curves over seeds from metrics.jsonl.
 * @module
 */
import type { SeedMatrices } from "../../experiments/synthetic_summary.ts";
import { uncoveredCells } from "../../testbeds/synthetic.ts";
import type { MetricRow } from "../../util/run_dir.ts";
import { type Figure, heatmap, lineChart, panels } from "../plot/mod.ts";

const CELL = 28;

/**
 * Figure 1 regenerated: preference-data coverage, π_ref, π_PPO, π_DPO and the learned reward (the paper's order),
 * every uncovered (prompt, response) cell circled in red.
 */
export function figure1(m: SeedMatrices): Figure {
  const rows = m.coverage.map((_, x) => `x${x + 1}`);
  const cols = m.coverage[0].map((_, y) => `y${y + 1}`);
  const marked = uncoveredCells(m.coverage);
  const common = { rows, cols, marked, cell: CELL, rowTitle: "prompt", colTitle: "response" };
  const prob = (title: string, values: number[][]) =>
    heatmap({ ...common, title, values, scheme: "blues", domain: [0, 1], format: ".2f" });
  const bound = Math.max(...m.reward.flat().map(Math.abs));
  return panels({
    panels: [
      heatmap({
        ...common,
        title: "Preference data",
        values: m.coverage,
        scheme: "greys",
        domain: [0, 1.6],
        labels: false,
        legend: false,
      }),
      prob("π_ref", m.reference),
      prob("π_PPO", m.ppo),
      prob("π_DPO", m.dpo),
      heatmap({
        ...common,
        // Orange circles here: red would vanish on the red half of the diverging scale (the paper also uses both).
        marked: marked.map((c) => ({ ...c, color: "#E69F00" })),
        title: "Learned reward",
        values: m.reward,
        scheme: "rdbu",
        domain: [-bound, bound],
        format: ".1f",
      }),
    ],
    columns: 5,
    gap: 14,
    title: `Figure 1, regenerated (seed ${m.seed})`,
  });
}

/** Mean, min and max over seeds of one metric of one phase, by step. */
function curve(rows: MetricRow[], phase: string, key: string, name: string) {
  const bySteps = new Map<number, number[]>();
  for (const r of rows) {
    if (r.phase !== phase || typeof r[key] !== "number") continue;
    const list = bySteps.get(r.step) ?? [];
    list.push(r[key] as number);
    bySteps.set(r.step, list);
  }
  const x = [...bySteps.keys()].sort((a, b) => a - b);
  const at = (f: (v: number[]) => number) => x.map((s) => f(bySteps.get(s)!));
  return {
    name,
    x,
    mean: at((v) => v.reduce((a, b) => a + b, 0) / v.length),
    lo: at((v) => Math.min(...v)),
    hi: at((v) => Math.max(...v)),
  };
}

/**
 * Training curves: the mean probability on uncovered cells and of the optimal response, for DPO (per full-batch
 * step) and PPO (per rollout step), mean over seeds with a min-max band; π_ref's uncovered mean as a dashed line.
 */
export function trainingCurves(metrics: MetricRow[], referenceUncovered: number): Figure {
  const common = {
    xLabel: "training step (DPO: full batch; PPO: rollout)",
    yLabel: "probability",
    yDomain: [0, 1] as [number, number],
    points: false,
    width: 420,
    height: 240,
  };
  return panels({
    panels: [
      lineChart({
        ...common,
        title: "Mean probability on uncovered cells",
        series: [
          curve(metrics, "dpo", "synthetic/uncovered_mean", "DPO"),
          curve(metrics, "ppo", "synthetic/uncovered_mean", "PPO"),
        ],
        references: [{ y: referenceUncovered, label: "π_ref" }],
      }),
      lineChart({
        ...common,
        title: "Mean probability of the optimal response",
        series: [
          curve(metrics, "dpo", "synthetic/diagonal_mean", "DPO"),
          curve(metrics, "ppo", "synthetic/diagonal_mean", "PPO"),
        ],
      }),
    ],
    columns: 2,
    gap: 16,
  });
}
