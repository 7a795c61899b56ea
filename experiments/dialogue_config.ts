/**
 * The settings of `deno task dialogue` (experiments/dialogue.ts) and its scale presets. Every choice the paper leaves
 * open says so in its doc, with the reason; the report lists them.
 * @module
 */
import { DPO_SCHEMA } from "../algorithms/dpo.ts";
import { ITERATIVE_DPO_SCHEMA } from "../algorithms/iterative_dpo.ts";
import { PPO_SCHEMA } from "../algorithms/ppo.ts";
import { PRO_SCHEMA } from "../algorithms/pro.ts";
import { REWARD_MODEL_SCHEMA } from "../algorithms/reward_model.ts";
import { RRHF_SCHEMA } from "../algorithms/rrhf.ts";
import { SFT_SCHEMA } from "../algorithms/sft.ts";
import { type ConfigOf, mergeOverrides, opt, type Overrides } from "../util/config.ts";
import type { Scale } from "../util/cli.ts";

/** Every setting of the dialogue experiment. */
export const DIALOGUE_SCHEMA = {
  seeds: opt(3, "Seeds; each retrains every model after the base (ours; >= 3 for an interval)", { int: true, min: 1 }),
  seed0: opt(1, "Seed of the first run; run i uses seed0 + i; the base and the evaluation RM use seed0", {
    int: true,
  }),
  preset: opt<"xs" | "s" | "m">("xs", "Model size (the paper: Llama-2-7B)", { choices: ["xs", "s", "m"] }),
  testbed: {
    seed: opt(1, "Seed of the world and its data (the safety experiment's world: one data set)", { int: true }),
    pairs: opt(3000, "HH-RLHF-style preference pairs on training requests (HH-RLHF: ~170k)", { int: true, min: 10 }),
    trainPrompts: opt(1000, "PPO's and DPO-Iter's prompt-only set", { int: true, min: 1 }),
    evalRmPairs: opt(2000, "Gold-labelled pairs on validation requests for the evaluation RM (never trained on)", {
      int: true,
      min: 10,
    }),
    evalRmTestPairs: opt(500, "Gold-labelled pairs on test requests measuring the evaluation RM's accuracy", {
      int: true,
      min: 1,
    }),
    judgePrompts: opt(100, "Held-out test prompts of the judge comparisons (the paper: 100 queries)", {
      int: true,
      min: 1,
    }),
  },
  judge: {
    temperature: opt(0.75, "τ of the pairwise judge's own noise (the GPT-4 stand-in; ours)", { min: 1e-6 }),
    positionBias: opt(0.5, "Logit added to the first-shown response (GPT-4's position bias; ours)"),
  },
  corpus: {
    train: opt(20000, "Pretraining documents of the base (as the safety experiment's)", { int: true, min: 1 }),
    heldout: opt(256, "Held-out pretraining documents", { int: true, min: 1 }),
  },
  base: SFT_SCHEMA,
  sft: SFT_SCHEMA,
  rm: REWARD_MODEL_SCHEMA,
  evalRm: REWARD_MODEL_SCHEMA,
  ppo: PPO_SCHEMA,
  dpo: DPO_SCHEMA,
  dpoIter: ITERATIVE_DPO_SCHEMA,
  rrhf: RRHF_SCHEMA,
  pro: PRO_SCHEMA,
  eval: {
    maxNewTokens: opt(18, "Most tokens of a response, EOS included", { int: true, min: 1 }),
    temperature: opt(1, "Sampling temperature of the evaluated responses (ours; the paper does not say)", { min: 0 }),
    samples: opt(2, "Responses per judge prompt scored by the evaluation RM (the first is judged)", {
      int: true,
      min: 1,
    }),
    keep: opt(6, "Responses kept per method in samples/", { int: true, min: 0 }),
    batch: opt(256, "Sequences per sampler call", { int: true, min: 1 }),
  },
};

/** The resolved config. */
export type DialogueConfig = ConfigOf<typeof DIALOGUE_SCHEMA>;

/**
 * The experiment's own settings (as the safety experiment's, experiments/safety_config.ts, where they are the same
 * models): ctx 32; a 3000-step base; SFT 300 steps on the pairs' chosen responses (the paper does not say what its
 * HH-RLHF SFT data is; the chosen responses are the common choice); reward models from SFT, 2 epochs; the evaluation
 * RM from the base (as OpenAssistant's RM is from a pretrained model, not from our SFT), 2 epochs; PPO 64 × 20;
 * DPO 2 epochs (Appendix A.1); DPO-Iter 2 rounds of 128 prompts × 5 samples (the paper gives no rounds for HH-RLHF);
 * RRHF and PRO on the pairs plus 2 SFT samples per prompt scored by the training RM.
 */
const COMMON: Overrides<typeof DIALOGUE_SCHEMA> = {
  base: { ctx: 32, steps: 3000, batchSize: 32, logEvery: 50, evalEvery: 500, checkpointEvery: 1000 },
  sft: { ctx: 32, steps: 300, batchSize: 32, logEvery: 50, evalEvery: 100, checkpointEvery: 300 },
  rm: { model: { ctx: 32 }, epochs: 2, batchPairs: 32, logEvery: 20 },
  evalRm: { model: { ctx: 32 }, epochs: 2, batchPairs: 32, logEvery: 20 },
  ppo: { generation: { maxNewTokens: 18 }, batchSize: 64, iterations: 20, maxPromptLen: 9 },
  dpo: { epochs: 2, batchPairs: 32 },
  dpoIter: { maxNewTokens: 18, rounds: 2, promptsPerRound: 128, dpo: { epochs: 1, batchPairs: 32 } },
  rrhf: { maxNewTokens: 18, epochs: 1, groupsPerStep: 16 },
  pro: { maxNewTokens: 18, epochs: 1, groupsPerStep: 16 },
};

/** tiny: about a minute for CI; small: the default; full: more seeds (a GPU). */
export const DIALOGUE_SCALES: Record<Scale, Overrides<typeof DIALOGUE_SCHEMA>> = {
  tiny: mergeOverrides(COMMON, {
    seeds: 2,
    testbed: { pairs: 200, trainPrompts: 64, evalRmPairs: 100, evalRmTestPairs: 20, judgePrompts: 16 },
    corpus: { train: 256, heldout: 16 },
    base: { steps: 20, batchSize: 16, logEvery: 10, evalEvery: 20, checkpointEvery: 20 },
    sft: { steps: 10, batchSize: 16, logEvery: 5, evalEvery: 10, checkpointEvery: 10 },
    rm: { epochs: 1, batchPairs: 16, logEvery: 5 },
    evalRm: { epochs: 1, batchPairs: 16, logEvery: 5 },
    ppo: { iterations: 2, batchSize: 16 },
    dpo: { epochs: 1, batchPairs: 16 },
    dpoIter: { rounds: 1, promptsPerRound: 8, dpo: { batchPairs: 8 } },
    rrhf: { groupsPerStep: 8 },
    pro: { groupsPerStep: 8 },
    eval: { samples: 1, batch: 64 },
  }),
  small: COMMON,
  full: mergeOverrides(COMMON, { seeds: 5, preset: "s" }),
};
