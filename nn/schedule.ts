/**
 * Learning-rate schedules as pure functions of the step: constant, and cosine decay after a linear warm-up down to a
 * minimum-LR ratio (ReaLHF's `OptimizerConfig`: `lr_scheduler_type` "cosine", `warmup_steps_proportion` 0.02,
 * `min_lr_ratio` 0; PAPER.md §5.5).
 *
 * Steps are 1-based and count updates: `lr(t)` is the rate of the t-th update, the same t that AdamW's bias
 * correction uses. Warm-up is linear from lr/W at t = 1 to lr at t = W; the cosine then runs from t = W to
 * t = total and ends exactly at minLrRatio·lr; beyond `total` the rate stays at the minimum. (Megatron and Hugging
 * Face count from 0 and give the first update a rate of 0; counting from 1 spends no update at rate 0 during warm-up.)
 *
 * @example
 * ```ts
 * const lr = cosineSchedule({ lr: 1e-5, totalSteps: 1000, warmupSteps: warmupStepsFor(1000, 0.02), minLrRatio: 0 });
 * for (let t = 1; t <= 1000; t++) optimizer.step(enc, { lr: lr(t) });
 * ```
 * @module
 */

/** A learning rate as a function of the 1-based update count. */
export type Schedule = (step: number) => number;

/** A schedule as a config names it. */
export type ScheduleConfig =
  | { kind: "constant"; lr: number }
  | { kind: "cosine"; lr: number; totalSteps: number; warmupSteps: number; minLrRatio: number };

function checkStep(step: number): void {
  if (!Number.isInteger(step) || step < 1) {
    throw new RangeError(`Schedule step must be an integer >= 1 (steps count updates from 1), got ${step}`);
  }
}

function checkLr(lr: number): void {
  if (!(Number.isFinite(lr) && lr >= 0)) throw new RangeError(`Schedule lr must be a finite number >= 0, got ${lr}`);
}

/** The same rate at every step. */
export function constantSchedule(lr: number): Schedule {
  checkLr(lr);
  return (step) => {
    checkStep(step);
    return lr;
  };
}

/** Options of {@link cosineSchedule}. */
export interface CosineOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Number of updates the schedule spans; the last one gets minLrRatio·lr. */
  totalSteps: number;
  /** Updates of linear warm-up (0 for none), at most totalSteps. */
  warmupSteps: number;
  /** Final rate as a fraction of lr, in [0, 1]. */
  minLrRatio: number;
}

/** Linear warm-up to `lr` over `warmupSteps`, then a half cosine from lr to minLrRatio·lr at `totalSteps`. */
export function cosineSchedule({ lr, totalSteps, warmupSteps, minLrRatio }: CosineOptions): Schedule {
  checkLr(lr);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new RangeError(`Cosine schedule totalSteps must be an integer >= 1, got ${totalSteps}`);
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps > totalSteps) {
    throw new RangeError(
      `Cosine schedule warmupSteps must be an integer in [0, totalSteps = ${totalSteps}], got ${warmupSteps}`,
    );
  }
  if (!(minLrRatio >= 0 && minLrRatio <= 1)) {
    throw new RangeError(`Cosine schedule minLrRatio must be in [0, 1], got ${minLrRatio}`);
  }
  const minLr = lr * minLrRatio;
  return (step) => {
    checkStep(step);
    if (step <= warmupSteps) return (lr * step) / warmupSteps;
    if (step >= totalSteps) return minLr;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** Warm-up updates for a proportion of the run, rounded down as ReaLHF does (`int(proportion · total)`). */
export function warmupStepsFor(totalSteps: number, proportion: number): number {
  if (!(proportion >= 0 && proportion <= 1)) {
    throw new RangeError(`Warm-up proportion must be in [0, 1], got ${proportion}`);
  }
  return Math.floor(proportion * totalSteps);
}

/** The schedule a config names; an unknown kind is a TypeError naming it. */
export function makeSchedule(config: ScheduleConfig): Schedule {
  switch (config.kind) {
    case "constant":
      return constantSchedule(config.lr);
    case "cosine":
      return cosineSchedule(config);
    default:
      throw new TypeError(
        `Unknown schedule kind '${(config as { kind: unknown }).kind}'; expected 'constant' or 'cosine'`,
      );
  }
}
