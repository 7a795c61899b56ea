/**
 * What `deno task ppo-factors` writes in summary.json, and the statistics the report computes from it: a metric's
 * 95% Student-t interval over seeds, and paired differences between two rows (same testbed and seed, so the same SFT
 * model and reward model) for the verdicts. Plain TypeScript: the report (paper/sections/ppo_factors.ts) reads these
 * files, never the training script's memory.
 * @module
 */
import type { PpoConfig } from "../algorithms/ppo.ts";
import type { Outcome } from "../testbeds/code/mod.ts";
import { type Interval, tInterval } from "./synthetic_summary.ts";

/** The two testbeds. */
export type FactorTestbed = "dialogue" | "code";

/** One evaluated model: "sft", "ppo_<row id>", "dpo_beta_<β>" (dialogue) or "dpo_iter_beta_<β>" (code). */
export interface FactorRecord {
  testbed: FactorTestbed;
  seed: number;
  method: string;
  /** Dialogue: the evaluation RM's mean score and the gold HH utility over the judge prompts' samples. */
  evalReward?: number;
  goldUtility?: number;
  /** Code: pass@k per tier on the APPS-style test split (k as strings, tiers and `average`), and outcome shares. */
  apps?: { passAtK: Record<string, Record<string, number>>; outcomes: Record<Outcome, number> };
  /** Code, Table 3's rows: pass@k on the contest test split. */
  contest?: { passAtK: Record<string, Record<string, number>> };
  seconds: number;
}

/** A PPO row as the summary records it. */
export interface FactorRowRecord {
  testbed: FactorTestbed;
  id: string;
  parent?: string;
  changes: string[];
  uses: string[];
  /** The resolved config (without the seed), checked against its parent's before any run. */
  config: Omit<PpoConfig, "seed">;
}

/** summary.json of a ppo-factors run. */
export interface PpoFactorsSummary {
  experiment: "ppo-factors";
  scale: string;
  seeds: number[];
  testbeds: FactorTestbed[];
  /** The model size per testbed. */
  presets: Partial<Record<FactorTestbed, string>>;
  /** The factor settings per testbed (rollouts, batch sizes, refEmaKeep, betas, batchSweep). */
  factors: Record<string, unknown>;
  rows: FactorRowRecord[];
  /** APPS pass@k's k, contest pass@k's k, and the dialogue judge prompts × samples scored. */
  eval: { appsKs: number[]; contestKs: number[]; dialoguePrompts: number; dialogueSamples: number };
  records: FactorRecord[];
  timings: Record<string, number>;
  choices: { key: string; value: unknown; doc: string }[];
}

/** A metric of a record: "evalReward", "goldUtility", "apps:<k>:<tier>" or "contest:<k>"; undefined if absent. */
export function metricOf(r: FactorRecord, metric: string): number | undefined {
  const [kind, k, tier] = metric.split(":");
  if (kind === "evalReward") return r.evalReward;
  if (kind === "goldUtility") return r.goldUtility;
  if (kind === "apps") return r.apps?.passAtK[k]?.[tier];
  if (kind === "contest") return r.contest?.passAtK[k]?.mean;
  throw new RangeError(`ppo-factors: unknown metric '${metric}'`);
}

/** The (seed, value) pairs of one method's metric, in seed order. */
function values(s: PpoFactorsSummary, testbed: FactorTestbed, method: string, metric: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of s.records) {
    if (r.testbed !== testbed || r.method !== method) continue;
    const v = metricOf(r, metric);
    if (v !== undefined && Number.isFinite(v)) out.set(r.seed, v);
  }
  return out;
}

/** The interval over seeds of a metric; null when no seed has it. */
export function over(s: PpoFactorsSummary, testbed: FactorTestbed, method: string, metric: string): Interval | null {
  const v = [...values(s, testbed, method, metric).values()];
  return v.length ? tInterval(v) : null;
}

/** The interval of the paired difference a − b over the seeds both have; null when none. */
export function paired(
  s: PpoFactorsSummary,
  testbed: FactorTestbed,
  a: string,
  b: string,
  metric: string,
): Interval | null {
  const va = values(s, testbed, a, metric), vb = values(s, testbed, b, metric);
  const d = [...va].filter(([seed]) => vb.has(seed)).map(([seed, x]) => x - vb.get(seed)!);
  return d.length ? tInterval(d) : null;
}

export type { Interval };

/**
 * The interval over seeds of `f` applied to each seed's values of the named methods (a seed missing any is left
 * out); e.g. the gain of one factor minus another's, paired by seed. Null when no seed has them all.
 */
export function pairedBy(
  s: PpoFactorsSummary,
  testbed: FactorTestbed,
  methods: readonly string[],
  metric: string,
  f: (v: number[]) => number,
): Interval | null {
  const maps = methods.map((m) => values(s, testbed, m, metric));
  const seeds = [...maps[0].keys()].filter((seed) => maps.every((m) => m.has(seed)));
  const d = seeds.map((seed) => f(maps.map((m) => m.get(seed)!)));
  return d.length ? tInterval(d) : null;
}
