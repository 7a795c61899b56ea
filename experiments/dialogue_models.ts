/**
 * The dialogue testbed's models as the dialogue experiment (experiments/dialogue.ts) and §5's factor study
 * (experiments/ppo_factors.ts) both use them: the base pretrained on the world's text and the evaluation reward
 * model (once), and per seed the SFT model on the pairs' chosen responses and the training reward models. Each
 * comes from the model store (experiments/model_cache.ts), so the two experiments train it once.
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { RewardModelScorer } from "../algorithms/scorer.ts";
import { type AssistantTestbed, hhUtility, type Request } from "../testbeds/assistant/mod.ts";
import type { Gpt } from "../nn/gpt.ts";
import { Sampler } from "../nn/sampler.ts";
import { sampleResponses } from "../algorithms/policy_eval.ts";
import type { PreferencePair } from "../testbeds/sanity.ts";
import type { WordTokenizer } from "../testbeds/tokenizer.ts";
import type { DialogueConfig } from "./dialogue_config.ts";
import { cachedRewardModel, cachedSft, type Trained, type TrainedRm } from "./model_cache.ts";

export type { Trained, TrainedRm };
import { timeInto } from "./run_common.ts";

/** The base and the evaluation RM, and the per-seed models. */
export interface DialogueModels {
  base: Trained;
  evalRm: TrainedRm;
  /** The evaluation RM as a scorer. */
  evalScorer: RewardModelScorer;
  /** The gold-labelled validation pairs the evaluation RM trained on. */
  evalRmTrain: PreferencePair[];
  /** The SFT model of `seed`: the base fine-tuned on the chosen responses of the pairs. */
  sft(seed: number): Promise<Trained>;
  /** The training reward model `name` of `seed` on `data`, from that seed's SFT model. */
  rm(
    seed: number,
    sft: Trained,
    name: string,
    data: PreferencePair[],
  ): Promise<{ rm: TrainedRm; scorer: RewardModelScorer }>;
}

/** Trains (or loads) the base and the evaluation RM; times go into `timings` (base, evalRm, sft, rm). */
export async function dialogueModels(
  gpu: Gpu,
  cfg: DialogueConfig,
  testbed: AssistantTestbed,
  tok: WordTokenizer,
  timings: Record<string, number>,
): Promise<DialogueModels> {
  const rng = new Rng(cfg.seed0).split("base");
  const corpus = testbed.pretrainCorpus(cfg.corpus.train, rng.split("corpus"));
  const heldout = testbed.pretrainCorpus(cfg.corpus.heldout, rng.split("corpus-heldout"));
  const baseCfg = { ...cfg.base, preset: cfg.preset, seed: cfg.seed0 };
  const base: Trained = await timeInto(
    timings,
    "base",
    () => cachedSft(gpu, "dialogue-base", baseCfg, { tokenizer: tok, train: corpus, heldout }),
  );
  const rmOf = (
    kind: string,
    config: DialogueConfig["rm"],
    init: Trained,
    train: PreferencePair[],
    heldOut: PreferencePair[],
  ) => cachedRewardModel(gpu, kind, { tokenizer: tok, train, heldOut, config, init });
  // The evaluation RM: validation requests only; its accuracy on test requests.
  const evalRmTrain = testbed.goldPairs("validation", cfg.testbed.evalRmPairs);
  const evalRm: TrainedRm = await timeInto(
    timings,
    "evalRm",
    () =>
      rmOf(
        "dialogue-eval-rm",
        { ...cfg.evalRm, seed: cfg.seed0 },
        base,
        evalRmTrain,
        testbed.goldPairs("test", cfg.testbed.evalRmTestPairs),
      ),
  );
  const chosen = testbed.hhPairs().map((p) => ({ prompt: p.prompt, response: p.chosen }));
  const cut = Math.ceil(chosen.length * 0.05);
  const data = { tokenizer: tok, train: chosen.slice(cut), heldout: chosen.slice(0, cut) };
  return {
    base,
    evalRm,
    evalScorer: new RewardModelScorer(evalRm.model, tok, { name: "eval-rm" }),
    evalRmTrain,
    sft: (seed) =>
      timeInto(
        timings,
        "sft",
        () => cachedSft(gpu, "dialogue-sft", { ...cfg.sft, preset: cfg.preset, seed }, data, base),
      ),
    rm: async (seed, sft, name, data) => {
      const n = Math.ceil(data.length * 0.05);
      const rm = await timeInto(
        timings,
        "rm",
        () => rmOf(`dialogue-rm-${name}`, { ...cfg.rm, seed }, sft, data.slice(n), data.slice(0, n)),
      );
      return { rm, scorer: new RewardModelScorer(rm.model, tok, { name: `rm-${name}` }) };
    },
  };
}

/** The first `n` untied gold pairs of test requests: the judge prompts and the dataset's chosen response to each. */
export function judgePrompts(testbed: AssistantTestbed, n: number): { request: Request; chosen: string }[] {
  // goldPairs drops ties of the gold utility, so draw three times as many and keep the first n.
  const judged = testbed.goldPairs("test", 3 * n).slice(0, n)
    .map((p) => ({ request: testbed.request(p.prompt)!, chosen: p.chosen }));
  if (judged.length < n) throw new RangeError(`Dialogue: only ${judged.length} untied judge prompts of ${n} asked`);
  return judged;
}

/** What {@link scoreOnJudgePrompts} returns. */
export interface JudgePromptScores {
  /** The evaluation RM's mean score and the mean gold HH utility over every sample. */
  evalReward: number;
  goldUtility: number;
  /** The first response to each judge prompt (the one the judges compare). */
  first: string[];
  /** The first `keep` of them with their prompts, as samples/ keeps them. */
  kept: { prompt: string; response: string }[];
}

/** Samples each judge prompt `e.samples` times from `model` and scores every response (Table 4's reward). */
export async function scoreOnJudgePrompts(
  model: Gpt,
  testbed: AssistantTestbed,
  tok: WordTokenizer,
  judged: { request: Request }[],
  evalScorer: RewardModelScorer,
  e: DialogueConfig["eval"],
  key: Rng,
): Promise<JudgePromptScores> {
  const sampler = new Sampler(model, { maxBatch: e.batch });
  const prompts = judged.flatMap((j) => Array<string>(e.samples).fill(j.request.text));
  const out = await sampleResponses(sampler, tok, prompts, {
    maxNewTokens: e.maxNewTokens,
    temperature: e.temperature,
  }, key);
  sampler.destroy();
  const scores = await evalScorer.score(prompts, out.responses);
  const utility = out.responses.map((y, i) =>
    hhUtility(testbed.world, judged[Math.floor(i / e.samples)].request, y, testbed.options.labels)
  );
  const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
  const first = judged.map((_, i) => out.responses[i * e.samples]);
  const kept = first.slice(0, e.keep).map((response, i) => ({ prompt: judged[i].request.text, response }));
  return { evalReward: mean(scores), goldUtility: mean(utility), first, kept };
}
