/**
 * What `deno task code` writes in summary.json, and the statistics over seeds the report computes from it: each
 * number's 95% Student-t interval over seeds, and paired differences between two methods (same size, same seed, so
 * the same SFT model and problem draws) for the verdicts. Plain TypeScript: the report (paper/sections/code.ts)
 * reads these files, never the training script's memory.
 * @module
 */
import type { GptPresetName } from "../nn/gpt_config.ts";
import type { Outcome } from "../testbeds/code/mod.ts";
import { type Interval, studentTQuantile, tInterval } from "./synthetic_summary.ts";

/** The methods a run trains and evaluates; the `_base_ref` rows are Table 9's (the base model as reference). */
export const METHODS = ["base", "sft", "dpo_iter", "ppo", "dpo", "dpo_iter_base_ref", "ppo_base_ref"] as const;
/** One of {@link METHODS}. */
export type Method = typeof METHODS[number];

/** The evaluation sets: the APPS-style test split and the contest validation and test splits. */
export type EvalSet = { set: "apps" | "contest"; split: "validation" | "test" };

/** One evaluation of one model. */
export interface EvalRecord extends EvalSet {
  preset: GptPresetName;
  seed: number;
  method: Method;
  /** pass@k by k ("5") and by tier, `mean` over problems and `average` (APPS 1 : 3 : 1); fractions. */
  passAtK: Record<string, Record<string, number>>;
  /** k@n with k = eval.submissions and n = samples (Table 8). */
  kAtN: number;
  /** Share of all samples per outcome kind. */
  outcomes: Record<Outcome, number>;
  samples: number;
  seconds: number;
}

/** summary.json of a code run. */
export interface CodeSummary {
  experiment: "code";
  scale: string;
  presets: GptPresetName[];
  seeds: number[];
  table9Preset: string;
  eval: { samples: number; contestSamples: number; submissions: number; ks: number[]; contestKs: number[] };
  /** Problem counts per set, split and tier, token lengths, vocabulary size. */
  testbed: Record<string, unknown>;
  records: EvalRecord[];
  /** Seconds per phase ("xs/ppo", summed over seeds), "testbed" and "total". */
  timings: Record<string, number>;
  choices: { key: string; value: unknown; doc: string }[];
}

/** The records of one (preset, method, set, split), in seed order. */
export function select(s: CodeSummary, preset: string, method: Method, where: EvalSet): EvalRecord[] {
  return s.records
    .filter((r) => r.preset === preset && r.method === method && r.set === where.set && r.split === where.split)
    .sort((a, b) => a.seed - b.seed);
}

/** The interval over seeds of `value` for one (preset, method, set, split); null when there is no record. */
export function over(
  s: CodeSummary,
  preset: string,
  method: Method,
  where: EvalSet,
  value: (r: EvalRecord) => number,
): Interval | null {
  const rs = select(s, preset, method, where);
  return rs.length === 0 ? null : tInterval(rs.map(value));
}

/** The paired difference a − b over the seeds both have; null when they share none. */
export function paired(
  s: CodeSummary,
  preset: string,
  [a, b]: [Method, Method],
  where: EvalSet,
  value: (r: EvalRecord) => number,
): Interval | null {
  const ra = select(s, preset, a, where), rb = new Map(select(s, preset, b, where).map((r) => [r.seed, r]));
  const d = ra.filter((r) => rb.has(r.seed)).map((r) => value(r) - value(rb.get(r.seed)!));
  return d.length === 0 ? null : tInterval(d);
}

/** The difference of two independent intervals' means, with a conservative Welch interval (df = min n − 1). */
export function difference(a: Interval, b: Interval): Interval {
  const n = Math.min(a.n, b.n), mean = a.mean - b.mean;
  if (n < 2) return { n, mean, sd: NaN, lo: -Infinity, hi: Infinity };
  const se = Math.sqrt(a.sd ** 2 / a.n + b.sd ** 2 / b.n);
  const half = studentTQuantile(0.975, n - 1) * se;
  return { n, mean, sd: se, lo: mean - half, hi: mean + half };
}

/** Where an interval lies relative to 0. */
export function sideOfZero(i: Interval | null): "above" | "below" | "unresolved" {
  if (!i) return "unresolved";
  return i.lo > 0 ? "above" : i.hi < 0 ? "below" : "unresolved";
}

/** pass@k's 1 : 3 : 1 average (or the problem mean where a tier is missing) at `k`, as a fraction. */
export function avgPass(r: EvalRecord, k: number): number {
  const p = r.passAtK[String(k)];
  if (!p) throw new RangeError(`Code summary: no pass@${k} in the ${r.method} record (have ${Object.keys(r.passAtK)})`);
  return Number.isNaN(p.average) ? p.mean : p.average;
}

export type { Interval };
