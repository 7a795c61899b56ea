/**
 * Figures of the code section (paper/sections/code.ts): pass@k against k per method and size, the training pass
 * rate of PPO and DPO-Iter, and the outcome kinds of the sampled programs. Built from summary.json and metrics.jsonl.
 * @module
 */
import { avgPass, type CodeSummary, over } from "../../experiments/code_summary.ts";
import type { MetricRow } from "../../util/run_dir.ts";
import { type Figure, groupedBars, lineChart, type LineSeries, panels } from "../plot/mod.ts";

const APPS = { set: "apps", split: "test" } as const;
const METHODS = ["base", "sft", "dpo_iter", "ppo", "dpo"] as const;
const NAMES = { base: "Base", sft: "SFT", dpo_iter: "DPO-Iter", ppo: "PPO", dpo: "DPO" } as const;

/** pass@k (1 : 3 : 1 average) against k, one panel per size, one line per method with its interval band. */
export function passAtKFigure(s: CodeSummary): Figure {
  const ks = [...s.eval.ks].filter((k) => k <= s.eval.samples).sort((a, b) => a - b);
  return panels({
    panels: s.presets.map((preset) => {
      const series: LineSeries[] = [];
      for (const m of METHODS) {
        const iv = ks.map((k) => over(s, preset, m, APPS, (r) => avgPass(r, k)));
        if (iv.some((i) => !i)) continue;
        const clip = (x: number) => Math.min(100, Math.max(0, 100 * x));
        series.push({
          name: NAMES[m],
          x: ks,
          mean: iv.map((i) => 100 * i!.mean),
          lo: iv.map((i) => clip(Number.isFinite(i!.lo) ? i!.lo : i!.mean)),
          hi: iv.map((i) => clip(Number.isFinite(i!.hi) ? i!.hi : i!.mean)),
        });
      }
      return lineChart({ title: `size ${preset}`, series, xLabel: "k", yLabel: "pass@k, %", logX: true, xTicks: ks });
    }),
    columns: Math.min(3, s.presets.length),
    gap: 16,
  });
}

/** Mean and min-max over seeds of `key` per step, for rows of one phase and preset. */
function curve(rows: MetricRow[], preset: string, phase: string, key: string, name: string, scale: number) {
  const bySteps = new Map<number, number[]>();
  for (const r of rows) {
    if (r.preset !== preset || r.phase !== phase || typeof r[key] !== "number") continue;
    const list = bySteps.get(r.step) ?? [];
    list.push((r[key] as number) * scale);
    bySteps.set(r.step, list);
  }
  const x = [...bySteps.keys()].sort((a, b) => a - b);
  const at = (f: (v: number[]) => number) => x.map((st) => f(bySteps.get(st)!));
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return { name, x, mean: at(mean), lo: at((v) => Math.min(...v)), hi: at((v) => Math.max(...v)) };
}

/** The training pass rate (%) of PPO per iteration and of DPO-Iter per round, one panel each per size. */
export function trainingCurves(rows: MetricRow[], presets: readonly string[]): Figure {
  const figs: Figure[] = [];
  for (const p of presets) {
    // PPO's reward is 10 per passing rollout, so reward_mean × 10 is the pass rate in percent.
    const ppo = curve(rows, p, "ppo", "charts/reward_mean", "PPO", 10);
    if (ppo.x.length > 0) {
      figs.push(lineChart({ title: `PPO, ${p}`, series: [ppo], xLabel: "iteration", yLabel: "rollouts passing, %" }));
    }
    const it = curve(rows, p, "dpo_iter", "iter/sample_score_mean", "DPO-Iter", 10);
    if (it.x.length > 0) {
      figs.push(lineChart({ title: `DPO-Iter, ${p}`, series: [it], xLabel: "step", yLabel: "samples passing, %" }));
    }
  }
  if (figs.length === 0) throw new RangeError("Code training curves: the run has no PPO or DPO-Iter rows");
  return panels({ panels: figs, columns: 2, gap: 16 });
}

/** Outcome kinds (%) per method on the APPS-style test split of the largest size, with 95% intervals. */
export function outcomeBars(s: CodeSummary): Figure {
  const preset = s.presets.at(-1)!;
  const kinds = ["passed", "wrong_answer", "syntax_error", "runtime_error", "step_limit"] as const;
  const methods = METHODS.filter((m) => over(s, preset, m, APPS, (r) => r.outcomes.passed));
  const cell = (m: typeof METHODS[number], o: typeof kinds[number]) => over(s, preset, m, APPS, (r) => r.outcomes[o])!;
  return groupedBars({
    groups: methods.map((m) => NAMES[m]),
    series: kinds.map((k) => k.replace("_", " ")),
    values: methods.map((m) => kinds.map((o) => 100 * cell(m, o).mean)),
    errors: methods.map((m) =>
      kinds.map((o) => {
        const i = cell(m, o);
        return Number.isFinite(i.hi) ? Math.max(0, 100 * (i.hi - i.mean)) : 0;
      })
    ),
    yLabel: "share of programs, %",
    yDomain: [0, 100],
  });
}
