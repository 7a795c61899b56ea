/**
 * The code testbed's models and reward as the code experiment (experiments/code.ts) and §5's factor study
 * (experiments/ppo_factors.ts) both use them: the pretrained base of a size, the SFT model of a seed (both from the
 * model store, experiments/model_cache.ts, so the two experiments train them once), the RL prompts and the 10/0
 * test reward.
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import type { GptPresetName } from "../nn/gpt_config.ts";
import { GoldScorer } from "../algorithms/scorer.ts";
import type { CodeTestbed } from "../testbeds/code/mod.ts";
import type { WordTokenizer } from "../testbeds/tokenizer.ts";
import type { CodeConfig } from "./code_config.ts";
import { cachedSft, type Trained } from "./model_cache.ts";

export type { Trained };
import { timeInto } from "./run_common.ts";

/** One size's base, its SFT models and what RL on the code testbed needs. */
export interface CodeModels {
  base: Trained;
  /** The SFT model of `seed`, trained from the base on the reference solutions. */
  sft(seed: number): Promise<Trained>;
  /** Every training prompt (APPS-style and contest), the RL prompt set. */
  trainPrompts: string[];
  /** 10 when the program passes every test of its training problem, else 0 (§6.3). */
  gold10: GoldScorer;
  /** The task of trainPpo: a random training prompt, and the gold reward on [0, 1]. */
  task: { tokenizer: WordTokenizer; prompt: (r: Rng) => string; gold: (p: string, r: string) => number };
  /** The reference solution of a training prompt (DPO-Iter's winner when no sample passes). */
  reference: (prompt: string) => string;
  /** Prompt tokens with BOS and SEP of the longest training prompt. */
  maxPromptLen: number;
}

/** The base of `preset` (trained or from the store) and the rest of {@link CodeModels}; times go into `timings`. */
export async function codeModels(
  gpu: Gpu,
  cfg: CodeConfig,
  testbed: CodeTestbed,
  tok: WordTokenizer,
  preset: GptPresetName,
  timings: Record<string, number>,
): Promise<CodeModels> {
  // The pretrained base: random programs with their examples (testbeds/code: pretrainCorpus), once per size.
  const rng = new Rng(cfg.seed0).split(`base-${preset}`);
  const corpus = testbed.pretrainCorpus(cfg.corpus.train, rng.split("corpus"));
  const heldout = testbed.pretrainCorpus(cfg.corpus.heldout, rng.split("corpus-heldout"));
  const baseCfg = { ...cfg.base, preset, seed: cfg.seed0 };
  const base = await timeInto(
    timings,
    `${preset}/base`,
    () => cachedSft(gpu, "code-base", baseCfg, { tokenizer: tok, train: corpus, heldout }),
  );
  const sftData = testbed.sftExamples();
  const cut = Math.max(1, Math.floor(sftData.length * 0.05));
  const data = { tokenizer: tok, train: sftData.slice(cut), heldout: sftData.slice(0, cut) };
  const sft = (seed: number) =>
    timeInto(timings, `${preset}/sft`, () => cachedSft(gpu, "code-sft", { ...cfg.sft, preset, seed }, data, base));
  const trainPrompts = [
    ...new Set([...testbed.problems("apps", "train"), ...testbed.problems("contest", "train")].map((p) => p.prompt)),
  ];
  const gold10 = new GoldScorer(gpu, "tests-10/0", (prompt, program) => {
    const problem = testbed.byPrompt(prompt);
    if (!problem) throw new RangeError(`Code reward: no problem has the prompt ${JSON.stringify(prompt)}`);
    return testbed.judge(problem, program, "all").outcome === "passed" ? 10 : 0;
  });
  return {
    base,
    sft,
    trainPrompts,
    gold10,
    task: {
      tokenizer: tok,
      prompt: (r: Rng) => trainPrompts[r.int(trainPrompts.length)],
      gold: (p: string, r: string) => gold10.judge(p, r) / 10,
    },
    reference: (p: string) => testbed.byPrompt(p)!.reference,
    maxPromptLen: Math.max(...trainPrompts.map((p) => tok.encode(p).length)) + 2,
  };
}
