/**
 * Pieces every experiment script shares (experiments/code.ts, safety.ts, dialogue.ts): timing a phase into the
 * run's timings, logging a trainer's rows tagged with their phase, and the settings the report lists.
 * @module
 */
import { fields, type Schema } from "../util/config.ts";
import type { MetricRow, RunDir } from "../util/run_dir.ts";

/** Times `f` into `timings[key]` (seconds, summed over calls). */
export async function timeInto<T>(timings: Record<string, number>, key: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    timings[key] = (timings[key] ?? 0) + (performance.now() - t0) / 1000;
  }
}

/** Logs a trainer's rows into the run's metrics, each tagged (`phase`, `seed`, ...). */
export async function logPhaseRows(run: RunDir, tags: Record<string, string | number>, rows: MetricRow[]) {
  for (const r of rows) await run.log(r.step, { ...tags, ...r });
}

/**
 * The settings the report lists: the experiment's own, and those of an algorithm section (`algorithms`, e.g.
 * ["sft", "ppo"]) that differ from the algorithm's default (this experiment's choices; the rest are the algorithms'
 * documented defaults).
 */
export function reportedChoices(
  schema: Schema,
  cfg: object,
  algorithms: readonly string[],
): { key: string; value: unknown; doc: string }[] {
  return fields(schema).flatMap(([key, f]) => {
    const value = key.split(".").reduce((o: unknown, k) => (o as Record<string, unknown>)[k], cfg);
    const algorithm = algorithms.includes(key.split(".")[0]);
    return algorithm && JSON.stringify(value) === JSON.stringify(f.value) ? [] : [{ key, value, doc: f.doc }];
  });
}
