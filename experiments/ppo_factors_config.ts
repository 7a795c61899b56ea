/**
 * The settings of `deno task ppo-factors` (experiments/ppo_factors.ts) and its scale presets. The testbeds, models,
 * reward models, PPO's other settings and the evaluation are those of `deno task code` and `deno task dialogue` at
 * the same scale (experiments/code_config.ts, dialogue_config.ts), so §5's rows start from the very SFT models §6
 * reports; this file holds only what §5 varies. Every choice the paper leaves open says so, with its reason.
 * @module
 */
import { type ConfigOf, mergeOverrides, opt, type Overrides } from "../util/config.ts";
import type { Scale } from "../util/cli.ts";

/** What the study varies on one testbed. */
const FACTORS = {
  rollouts: opt(
    1024,
    "Rollouts per PPO run, the same at every batch size: the paper trains a fixed number of epochs of its prompts, " +
      "so a larger batch takes proportionally fewer iterations (ours: the size a 2-core CPU affords)",
    { int: true, min: 1 },
  ),
  smallBatch: opt(16, "Table 3's baseline batch (paper: 64; ours keeps its 1 : 8 ratio to the large batch)", {
    int: true,
    min: 1,
  }),
  largeBatch: opt(128, "'+ Large batch' (paper: 512, Appendix A.2; 8 × the small batch as in the paper)", {
    int: true,
    min: 1,
  }),
  refEmaKeep: opt(
    0.5,
    "Share of the SFT weights left in the reference at the end of the '+ Ref. EMA' run: η = 1 − keep^(1/steps) " +
      "per actor step (the paper gives no η; ReaLHF's example η = 0.001 over the paper's ~640 APPS actor steps, " +
      "512 per batch, 4 mini-batches, 16 epochs of 5000 problems, keeps 0.999^640 ≈ 0.53)",
    { min: 0.001, max: 0.999 },
  ),
  betas: opt([0, 0.05, 0.1, 0.2], "Table 11's β of PPO's KL penalty; DPO's (and DPO-Iter's) are the non-zero ones"),
};

/** Every setting of the factor study. */
export const PPO_FACTORS_SCHEMA = {
  seeds: opt(3, "Seeds; each is one SFT model (the §6 experiment's of that seed) and every row's PPO run from it", {
    int: true,
    min: 1,
  }),
  seed0: opt(1, "Seed of the first run; as the code and dialogue experiments' seed0", { int: true }),
  testbeds: opt<"dialogue,code" | "dialogue" | "code">("dialogue,code", "Which testbeds to run", {
    choices: ["dialogue,code", "dialogue", "code"],
  }),
  codePreset: opt<"xs" | "s" | "m">(
    "xs",
    "Model size on code (the paper: Table 3 at 34B, Figure 2 and Table 11 at 13B; ours: the code experiment's " +
      "smallest size at small, s at full); dialogue uses the dialogue experiment's size",
    { choices: ["xs", "s", "m"] },
  ),
  dialogue: FACTORS,
  code: {
    ...FACTORS,
    batchSweep: opt(
      [16, 32, 64, 128],
      "Figure 2's batch sizes, each with advantage normalisation and a fixed reference, the rollout budget fixed " +
        "(the paper's sizes are not recoverable; ours span the small to the large batch)",
    ),
  },
};

/** The resolved config. */
export type PpoFactorsConfig = ConfigOf<typeof PPO_FACTORS_SCHEMA>;

/**
 * The budgets (rollouts) at `small`: dialogue 1024 (the dialogue experiment's PPO sees 1280), code 512 (the code
 * experiment's sees 1024; a code rollout costs about 3 times a dialogue one on llvmpipe, and code runs 9 PPO runs per
 * seed). Both testbeds use the small batch 16 and the large 128.
 */
const COMMON: Overrides<typeof PPO_FACTORS_SCHEMA> = { code: { rollouts: 512 } };

/** tiny: about a minute for CI; small: the default; full: more seeds and the paper's batch sizes (a GPU). */
export const PPO_FACTORS_SCALES: Record<Scale, Overrides<typeof PPO_FACTORS_SCHEMA>> = {
  tiny: mergeOverrides(COMMON, {
    seeds: 2,
    dialogue: { rollouts: 32, smallBatch: 4, largeBatch: 32 },
    code: { rollouts: 32, smallBatch: 4, largeBatch: 32, batchSweep: [4, 8, 16, 32] },
  }),
  small: COMMON,
  full: mergeOverrides(COMMON, {
    seeds: 5,
    codePreset: "s",
    dialogue: { rollouts: 8192, smallBatch: 64, largeBatch: 512 },
    code: { rollouts: 8192, smallBatch: 64, largeBatch: 512, batchSweep: [64, 128, 256, 512] },
  }),
};
