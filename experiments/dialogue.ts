/**
 * `deno task dialogue`: the HH-RLHF benchmark of §6.1 (Tables 4, 5, 14) and Appendix C's coverage study (Table 12)
 * on the assistant testbed with HH-RLHF-style labels (testbeds/assistant/: one Bradley-Terry preference per pair from
 * the gold helpfulness with harm folded in).
 *
 * Once: a base pretrained on the world's "web text", and the evaluation reward model (the OpenAssistant stand-in),
 * trained from the base on gold-labelled pairs of validation requests only. Per seed (the base, the evaluation RM,
 * SFT and the reward models come from the model store when §5's study made them first: dialogue_models.ts):
 * 1. SFT on the chosen responses of the preference pairs;
 * 2. the training reward model on the pairs (from SFT), and one on the `helpful-base` subset (Table 12);
 * 3. RRHF and PRO (the pairs plus SFT samples scored by the training RM), DPO on the pairs, DPO-Iter (samples
 *    labelled by the training RM, the reference reset each round), PPO with the training RM;
 * 4. Table 12: PPO and DPO on the helpful-base subset.
 * Evaluation: the evaluation RM's score on held-out prompts (Table 4), the pairwise judge asked twice with positions
 * swapped against the dataset's chosen responses and against SFT (Table 4), PPO against DPO and DPO-Iter (Table 5),
 * and the noise-free gold judge on the same pairs with its agreement with the pairwise judge (Table 14).
 *
 * Writes runs/dialogue/<name>/: config.json, metrics.jsonl, samples/, summary.json.
 * @module
 */
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import type { Gpt } from "../nn/gpt.ts";
import { cloneGpt } from "../nn/gpt_copy.ts";
import { trainDpo } from "../algorithms/dpo.ts";
import { trainIterativeDpo } from "../algorithms/iterative_dpo.ts";
import { trainPpo } from "../algorithms/ppo.ts";
import { trainPro } from "../algorithms/pro.ts";
import { trainRrhf } from "../algorithms/rrhf.ts";
import type { RewardModelScorer } from "../algorithms/scorer.ts";
import {
  AssistantTestbed,
  goldVerdict,
  HELPFUL_BASE_KINDS,
  judgeTwice,
  type PairVerdict,
  type Request,
} from "../testbeds/assistant/mod.ts";
import type { PreferencePair } from "../testbeds/sanity.ts";
import { WordTokenizer } from "../testbeds/tokenizer.ts";
import { parseExperimentArgs, runMain } from "../util/cli.ts";
import { alreadyDone, RunDir } from "../util/run_dir.ts";
import { DIALOGUE_SCALES, DIALOGUE_SCHEMA, type DialogueConfig } from "./dialogue_config.ts";
import type { Comparison, DialogueMethod, DialogueRecord } from "./dialogue_summary.ts";
import { type DialogueModels, dialogueModels, judgePrompts, scoreOnJudgePrompts } from "./dialogue_models.ts";
import { logPhaseRows, reportedChoices, timeInto } from "./run_common.ts";

interface Context {
  cfg: DialogueConfig;
  run: RunDir;
  testbed: AssistantTestbed;
  tok: WordTokenizer;
  models: DialogueModels;
  evalRm: RewardModelScorer;
  /** The judge prompts and the dataset's chosen response to each. */
  judged: { request: Request; chosen: string }[];
  records: DialogueRecord[];
  comparisons: Comparison[];
  timings: Record<string, number>;
}

/** Samples each judge prompt `samples` times; returns the first response per prompt and records the scores. */
async function evaluate(ctx: Context, model: Gpt, seed: number, method: DialogueMethod): Promise<string[]> {
  const { evalReward, goldUtility, first, kept } = await scoreOnJudgePrompts(
    model,
    ctx.testbed,
    ctx.tok,
    ctx.judged,
    ctx.evalRm,
    ctx.cfg.eval,
    new Rng(seed).split(`eval-${method}`),
  );
  ctx.records.push({ seed, method, evalReward, goldUtility });
  await ctx.run.writeJson(`samples/seed${seed}-${method}.json`, kept);
  console.error(
    `  seed ${seed} ${method.padEnd(14)} eval reward ${evalReward.toFixed(3)} gold ${goldUtility.toFixed(2)}`,
  );
  return first;
}

/** Judges `a` against `b` on every judge prompt, twice with positions swapped, and by the gold judge. */
function compare(ctx: Context, seed: number, names: [string, string], a: string[], b: string[]) {
  const rng = new Rng(seed).split(`judge-${names.join("-")}`), labels = ctx.testbed.options.labels;
  const judge: PairVerdict[] = [], gold: PairVerdict[] = [];
  ctx.judged.forEach((j, i) => {
    judge.push(judgeTwice(ctx.testbed.world, j.request, a[i], b[i], ctx.cfg.judge, labels, rng));
    gold.push(goldVerdict(ctx.testbed.world, j.request, a[i], b[i], labels));
  });
  ctx.comparisons.push({ seed, a: names[0], b: names[1], judge, gold });
}

async function runSeed(ctx: Context, seed: number) {
  const { cfg, testbed, tok } = ctx, gpu = await getGpu();
  const pairs = testbed.hhPairs(), helpfulBase = testbed.hhPairs(HELPFUL_BASE_KINDS);
  const trainPrompts = testbed.prompts("train").map((r) => r.text);
  const task = { tokenizer: tok, prompt: (r: Rng) => trainPrompts[r.int(trainPrompts.length)] };
  const sftRun = await ctx.models.sft(seed);
  await logPhaseRows(ctx.run, { seed, phase: "sft" }, sftRun.extra.rows);
  const sft = sftRun.model;
  const rmOf = async (name: string, data: PreferencePair[]) => {
    const { rm, scorer } = await ctx.models.rm(seed, sftRun, name, data);
    await logPhaseRows(ctx.run, { seed, phase: `rm_${name}` }, rm.extra.rows);
    return scorer;
  };
  const rm = await rmOf("full", pairs), rmHb = await rmOf("helpful_base", helpfulBase);
  const responses: Partial<Record<DialogueMethod, string[]>> = {};
  responses.sft = await evaluate(ctx, sft, seed, "sft");
  const ranking = async (method: "rrhf" | "pro") => {
    const policy = await cloneGpt(sft, method);
    const train = method === "rrhf" ? trainRrhf : trainPro;
    const c = method === "rrhf" ? cfg.rrhf : cfg.pro;
    const r = await timeInto(
      ctx.timings,
      method,
      () => train(gpu, { policy, tokenizer: tok, pairs, scorer: rm, config: { ...c, seed } }),
    );
    await logPhaseRows(ctx.run, { seed, phase: method }, r.metrics);
    responses[method] = await evaluate(ctx, policy, seed, method);
  };
  await ranking("rrhf");
  await ranking("pro");
  const dpo = async (method: DialogueMethod, data: PreferencePair[]) => {
    const policy = await cloneGpt(sft, method);
    const r = await timeInto(
      ctx.timings,
      "dpo",
      () => trainDpo(gpu, { policy, reference: sft, tokenizer: tok, pairs: data, config: { ...cfg.dpo, seed } }),
    );
    await logPhaseRows(ctx.run, { seed, phase: method }, r.metrics);
    responses[method] = await evaluate(ctx, policy, seed, method);
  };
  await dpo("dpo", pairs);
  const iter = await cloneGpt(sft, "dpo_iter");
  const it = await timeInto(ctx.timings, "dpo_iter", () =>
    trainIterativeDpo(gpu, {
      policy: iter,
      tokenizer: tok,
      prompts: trainPrompts,
      scorer: rm,
      config: { ...cfg.dpoIter, seed },
    }));
  await logPhaseRows(ctx.run, { seed, phase: "dpo_iter" }, it.metrics);
  responses.dpo_iter = await evaluate(ctx, iter, seed, "dpo_iter");
  const ppo = async (method: DialogueMethod, scorer: RewardModelScorer) => {
    const r = await timeInto(
      ctx.timings,
      "ppo",
      () => trainPpo({ ...cfg.ppo, seed }, { policy: sft, task, scorer, rewardModel: scorer.model }),
    );
    await logPhaseRows(ctx.run, { seed, phase: method }, r.history);
    responses[method] = await evaluate(ctx, r.actor, seed, method);
  };
  await ppo("ppo", rm);
  // Table 12: the helpful-base subset.
  await ppo("ppo_helpful_base", rmHb);
  await dpo("dpo_helpful_base", helpfulBase);
  // Tables 4, 5, 14: the judges.
  const dataset = ctx.judged.map((j) => j.chosen);
  for (const m of ["rrhf", "pro", "dpo", "dpo_iter", "ppo"] as const) {
    compare(ctx, seed, [m, "chosen"], responses[m]!, dataset);
    compare(ctx, seed, [m, "sft"], responses[m]!, responses.sft!);
  }
  compare(ctx, seed, ["ppo", "dpo"], responses.ppo!, responses.dpo!);
  compare(ctx, seed, ["ppo", "dpo_iter"], responses.ppo!, responses.dpo_iter!);
}

async function main(): Promise<void> {
  const args = await parseExperimentArgs(Deno.args, {
    experiment: "dialogue",
    schema: DIALOGUE_SCHEMA,
    scales: DIALOGUE_SCALES,
    about: "deno task dialogue: §6.1 and Appendix C (Tables 4, 5, 12, 14) on the assistant testbed",
  });
  const cfg = args.config, t0 = performance.now();
  const { seed, pairs, trainPrompts } = cfg.testbed;
  const testbed = new AssistantTestbed({ seed, pairs, trainPrompts });
  const tok = new WordTokenizer(testbed.vocabulary);
  const judged = judgePrompts(testbed, cfg.testbed.judgePrompts);
  const gpu = await getGpu();
  const run = await RunDir.start("dialogue", args.name, { config: { scale: args.scale, ...cfg }, adapter: gpu.info });
  if (!run) return console.log(alreadyDone("dialogue", args.name));
  const timings: Record<string, number> = {};
  const models = await dialogueModels(gpu, cfg, testbed, tok, timings);
  const evalRm = models.evalScorer, evalRmTrain = models.evalRmTrain;
  const ctx: Context = { cfg, run, testbed, tok, models, evalRm, judged, records: [], comparisons: [], timings };
  await logPhaseRows(ctx.run, { seed: cfg.seed0, phase: "base" }, models.base.extra.rows);
  await logPhaseRows(ctx.run, { seed: cfg.seed0, phase: "eval_rm" }, models.evalRm.extra.rows);
  // The scale of the evaluation RM: its scores on the dataset's chosen and rejected responses of the judge prompts.
  const evalScale = await evalRm.score(judged.map((j) => j.request.text), judged.map((j) => j.chosen));
  for (let i = 0; i < cfg.seeds; i++) await runSeed(ctx, cfg.seed0 + i);
  timings.total = (performance.now() - t0) / 1000;
  const trainTexts = new Set(testbed.hhPairs().map((p) => p.prompt));
  await run.writeSummary({
    experiment: "dialogue",
    scale: args.scale,
    preset: cfg.preset,
    seeds: Array.from({ length: cfg.seeds }, (_, i) => cfg.seed0 + i),
    evalRm: {
      heldoutAccuracy: models.evalRm.extra.heldOut?.accuracy ?? null,
      heldoutMargin: models.evalRm.extra.heldOut?.margin ?? null,
      chosenScoreMean: Array.from(evalScale).reduce((a, b) => a + b, 0) / evalScale.length,
      trainPairs: cfg.testbed.evalRmPairs,
      sharesATrainingPrompt: evalRmTrain.some((p) => trainTexts.has(p.prompt)),
    },
    judge: cfg.judge,
    judgePrompts: judged.length,
    testbed: testbed.describe(),
    records: ctx.records,
    comparisons: ctx.comparisons,
    timings,
    choices: reportedChoices(DIALOGUE_SCHEMA, cfg, [
      "base",
      "sft",
      "rm",
      "evalRm",
      "ppo",
      "dpoIter",
      "dpo",
      "rrhf",
      "pro",
    ]),
  });
  console.log(`dialogue: ${ctx.records.length} evaluations in ${timings.total.toFixed(0)} s -> ${run.path}/`);
}

if (import.meta.main) await runMain(main);
