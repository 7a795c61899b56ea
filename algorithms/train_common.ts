/**
 * Plumbing shared by the preference trainers (reward model, DPO, iterative DPO, RRHF, PRO): the learning-rate
 * schedule, loss statistics summed on the GPU and read only at logging steps, and a metrics log
 * that writes to a run directory and drives a progress bar.
 *
 * @example
 * ```ts
 * const acc = new StatsAccumulator(gpu, PREFERENCE_STATS);
 * // each step, inside its encoder:
 * acc.add(enc, stats);
 * // at a logging step, in the same encoder:
 * const means = acc.take(enc);          // resolves after enc.submit(): { loss: ..., margin: ... } averaged over steps
 * ```
 * @module
 */
import { axpy } from "../kernels/elementwise.ts";
import type { StepEncoder } from "../kernels/encoder.ts";
import type { Gpu } from "../kernels/gpu.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { cosineSchedule, type Schedule, warmupStepsFor } from "../nn/schedule.ts";
import { type Progress, progress } from "../util/progress.ts";
import type { MetricRow, RunDir } from "../util/run_dir.ts";

/** The optimizer fields every preference trainer's config has. */
export interface OptimFields {
  lr: number;
  warmupProportion: number;
  minLrRatio: number;
}

/** ReaLHF's default schedule (PAPER.md §9.2 `OptimizerConfig`): linear warm-up, then cosine to minLrRatio·lr. */
export function lrSchedule(cfg: OptimFields, totalSteps: number): Schedule {
  return cosineSchedule({
    lr: cfg.lr,
    totalSteps,
    warmupSteps: warmupStepsFor(totalSteps, cfg.warmupProportion),
    minLrRatio: cfg.minLrRatio,
  });
}

/** A stats vector summed over steps on the GPU (no readback per step), averaged when read at a logging step. */
export class StatsAccumulator {
  readonly sum: Tensor<"f32">; // [names.length]
  #steps = 0;

  constructor(gpu: Gpu, readonly names: readonly string[], label = "stats.sum") {
    this.sum = gpu.tensor([names.length], "f32", label);
  }

  /** Records sum += stats. */
  add(enc: StepEncoder, stats: Tensor): void {
    if (stats.size !== this.names.length) {
      throw new RangeError(`StatsAccumulator: stats has ${stats.size} values, expected ${this.names.length}`);
    }
    axpy(enc, 1, stats, this.sum);
    this.#steps++;
  }

  /** Stages a read of the mean since the last take and records the reset; resolves after `enc` is submitted. */
  take(enc: StepEncoder): Promise<Record<string, number>> {
    const steps = this.#steps;
    const r = enc.read(this.sum);
    enc.zero(this.sum);
    this.#steps = 0;
    return r.then((v) => Object.fromEntries(this.names.map((n, i) => [n, steps > 0 ? v[i] / steps : NaN])));
  }

  destroy(): void {
    this.sum.destroy();
  }
}

/** Metrics rows kept in memory, appended to a run's metrics.jsonl when there is a run, with a progress bar. */
export class TrainLog {
  readonly rows: MetricRow[] = [];
  readonly #bar: Progress;

  constructor(task: string, readonly total: number, readonly run?: RunDir) {
    this.#bar = progress(task, total);
  }

  /** Records one row; `status` is a short text for the progress bar. */
  async log(step: number, metrics: Record<string, number>, status?: string): Promise<void> {
    this.rows.push({ step, ...metrics });
    if (this.run) await this.run.log(step, metrics);
    this.#bar.update(Math.min(step, this.total), status);
  }

  /** Moves the bar without logging. */
  tick(step: number): void {
    this.#bar.update(Math.min(step, this.total));
  }

  stop(): void {
    this.#bar.stop();
  }

  /** The last value of `key` logged, or NaN. */
  last(key: string): number {
    for (let i = this.rows.length - 1; i >= 0; i--) {
      const v = this.rows[i][key];
      if (typeof v === "number") return v;
    }
    return NaN;
  }
}
