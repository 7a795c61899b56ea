/**
 * Plumbing shared by the preference trainers (reward model, DPO, iterative DPO, RRHF, PRO): the learning-rate
 * schedule, loss statistics summed on the GPU and read only at logging steps, a metrics log that writes to a run
 * directory and drives a progress bar, and {@link UpdateLoop}, the one-submit-per-step optimiser loop they all run.
 * PPO and GRPO use the schedule, the statistics and the log too.
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
import { AdamW } from "../nn/adamw.ts";
import type { Gpt } from "../nn/gpt.ts";
import type { GptWorkspace } from "../nn/gpt_workspace.ts";
import { cosineSchedule, type Schedule, warmupStepsFor } from "../nn/schedule.ts";
import { opt } from "../util/config.ts";
import { type Progress, progress } from "../util/progress.ts";
import type { MetricRow, RunDir } from "../util/run_dir.ts";
import { BatchBuffers } from "./batch.ts";
import { gptTrainFlops } from "./flops.ts";

/** The optimizer fields every preference trainer's config has. */
export interface OptimFields {
  lr: number;
  warmupProportion: number;
  minLrRatio: number;
}

/**
 * The schedule and weight-decay fields of a trainer's config with ReaLHF's defaults (PAPER.md §9.2
 * `OptimizerConfig`); each trainer puts its own `lr` (scaled for its models, with its reasons) before them.
 */
export const SCHEDULE_FIELDS = {
  warmupProportion: opt(0.02, "Linear warm-up share of the steps (ReaLHF warmup_steps_proportion)", { min: 0, max: 1 }),
  minLrRatio: opt(0, "Cosine decay ends at this fraction of lr (ReaLHF min_lr_ratio)", { min: 0, max: 1 }),
  weightDecay: opt(0.05, "AdamW weight decay (ReaLHF 0.05; betas, eps and clipping: nn/adamw.ts)", { min: 0 }),
};

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

/** The settings {@link UpdateLoop} reads; every preference trainer's config has them. */
export interface UpdateLoopFields extends OptimFields {
  weightDecay: number;
  /** Passes over the data set. */
  epochs: number;
  /** Steps between metric rows. */
  logEvery: number;
}

/** One update's loss: records forward, loss and backward into the model's gradients, and its stats vector. */
export interface StepRecorder {
  readonly stats: Tensor<"f32">;
  record(enc: StepEncoder, model: Gpt, ws: GptWorkspace, batch: BatchBuffers): void;
}

/**
 * The update loop of the preference trainers: AdamW over `model` with ReaLHF's schedule ({@link lrSchedule}) over
 * max(1, ⌊epochs · items / perStep⌋) steps (a batch may span two epochs), one workspace and one set of batch buffers
 * of `rows` x `width` made once, and {@link update}, which records a whole step into one submit (zero the gradients,
 * the recorder's forward, loss and backward, AdamW, the stats summed on the GPU) and reads back only at logging steps.
 * The trainer keeps its data order and writes each step's batch into {@link bufs} (and any per-step inputs of its
 * recorder) before calling {@link update}.
 *
 * @example
 * ```ts
 * const loop = new UpdateLoop(policy, dpoStep, { config: cfg, items: N, perStep: P, rows: 2 * P, width,
 *   stats: PREFERENCE_STATS, label: "dpo" });
 * for (let step = 1; step <= loop.totalSteps; step++) {
 *   loop.bufs.write(fixedWidth(tok, pairRows(order.take(P).map((i) => pairs[i])), width));
 *   await loop.update(step, (m) => ({ "losses/dpo": m.loss }));
 * }
 * loop.destroy();
 * ```
 */
export class UpdateLoop {
  readonly totalSteps: number;
  readonly lr: Schedule;
  readonly opt: AdamW;
  readonly ws: GptWorkspace; // [rows, width]
  readonly bufs: BatchBuffers; // [rows, width] the step's batch, written by the trainer
  readonly log: TrainLog;
  readonly #acc: StatsAccumulator;
  readonly #flops: number; // per step (algorithms/flops.ts)
  readonly #label: string;
  readonly #logEvery: number;
  #steps = 0; // since the last metric row
  #t0: number | null = null;

  constructor(readonly model: Gpt, readonly recorder: StepRecorder, o: {
    config: UpdateLoopFields;
    /** Items in the data set (pairs, groups) and per step. */
    items: number;
    perStep: number;
    /** Sequences per step and their width. */
    rows: number;
    width: number;
    /** Names of the recorder's stats. */
    stats: readonly string[];
    /** Labels the GPU buffers (`<label>.batch`) and the step's encoder (`<label> step`). */
    label: string;
    /** The progress bar's name (default `label`). */
    task?: string;
    run?: RunDir;
  }) {
    const cfg = o.config;
    this.totalSteps = Math.max(1, Math.floor((cfg.epochs * o.items) / o.perStep));
    this.lr = lrSchedule(cfg, this.totalSteps);
    this.opt = new AdamW(model.params, { weightDecay: cfg.weightDecay });
    this.ws = model.workspace(o.rows, o.width);
    this.bufs = new BatchBuffers(model.gpu, o.rows, o.width, `${o.label}.batch`);
    this.#acc = new StatsAccumulator(model.gpu, o.stats);
    this.log = new TrainLog(o.task ?? o.label, this.totalSteps, o.run);
    this.#flops = gptTrainFlops(model.config, o.rows, o.width);
    [this.#label, this.#logEvery] = [o.label, cfg.logEvery];
  }

  /**
   * Records and submits update `step` (1-based; learning rate lr(step)). At a logging step (every `logEvery` and the
   * last) logs, as row `logStep`, `metrics` of the stats' means since the last row, then the gradient norm, the
   * learning rate and the throughput since the last row (timed from the first update).
   */
  async update(
    step: number,
    metrics: (means: Record<string, number>) => Record<string, number>,
    logStep = step,
  ): Promise<void> {
    this.#t0 ??= performance.now();
    const { opt, bufs, ws } = this;
    const enc = this.model.gpu.encoder(`${this.#label} step`);
    opt.zeroGrad(enc);
    this.recorder.record(enc, this.model, ws, bufs);
    opt.step(enc, { lr: this.lr(step) });
    this.#acc.add(enc, this.recorder.stats);
    this.#steps++;
    const logging = step % this.#logEvery === 0 || step === this.totalSteps;
    const means = logging ? this.#acc.take(enc) : null;
    const norm = logging ? enc.read(opt.gradNorm) : null;
    await enc.submit();
    if (!means) return;
    const m = await means, secs = (performance.now() - this.#t0) / 1000;
    await this.log.log(logStep, {
      ...metrics(m),
      "losses/grad_norm": (await norm!)[0],
      "charts/lr": this.lr(step),
      "perf/tokens_per_s": (this.#steps * bufs.b * bufs.t) / secs,
      "perf/gflops": (this.#steps * this.#flops) / secs / 1e9,
    }, `loss=${m.loss.toFixed(3)}`);
    [this.#steps, this.#t0] = [0, performance.now()];
  }

  /** Frees the workspace, the batch buffers and the stats sum (not the model or the recorder). */
  destroy(): void {
    this.ws.destroy();
    this.bufs.destroy();
    this.#acc.destroy();
  }
}
