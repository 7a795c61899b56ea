/**
 * The settings of `deno task safety` (experiments/safety.ts) and its scale presets. Every choice the paper leaves
 * open says so in its doc, with the reason; the report lists them.
 * @module
 */
import { DPO_SCHEMA } from "../algorithms/dpo.ts";
import { ITERATIVE_DPO_SCHEMA } from "../algorithms/iterative_dpo.ts";
import { PPO_SCHEMA } from "../algorithms/ppo.ts";
import { REWARD_MODEL_SCHEMA } from "../algorithms/reward_model.ts";
import { SFT_SCHEMA } from "../algorithms/sft.ts";
import { type ConfigOf, mergeOverrides, opt, type Overrides } from "../util/config.ts";
import type { Scale } from "../util/cli.ts";

/** Every setting of the safety experiment. */
export const SAFETY_SCHEMA = {
  seeds: opt(3, "Seeds; each retrains every model after the base (ours; >= 3 for an interval)", { int: true, min: 1 }),
  seed0: opt(1, "Seed of the first run; run i uses seed0 + i; the base of each size uses seed0", { int: true }),
  presets: opt("xs", "Model sizes, comma-separated (Table 6's two LLMs: ours are two sizes, the first is Table 2's)"),
  table6Methods: opt(
    true,
    "At the second size, only Table 6's methods (SFT, DPO, DPO-Iter, PPO) run; the first runs every row",
  ),
  testbed: {
    seed: opt(1, "Seed of the world and its data: fixed across run seeds, as SafeRLHF is one data set", { int: true }),
    pairs: opt(3000, "Preference pairs (SafeRLHF: ~30k; ours scaled to the models)", { int: true, min: 10 }),
    alpacaExamples: opt(2000, "Alpaca SFT examples (benign, one style, never refusing)", { int: true, min: 1 }),
    trainPrompts: opt(1000, "PPO's and DPO-Iter's prompt-only set (training requests, half harmful)", {
      int: true,
      min: 1,
    }),
    evalPrompts: opt(200, "Held-out evaluation prompts (test requests, half harmful, as red-team-heavy SafeRLHF)", {
      int: true,
      min: 1,
    }),
    heldoutPairs: opt(0.05, "Share of the pairs held out to measure the reward model's accuracy", {
      min: 0.01,
      max: 0.5,
    }),
  },
  corpus: {
    train: opt(20000, "Pretraining documents of the base (facts and dialogues by the corpus generators)", {
      int: true,
      min: 1,
    }),
    heldout: opt(256, "Held-out pretraining documents", { int: true, min: 1 }),
  },
  base: SFT_SCHEMA,
  sftAlpaca: SFT_SCHEMA,
  sftSafe: SFT_SCHEMA,
  rm: REWARD_MODEL_SCHEMA,
  ppo: PPO_SCHEMA,
  dpo: DPO_SCHEMA,
  dpoIter: ITERATIVE_DPO_SCHEMA,
  eval: {
    samples: opt(2, "Responses sampled per evaluation prompt", { int: true, min: 1 }),
    maxNewTokens: opt(18, "Most tokens of a response, EOS included (the longest data response is 16)", {
      int: true,
      min: 1,
    }),
    temperature: opt(1, "Sampling temperature of evaluation (paper A.2's rollout temperature; ours)", { min: 0 }),
    beaverSamples: opt(8, "Samples per prompt of the scripted Beaver baseline (ΔHelp. is relative to it)", {
      int: true,
      min: 1,
    }),
    keep: opt(3, "Responses kept per method in samples/ for harmful and for benign prompts", { int: true, min: 0 }),
    batch: opt(256, "Sequences per sampler call", { int: true, min: 1 }),
  },
};

/** The resolved config. */
export type SafetyConfig = ConfigOf<typeof SAFETY_SCHEMA>;

/**
 * The experiment's own settings on top of the algorithms' defaults (ours where the paper is silent, scaled to what a
 * 2-core CPU runs in the issue's 20 minutes):
 * - ctx 32 everywhere: BOS + prompt (≤ 7) + SEP + response (≤ 18 with EOS) fit;
 * - the base reads 3000 × 32 documents (about five passes over the 20 000; at 1500 the `xs` SFT (Alpaca) model still
 *   got most test facts wrong);
 * - SFT (Alpaca) 300 steps on the Alpaca data; SFT (Safe) 200 more on the safe responses of the preference data;
 * - the reward model starts from SFT (Alpaca) (ReaLHF builds it from the SFT model), 2 epochs (ReaLHF rw.sh);
 * - PPO: 64 rollouts × 20 iterations, 4 mini-batches, the critic from the reward model (paper A.2: 512 per batch,
 *   5 epochs of prompts);
 * - DPO: 2 epochs (Appendix A.1: 2 for SafeRLHF);
 * - DPO-Iter: 4 rounds (Table 2) of 128 prompts × 5 samples (the paper does not give the samples for SafeRLHF; 5 as
 *   on APPS), best vs worst by the reward model, one DPO epoch per round.
 */
const COMMON: Overrides<typeof SAFETY_SCHEMA> = {
  base: { ctx: 32, steps: 3000, batchSize: 32, logEvery: 50, evalEvery: 500, checkpointEvery: 1000 },
  sftAlpaca: { ctx: 32, steps: 300, batchSize: 32, logEvery: 50, evalEvery: 100, checkpointEvery: 300 },
  sftSafe: { ctx: 32, steps: 200, batchSize: 32, logEvery: 50, evalEvery: 100, checkpointEvery: 200 },
  rm: { model: { ctx: 32 }, epochs: 2, batchPairs: 32, logEvery: 20 },
  ppo: { generation: { maxNewTokens: 18 }, batchSize: 64, iterations: 20, maxPromptLen: 9 },
  dpo: { epochs: 2, batchPairs: 32 },
  dpoIter: { maxNewTokens: 18, rounds: 1, promptsPerRound: 128, dpo: { epochs: 1, batchPairs: 32 } },
};

/** tiny: about a minute for CI; small: the default; full: two sizes, more seeds (a GPU). */
export const SAFETY_SCALES: Record<Scale, Overrides<typeof SAFETY_SCHEMA>> = {
  tiny: mergeOverrides(COMMON, {
    seeds: 2,
    testbed: { pairs: 200, alpacaExamples: 64, trainPrompts: 64, evalPrompts: 16 },
    corpus: { train: 256, heldout: 16 },
    base: { steps: 20, batchSize: 16, logEvery: 10, evalEvery: 20, checkpointEvery: 20 },
    sftAlpaca: { steps: 10, batchSize: 16, logEvery: 5, evalEvery: 10, checkpointEvery: 10 },
    sftSafe: { steps: 10, batchSize: 16, logEvery: 5, evalEvery: 10, checkpointEvery: 10 },
    rm: { epochs: 1, batchPairs: 16, logEvery: 5 },
    ppo: { iterations: 2, batchSize: 16 },
    dpo: { epochs: 1, batchPairs: 16 },
    dpoIter: { promptsPerRound: 8, dpo: { batchPairs: 8 } },
    eval: { samples: 1, batch: 64, beaverSamples: 2 },
  }),
  small: COMMON,
  full: mergeOverrides(COMMON, { presets: "xs,s", seeds: 5 }),
};
