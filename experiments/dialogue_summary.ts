/**
 * What `deno task dialogue` writes in summary.json, and the statistics the report computes from it: the evaluation
 * reward per method over seeds, and win / tie / lose shares of the judge comparisons per seed, with intervals. Plain
 * TypeScript: the report (paper/sections/benchmarks.ts) reads these files, never the training script's memory.
 * @module
 */
import type { PairVerdict } from "../testbeds/assistant/mod.ts";
import { type Interval, tInterval } from "./synthetic_summary.ts";

/** The methods a run trains and evaluates; the `_helpful_base` rows are Table 12's. */
export const DIALOGUE_METHODS = [
  "sft",
  "rrhf",
  "pro",
  "dpo",
  "dpo_iter",
  "ppo",
  "ppo_helpful_base",
  "dpo_helpful_base",
] as const;
export type DialogueMethod = typeof DIALOGUE_METHODS[number];

/** One method's scores on the judge prompts. */
export interface DialogueRecord {
  seed: number;
  method: DialogueMethod;
  /** Mean evaluation-RM score (the OpenAssistant reward stand-in). */
  evalReward: number;
  /** Mean gold HH utility (helpfulness minus harm) of the same responses. */
  goldUtility: number;
}

/** One judged comparison of `a` against `b` on every judge prompt. */
export interface Comparison {
  seed: number;
  a: string;
  b: string;
  /** The pairwise judge, asked twice with positions swapped ("a": a won both times). */
  judge: PairVerdict[];
  /** The noise-free gold judge on the same pairs. */
  gold: PairVerdict[];
}

/** summary.json of a dialogue run. */
export interface DialogueSummary {
  experiment: "dialogue";
  scale: string;
  preset: string;
  seeds: number[];
  evalRm: {
    heldoutAccuracy: number | null;
    heldoutMargin: number | null;
    chosenScoreMean: number;
    trainPairs: number;
    sharesATrainingPrompt: boolean;
  };
  judge: { temperature: number; positionBias: number };
  judgePrompts: number;
  testbed: Record<string, unknown>;
  records: DialogueRecord[];
  comparisons: Comparison[];
  timings: Record<string, number>;
  choices: { key: string; value: unknown; doc: string }[];
}

/** The evaluation reward (or gold utility) of one method over seeds; null when it was not run. */
export function rewardOver(s: DialogueSummary, m: DialogueMethod, key: "evalReward" | "goldUtility"): Interval | null {
  const v = s.records.filter((r) => r.method === m).map((r) => r[key]);
  return v.length ? tInterval(v) : null;
}

/** The paired difference a − b of the evaluation reward over seeds. */
export function rewardDiff(s: DialogueSummary, a: DialogueMethod, b: DialogueMethod): Interval | null {
  const rb = new Map(s.records.filter((r) => r.method === b).map((r) => [r.seed, r.evalReward]));
  const d = s.records.filter((r) => r.method === a && rb.has(r.seed)).map((r) => r.evalReward - rb.get(r.seed)!);
  return d.length ? tInterval(d) : null;
}

/** Win / tie / lose shares of `a` against `b` over seeds (by the pairwise judge or the gold one), and win − lose. */
export function winTieLoseOver(s: DialogueSummary, a: string, b: string, by: "judge" | "gold") {
  const cs = s.comparisons.filter((c) => c.a === a && c.b === b);
  if (cs.length === 0) return null;
  const share = (c: Comparison, v: PairVerdict) => c[by].filter((x) => x === v).length / c[by].length;
  return {
    win: tInterval(cs.map((c) => share(c, "a"))),
    tie: tInterval(cs.map((c) => share(c, "tie"))),
    lose: tInterval(cs.map((c) => share(c, "b"))),
    net: tInterval(cs.map((c) => share(c, "a") - share(c, "b"))),
    /** Share of pairs where the pairwise judge's verdict equals the gold one (Table 14's agreement). */
    agreement: tInterval(cs.map((c) => c.judge.filter((v, i) => v === c.gold[i]).length / c.judge.length)),
  };
}

export type { Interval };
