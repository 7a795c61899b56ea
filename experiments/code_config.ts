/**
 * The settings of `deno task code` (experiments/code.ts) and its scale presets. Every choice the paper leaves open
 * says so in its doc, with the reason; the report lists them.
 * @module
 */
import { DPO_SCHEMA } from "../algorithms/dpo.ts";
import { ITERATIVE_DPO_SCHEMA } from "../algorithms/iterative_dpo.ts";
import { PPO_SCHEMA } from "../algorithms/ppo.ts";
import { SFT_SCHEMA } from "../algorithms/sft.ts";
import type { CodeTestbedOptions } from "../testbeds/code/mod.ts";
import type { CodeEvalSettings } from "./code_eval.ts";
import { type ConfigOf, mergeOverrides, opt, type Overrides } from "../util/config.ts";
import type { Scale } from "../util/cli.ts";

/** Every setting of the code experiment. */
export const CODE_SCHEMA = {
  seeds: opt(3, "Seeds; each retrains SFT and every method from the size's base (ours; >= 3 for an interval)", {
    int: true,
    min: 1,
  }),
  seed0: opt(1, "Seed of the first run; run i uses seed0 + i; the base of each size uses seed0", { int: true }),
  presets: opt(
    "xs,s",
    "Model sizes, comma-separated: xs, s, m stand in for CodeLlama 7B, 13B, 34B (Table 7; m at full only)",
  ),
  table9Preset: opt<"xs" | "s" | "m" | "none">(
    "s",
    "Size whose PPO and DPO-Iter are rerun with the base as reference (Table 9: the paper's 13B, our middle size)",
    { choices: ["xs", "s", "m", "none"] },
  ),
  testbed: {
    seed: opt(1, "Seed of the problem set: fixed across run seeds, as APPS is one data set (ours)", { int: true }),
    appsTrain: opt(2000, "APPS-style training problems (the SFT data and the RL prompts)", { int: true, min: 1 }),
    appsTest: opt(200, "APPS-style test problems, tiers 1 : 3 : 1 as APPS's test split", { int: true, min: 5 }),
    contestTrain: opt(500, "Contest training problems (DPO's correct-vs-incorrect pairs; also RL prompts)", {
      int: true,
      min: 1,
    }),
    contestValidation: opt(60, "Contest validation problems (Table 8)", { int: true, min: 1 }),
    contestTest: opt(60, "Contest test problems (Table 8)", { int: true, min: 1 }),
  },
  corpus: {
    train: opt(20000, "Random programs with their examples that pretrain the base (ours)", { int: true, min: 1 }),
    heldout: opt(256, "Held-out random programs for the base's held-out loss", { int: true, min: 1 }),
  },
  base: SFT_SCHEMA,
  sft: SFT_SCHEMA,
  ppo: PPO_SCHEMA,
  dpoIter: ITERATIVE_DPO_SCHEMA,
  dpo: DPO_SCHEMA,
  eval: {
    samples: opt(10, "Programs sampled per APPS-style test problem: n of pass@k (paper: unstated for pass@5)", {
      int: true,
      min: 1,
    }),
    ks: opt([1, 5, 10], "The k of pass@k reported on the APPS-style split (Table 7: 5)"),
    contestSamples: opt(50, "Programs per contest problem: the n of 10@n (paper: n = 1000, AlphaCode's)", {
      int: true,
      min: 1,
    }),
    contestKs: opt([1, 10, 50], "The k of pass@k reported on the contest splits (Table 3 has 10, 100, 1k)"),
    submissions: opt(10, "Submissions k of k@n (Table 8: 10)", { int: true, min: 1 }),
    maxNewTokens: opt(24, "Most tokens of a program, EOS included (ours: twice the longest reference)", {
      int: true,
      min: 1,
    }),
    temperature: opt(1, "Sampling temperature of evaluation (paper A.2's rollout temperature; ours for eval)", {
      min: 0,
    }),
    topK: opt(0, "Top-k of evaluation sampling (0 = off: the full distribution pass@k assumes)", { int: true, min: 0 }),
    keep: opt(2, "Programs kept per problem in samples/ (the first ones drawn)", { int: true, min: 0 }),
    batch: opt(256, "Sequences per sampler call (KV-cache memory)", { int: true, min: 1 }),
  },
};

/** The resolved config. */
export type CodeConfig = ConfigOf<typeof CODE_SCHEMA>;

/** The sampling and scoring settings of evaluateCode (experiments/code_eval.ts) on the APPS-style or contest set. */
export function evalSettings(e: CodeConfig["eval"], set: "apps" | "contest"): CodeEvalSettings {
  const samples = set === "apps" ? e.samples : e.contestSamples;
  const ks = (set === "apps" ? e.ks : e.contestKs).filter((k) => k <= samples);
  const { submissions, maxNewTokens, temperature, topK, keep } = e;
  return { samples, ks, submissions, maxNewTokens, temperature, topK, keep };
}

/** The testbed's options from the config (the difficulty settings stay at the testbed's defaults: they were set
 * before any method was compared, see testbeds/code/options.ts). */
export function testbedOptions(cfg: CodeConfig): Partial<CodeTestbedOptions> {
  const { seed, appsTrain, appsTest, contestTrain, contestValidation, contestTest } = cfg.testbed;
  return { seed, appsTrain, appsTest, contestTrain, contestValidation, contestTest };
}

/**
 * The code experiment's own settings on top of the algorithms' defaults (applied at every scale; each is ours where
 * the paper is silent, and scaled to what a 2-core CPU runs in the issue's 20 minutes):
 * - ctx 64 at every size: BOS + prompt (≤ 38 words) + SEP + program (≤ 24 with EOS) fit, a longer one only costs;
 * - the base reads 3000 × 32 corpus programs (about five passes over the 20 000): with 600 steps the `xs` base had
 *   not learned to read the examples (its loss was the unconditional one), with 3000 it solves introductory
 *   problems (`deno task code:calibrate`);
 * - programs up to 24 tokens (the longest reference is about 21);
 * - PPO: 64 rollouts × 16 iterations, 4 mini-batches (paper A.2: 512 per batch, 5 epochs of APPS; §5 ablates this);
 * - DPO-Iter: 2 rounds of 96 prompts × 5 samples (the paper: 5 samples per prompt; rounds not stated for code);
 * - DPO: one epoch of the contest pairs (Appendix A.1: 1 epoch for code).
 */
const COMMON: Overrides<typeof CODE_SCHEMA> = {
  base: { ctx: 64, steps: 3000, batchSize: 32, logEvery: 20, evalEvery: 500, checkpointEvery: 1000 },
  sft: { ctx: 64, steps: 200, batchSize: 32, logEvery: 20, evalEvery: 100, checkpointEvery: 200 },
  ppo: { generation: { maxNewTokens: 24 }, batchSize: 64, iterations: 16 },
  dpoIter: { maxNewTokens: 24, rounds: 2, promptsPerRound: 96, dpo: { epochs: 1 } },
  dpo: { epochs: 1 },
};

/** tiny: about a minute for CI; small: the default; full: m too, more seeds and steps (a GPU). */
export const CODE_SCALES: Record<Scale, Overrides<typeof CODE_SCHEMA>> = {
  tiny: mergeOverrides(COMMON, {
    seeds: 2,
    presets: "xs",
    table9Preset: "xs",
    testbed: { appsTrain: 64, appsTest: 10, contestTrain: 16, contestValidation: 4, contestTest: 4 },
    corpus: { train: 256, heldout: 16 },
    base: { steps: 20, batchSize: 16, logEvery: 10, evalEvery: 20, checkpointEvery: 20 },
    sft: { steps: 10, batchSize: 16, logEvery: 5, evalEvery: 10, checkpointEvery: 10 },
    ppo: { iterations: 2, batchSize: 16 },
    dpoIter: { rounds: 1, promptsPerRound: 8, dpo: { batchPairs: 8 } },
    dpo: { batchPairs: 8 },
    eval: { samples: 5, ks: [1, 5], contestSamples: 10, contestKs: [1, 10], batch: 64 },
  }),
  // small runs xs only: s is 5-8x slower per step than xs on llvmpipe, its base alone would take most of an hour, and
  // the whole of small must stay within 20 minutes on a 2-core CPU. s and m run at full.
  small: mergeOverrides(COMMON, {
    presets: "xs",
    table9Preset: "xs",
    testbed: { contestTrain: 200 },
    eval: { contestSamples: 20, contestKs: [1, 10, 20] },
  }),
  full: mergeOverrides(COMMON, { presets: "xs,s,m", seeds: 5, table9Preset: "s" }),
};
