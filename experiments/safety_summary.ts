/**
 * What `deno task safety` writes in summary.json, and the statistics over seeds the report computes from it: each
 * metric's 95% Student-t interval over seeds, and paired differences between two rows of the same size and seed
 * (the same base, SFT models and reward model) for the verdicts. Plain TypeScript: the report
 * (paper/sections/safety.ts) reads these files, never the training script's memory.
 * @module
 */
import { type Interval, tInterval } from "./synthetic_summary.ts";

/** The rows a run evaluates (Table 2's, Table 13's PPO rows, DPO-Iter's rounds). */
export const SAFETY_METHODS = [
  "sft_alpaca",
  "sft_safe",
  "ppo",
  "ppo_safe",
  "ppo_filter_du",
  "ppo_filter_both",
  "dpo",
  "dpo_safe",
  "dpo_safe_du",
  "dpo_safe_both",
  "dpo_iter1",
  "dpo_iter2",
  "dpo_iter3",
  "dpo_iter4",
] as const;
/** One of {@link SAFETY_METHODS}. */
export type SafetyMethod = typeof SAFETY_METHODS[number];

/** The metrics of one evaluation (experiments/safety_eval.ts), fractions for rates. */
export interface SafetyMetrics {
  help: number;
  deltaHelp: number;
  harm: number;
  safetyRate: number;
  harmfulSafetyRate: number;
  benignHelp: number;
  refusalHarmful: number;
  refusalBenign: number;
  truncated: number;
  seconds: number;
}

/** One evaluation of one model. */
export interface SafetyRecord extends SafetyMetrics {
  preset: string;
  seed: number;
  method: SafetyMethod;
}

/** summary.json of a safety run. */
export interface SafetySummary {
  experiment: "safety";
  scale: string;
  presets: string[];
  seeds: number[];
  /** The scripted Beaver baseline on the evaluation prompts (ΔHelp. is relative to its `help`). */
  beaver: { help: number; cost: number; safetyRate: number };
  testbed: Record<string, unknown>;
  /** Held-out accuracy and margin of each seed's reward models, by training data ("all", "filter_du", ...). */
  rewardModels: Record<string, { accuracy: number | null; margin: number | null }[]>;
  records: SafetyRecord[];
  timings: Record<string, number>;
  choices: { key: string; value: unknown; doc: string }[];
}

/** The records of one (preset, method), in seed order. */
export function selectSafety(s: SafetySummary, preset: string, method: SafetyMethod): SafetyRecord[] {
  return s.records.filter((r) => r.preset === preset && r.method === method).sort((a, b) => a.seed - b.seed);
}

/** The interval over seeds of one metric; null when the row was not run. */
export function overSeeds(
  s: SafetySummary,
  preset: string,
  method: SafetyMethod,
  metric: keyof SafetyMetrics,
): Interval | null {
  const rs = selectSafety(s, preset, method);
  return rs.length === 0 ? null : tInterval(rs.map((r) => r[metric]));
}

/** The paired difference a − b of one metric over the seeds both rows have; null when they share none. */
export function pairedSafety(
  s: SafetySummary,
  preset: string,
  [a, b]: [SafetyMethod, SafetyMethod],
  metric: keyof SafetyMetrics,
): Interval | null {
  const rb = new Map(selectSafety(s, preset, b).map((r) => [r.seed, r]));
  const d = selectSafety(s, preset, a).filter((r) => rb.has(r.seed)).map((r) => r[metric] - rb.get(r.seed)![metric]);
  return d.length === 0 ? null : tInterval(d);
}

export type { Interval };
