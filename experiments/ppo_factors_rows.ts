/**
 * The PPO runs of §5's study as data: Table 3's cumulative rows, Figure 2's batch sizes and Table 11's β values,
 * each a resolved PPO config built from its parent row by changing only its factor, and the check that this holds
 * on the resolved configs (every key that differs from the parent is one the row declares).
 *
 * With the rollout budget fixed (experiments/ppo_factors_config.ts), a batch size comes with its iteration count
 * (rollouts / batch), so the batch factor changes both `batchSize` and `iterations`.
 *
 * @example
 * ```ts
 * const rows = ppoRows(cfg.ppo, factors);      // baseline, adv_norm, large_batch, ref_ema, batch_32, beta_0, ...
 * checkRowDiffs(rows);                          // throws naming the row and the key if a row changes more
 * ```
 * @module
 */
import type { PpoConfig } from "../algorithms/ppo.ts";
import { ConfigError } from "../util/config.ts";

/** One PPO run of the study. */
export interface PpoRow {
  /** "baseline", "adv_norm", "large_batch", "ref_ema", "batch_32", "beta_0.05", ... */
  id: string;
  /** The row it differs from by its factor (none for the baseline). */
  parent?: string;
  /** The config keys (dotted) its factor changes. */
  changes: string[];
  /** What reports it: Table 3's cumulative rows, Figure 2's sweep, Table 11's β. */
  uses: ("table3" | "figure2" | "table11")[];
  config: PpoConfig;
}

/** What {@link ppoRows} varies (one testbed's section of the config). */
export interface Factors {
  rollouts: number;
  smallBatch: number;
  largeBatch: number;
  refEmaKeep: number;
  betas: readonly number[];
  batchSweep?: readonly number[];
}

/** The reference EMA η per actor step that leaves `keep` of the SFT weights after `steps` steps. */
export function emaEta(keep: number, steps: number): number {
  return 1 - Math.pow(keep, 1 / steps);
}

/** Every PPO row on one testbed from the experiment's PPO config `base` (seed and the rest kept). */
export function ppoRows(base: PpoConfig, f: Factors, where = "ppo-factors"): PpoRow[] {
  const batches = [f.smallBatch, f.largeBatch, ...(f.batchSweep ?? [])];
  for (const b of batches) {
    if (f.rollouts % b !== 0) {
      throw new ConfigError(`${where}: rollouts ${f.rollouts} is not a multiple of the batch size ${b}`);
    }
    if (b % base.minibatches !== 0) {
      throw new ConfigError(`${where}: batch size ${b} is not a multiple of ppo.minibatches ${base.minibatches}`);
    }
  }
  if (f.largeBatch <= f.smallBatch) {
    throw new ConfigError(`${where}: largeBatch ${f.largeBatch} must exceed smallBatch ${f.smallBatch}`);
  }
  const withBatch = (c: PpoConfig, b: number): PpoConfig => ({ ...c, batchSize: b, iterations: f.rollouts / b });
  const rows: PpoRow[] = [];
  const add = (id: string, parent: string | undefined, changes: string[], uses: PpoRow["uses"], config: PpoConfig) =>
    rows.push({ id, parent, changes, uses, config });
  const baseline = withBatch({ ...base, advNorm: false, refEmaEta: 0 }, f.smallBatch);
  add("baseline", undefined, [], ["table3"], baseline);
  const advNorm = { ...baseline, advNorm: true };
  const sweep: PpoRow["uses"] = f.batchSweep?.length ? ["figure2"] : [];
  add("adv_norm", "baseline", ["advNorm"], ["table3", ...sweep], advNorm);
  const large = withBatch(advNorm, f.largeBatch);
  add("large_batch", "adv_norm", ["batchSize", "iterations"], ["table3", ...sweep], large);
  const ema = { ...large, refEmaEta: emaEta(f.refEmaKeep, large.iterations * large.minibatches) };
  add("ref_ema", "large_batch", ["refEmaEta"], ["table3", "table11"], ema);
  for (const b of f.batchSweep ?? []) {
    if (b === f.smallBatch || b === f.largeBatch) continue;
    add(`batch_${b}`, "adv_norm", ["batchSize", "iterations"], ["figure2"], withBatch(advNorm, b));
  }
  for (const beta of f.betas) {
    if (beta === ema.reward.klCoef) continue;
    add(`beta_${beta}`, "ref_ema", ["reward.klCoef"], ["table11"], { ...ema, reward: { ...ema.reward, klCoef: beta } });
  }
  return rows;
}

/** The dotted keys whose values differ between two configs. */
export function diffKeys(a: unknown, b: unknown, prefix = ""): string[] {
  const isObj = (x: unknown) => typeof x === "object" && x !== null && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
    return keys.flatMap((k) =>
      diffKeys((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k)
    );
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix];
}

/** Throws unless each row differs from its parent in exactly the keys it declares (on the resolved configs). */
export function checkRowDiffs(rows: readonly PpoRow[]): void {
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const r of rows) {
    if (!r.parent) continue;
    const parent = byId.get(r.parent);
    if (!parent) throw new RangeError(`PPO row ${r.id}: its parent ${r.parent} is not a row`);
    const got = diffKeys(parent.config, r.config), want = [...r.changes].sort();
    if (got.join() !== want.join()) {
      throw new RangeError(
        `PPO row ${r.id} differs from ${r.parent} in [${got.join(", ")}], not only in its factor [${want.join(", ")}]`,
      );
    }
  }
}
