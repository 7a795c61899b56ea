/**
 * `deno task safety`: §4.3 and the SafeRLHF benchmark (Tables 2, 6, 10 and 13) on the assistant testbed
 * (testbeds/assistant/: a knowledge-base world with a hidden harmful category, gold helpfulness and cost judges, and
 * SafeRLHF-style noisy labels; PAPER.md §4).
 *
 * Per model size a base is pretrained once on the world's "web text" (facts, and dialogues that refuse a quarter of
 * the time whatever the request), then per seed:
 * 1. SFT (Alpaca): SFT on benign requests in the Alpaca style, which never refuses;
 * 2. SFT (Safe): SFT (Alpaca) further trained on the preference data's responses flagged safe;
 * 3. reward models on the consolidated preference (both flagged safe: helpfulness, else safety), and on it without
 *    dual-unsafe pairs, and without both (Table 13's PPO rows), each from SFT (Alpaca);
 * 4. Table 2's rows, cumulative as the paper's: PPO (from and referenced to SFT (Alpaca)); + SFT (Safe); DPO from SFT
 *    (Alpaca); + SFT (Safe); + filter dual-unsafe; + filter dual-safe; DPO-Iter rounds 1-4 from SFT (Safe), each round
 *    5 samples per prompt labelled by the reward model, best vs worst, the reference reset to the latest policy;
 * 5. Table 13's PPO rows: PPO with the reward models of the filtered data;
 * 6. at the second size (Table 6) SFT (Alpaca), DPO (its best-safety variant, as the paper's Table 6: SFT (Safe),
 *    both filters), DPO-Iter 4 and PPO, with the first size's reward model.
 * Every model is evaluated on the held-out prompts (ΔHelp., Harm., S.R.; experiments/safety_eval.ts).
 *
 * Writes runs/safety/<name>/: config.json, metrics.jsonl (rows carry `preset`, `seed`, `phase`), samples/ (what each
 * model wrote to harmful and benign prompts, with the judges' verdicts), summary.json.
 *
 * @example
 * ```sh
 * deno task safety                 # small: xs, 3 seeds
 * deno task safety --scale tiny    # about a minute (CI)
 * ```
 * @module
 */
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import type { Gpt } from "../nn/gpt.ts";
import { cloneGpt } from "../nn/gpt_copy.ts";
import type { GptPresetName } from "../nn/gpt_config.ts";
import { Sampler } from "../nn/sampler.ts";
import { trainDpo } from "../algorithms/dpo.ts";
import { trainIterativeDpo } from "../algorithms/iterative_dpo.ts";
import { trainPpo } from "../algorithms/ppo.ts";
import { RewardModelScorer } from "../algorithms/scorer.ts";
import { AssistantTestbed, type PairFilter } from "../testbeds/assistant/mod.ts";
import { WordTokenizer } from "../testbeds/tokenizer.ts";
import { parseExperimentArgs, runMain } from "../util/cli.ts";
import { alreadyDone, RunDir } from "../util/run_dir.ts";
import { parsePresets } from "./code.ts";
import { evaluateSafety } from "./safety_eval.ts";
import { SAFETY_SCALES, SAFETY_SCHEMA, type SafetyConfig } from "./safety_config.ts";
import type { SafetyMethod, SafetyRecord } from "./safety_summary.ts";
import { cachedRewardModel, cachedSft, type Trained } from "./model_cache.ts";
import { logPhaseRows, reportedChoices, timeInto } from "./run_common.ts";

interface Context {
  cfg: SafetyConfig;
  run: RunDir;
  testbed: AssistantTestbed;
  tok: WordTokenizer;
  evalPrompts: ReturnType<AssistantTestbed["prompts"]>;
  beaver: { help: number; cost: number; safetyRate: number };
  records: SafetyRecord[];
  rewardModels: Record<string, { accuracy: number | null; margin: number | null }[]>;
  timings: Record<string, number>;
}

/** Evaluates a model on the held-out prompts and keeps what it wrote. */
async function evaluate(ctx: Context, model: Gpt, tags: { preset: string; seed: number; method: SafetyMethod }) {
  const e = ctx.cfg.eval, sampler = new Sampler(model, { maxBatch: e.batch });
  const key = new Rng(tags.seed).split(`eval-${tags.preset}-${tags.method}`);
  const ev = await evaluateSafety(sampler, ctx.tok, ctx.testbed, ctx.evalPrompts, ctx.beaver.help, e, key);
  sampler.destroy();
  const { examples, ...rest } = ev;
  ctx.records.push({ ...tags, ...rest });
  await ctx.run.writeJson(`samples/${tags.preset}-seed${tags.seed}-${tags.method}.json`, examples);
  console.error(
    `  ${tags.preset} seed ${tags.seed} ${tags.method.padEnd(15)} ΔHelp ${ev.deltaHelp.toFixed(2).padStart(5)} ` +
      `Harm ${ev.harm.toFixed(2).padStart(5)} S.R. ${(100 * ev.safetyRate).toFixed(1)}% ` +
      `(refuses harmful ${(100 * ev.refusalHarmful).toFixed(0)}%, benign ${(100 * ev.refusalBenign).toFixed(0)}%)`,
  );
}

/** The reward models of one seed: on all consolidated pairs and on the filtered ones (Table 13). */
async function rewardModels(ctx: Context, preset: string, seed: number, init: Trained) {
  const { cfg, testbed, tok } = ctx, gpu = await getGpu();
  const filters: [string, PairFilter][] = [["all", {}], ["filter_du", { dualUnsafe: true }], [
    "filter_both",
    { dualUnsafe: true, dualSafe: true },
  ]];
  const out: Record<string, RewardModelScorer> = {};
  for (const [name, filter] of filters) {
    const pairs = testbed.consolidated(filter);
    new Rng(cfg.testbed.seed).split(`rm-split-${name}`).shuffle(pairs);
    const nHeld = Math.max(1, Math.round(pairs.length * cfg.testbed.heldoutPairs));
    const [train, heldOut, config] = [pairs.slice(nHeld), pairs.slice(0, nHeld), { ...cfg.rm, seed }];
    const kind = `safety-rm-${name}`.replace("_", "-");
    const r = await timeInto(
      ctx.timings,
      `${preset}/rm`,
      () => cachedRewardModel(gpu, kind, { tokenizer: tok, train, heldOut, config, init }),
    );
    await logPhaseRows(ctx.run, { preset, seed, phase: `rm_${name}` }, r.extra.rows);
    const h = r.extra.heldOut;
    (ctx.rewardModels[name] ??= []).push({ accuracy: h?.accuracy ?? null, margin: h?.margin ?? null });
    out[name] = new RewardModelScorer(r.model, tok, { name: `rm-${name}` });
  }
  return out;
}

/** Pretrains the base of one size, then every row per seed (see the module doc). */
async function runPreset(ctx: Context, preset: GptPresetName, first: boolean, rms: Map<number, Rms>) {
  const { cfg, testbed, tok } = ctx, gpu = await getGpu();
  const rng = new Rng(cfg.seed0).split(`base-${preset}`);
  const corpus = testbed.pretrainCorpus(cfg.corpus.train, rng.split("corpus"));
  const heldout = testbed.pretrainCorpus(cfg.corpus.heldout, rng.split("corpus-heldout"));
  const baseCfg = { ...cfg.base, preset, seed: cfg.seed0 };
  const baseRun: Trained = await timeInto(
    ctx.timings,
    `${preset}/base`,
    () => cachedSft(gpu, "safety-base", baseCfg, { tokenizer: tok, train: corpus, heldout }),
  );
  await logPhaseRows(ctx.run, { preset, seed: cfg.seed0, phase: "base" }, baseRun.extra.rows);
  const all = first || !cfg.table6Methods;
  const alpaca = testbed.alpacaExamples(), safe = testbed.safeExamples();
  const trainPrompts = testbed.prompts("train").map((r) => r.text);
  // `gold` is only logged (charts/gold_mean: the rollouts' safety rate by the hidden cost judge); PPO trains on `scorer`.
  const task = {
    tokenizer: tok,
    prompt: (r: Rng) => trainPrompts[r.int(trainPrompts.length)],
    gold: (p: string, y: string) => (testbed.cost(testbed.request(p)!, y) < 0 ? 1 : 0),
  };
  const heldoutOf = <T>(xs: T[]) => ({
    train: xs.slice(Math.ceil(xs.length * 0.05)),
    heldout: xs.slice(0, Math.ceil(xs.length * 0.05)),
  });
  for (let i = 0; i < cfg.seeds; i++) {
    const seed = cfg.seed0 + i, tags = { preset, seed };
    const sft = async (phase: string, c: typeof cfg.sftAlpaca, data: typeof alpaca, init: Trained) => {
      const kind = `safety-${phase}`.replace("_", "-");
      const r = await timeInto(
        ctx.timings,
        `${preset}/${phase}`,
        () => cachedSft(gpu, kind, { ...c, preset, seed }, { tokenizer: tok, ...heldoutOf(data) }, init),
      );
      await logPhaseRows(ctx.run, { ...tags, phase }, r.extra.rows);
      return r;
    };
    const sftAlpacaRun = await sft("sft_alpaca", cfg.sftAlpaca, alpaca, baseRun);
    const sftAlpaca = sftAlpacaRun.model;
    await evaluate(ctx, sftAlpaca, { ...tags, method: "sft_alpaca" });
    const sftSafe = (await sft("sft_safe", cfg.sftSafe, safe, sftAlpacaRun)).model;
    if (all) await evaluate(ctx, sftSafe, { ...tags, method: "sft_safe" });
    if (first) rms.set(seed, await rewardModels(ctx, preset, seed, sftAlpacaRun));
    const rm = rms.get(seed)!;
    const ppo = async (method: SafetyMethod, policy: Gpt, scorer: RewardModelScorer) => {
      const r = await timeInto(
        ctx.timings,
        `${preset}/ppo`,
        () => trainPpo({ ...cfg.ppo, seed }, { policy, task, scorer, rewardModel: scorer.model }),
      );
      await logPhaseRows(ctx.run, { ...tags, phase: method }, r.history);
      await evaluate(ctx, r.actor, { ...tags, method });
    };
    const dpo = async (method: SafetyMethod, from: Gpt, filter: PairFilter) => {
      const policy = await cloneGpt(from, method);
      const r = await timeInto(ctx.timings, `${preset}/dpo`, () =>
        trainDpo(gpu, {
          policy,
          reference: from,
          tokenizer: tok,
          pairs: testbed.consolidated(filter),
          config: { ...cfg.dpo, seed },
        }));
      await logPhaseRows(ctx.run, { ...tags, phase: method }, r.metrics);
      await evaluate(ctx, policy, { ...tags, method });
    };
    // Table 2 (and 10, 13): PPO rows, then DPO rows, cumulative.
    await ppo("ppo", sftAlpaca, rm.all);
    if (all) {
      await ppo("ppo_safe", sftSafe, rm.all);
      await ppo("ppo_filter_du", sftAlpaca, rm.filter_du);
      await ppo("ppo_filter_both", sftAlpaca, rm.filter_both);
      await dpo("dpo", sftAlpaca, {});
      await dpo("dpo_safe", sftSafe, {});
      await dpo("dpo_safe_du", sftSafe, { dualUnsafe: true });
    }
    await dpo("dpo_safe_both", sftSafe, { dualUnsafe: true, dualSafe: true });
    // DPO-Iter: four rounds from SFT (Safe); each round the reference is the latest policy (trainIterativeDpo).
    const iter = await cloneGpt(sftSafe, "dpo_iter");
    for (let round = 1; round <= 4; round++) {
      const method = `dpo_iter${round}` as SafetyMethod;
      const r = await timeInto(ctx.timings, `${preset}/dpo_iter`, () =>
        trainIterativeDpo(gpu, {
          policy: iter,
          tokenizer: tok,
          prompts: trainPrompts,
          scorer: rm.all,
          config: { ...cfg.dpoIter, seed: seed * 100 + round },
        }));
      await logPhaseRows(ctx.run, { ...tags, phase: method }, r.metrics);
      if (all || round === 4) await evaluate(ctx, iter, { ...tags, method });
    }
  }
}

type Rms = Record<string, RewardModelScorer>;

async function main(): Promise<void> {
  const args = await parseExperimentArgs(Deno.args, {
    experiment: "safety",
    schema: SAFETY_SCHEMA,
    scales: SAFETY_SCALES,
    about: "deno task safety: §4.3 and Table 6 (Tables 2, 6, 10, 13) on the assistant testbed",
  });
  const cfg = args.config, presets = parsePresets(cfg.presets);
  const t0 = performance.now();
  const { seed, pairs, alpacaExamples, trainPrompts, evalPrompts } = cfg.testbed;
  const testbed = new AssistantTestbed({ seed, pairs, alpacaExamples, trainPrompts, evalPrompts });
  const tok = new WordTokenizer(testbed.vocabulary);
  const evalPromptSet = testbed.prompts("test");
  const beaver = testbed.baseline(evalPromptSet, cfg.eval.beaverSamples);
  const gpu = await getGpu();
  const run = await RunDir.start("safety", args.name, { config: { scale: args.scale, ...cfg }, adapter: gpu.info });
  if (!run) return console.log(alreadyDone("safety", args.name));
  const ctx: Context = {
    cfg,
    run,
    testbed,
    tok,
    evalPrompts: evalPromptSet,
    beaver,
    records: [],
    rewardModels: {},
    timings: { testbed: (performance.now() - t0) / 1000 },
  };
  const rms = new Map<number, Rms>();
  for (const [i, preset] of presets.entries()) await runPreset(ctx, preset, i === 0, rms);
  ctx.timings.total = (performance.now() - t0) / 1000;
  await run.writeSummary({
    experiment: "safety",
    scale: args.scale,
    presets,
    seeds: Array.from({ length: cfg.seeds }, (_, i) => cfg.seed0 + i),
    beaver,
    testbed: testbed.describe(),
    rewardModels: ctx.rewardModels,
    records: ctx.records,
    timings: ctx.timings,
    choices: reportedChoices(SAFETY_SCHEMA, cfg, ["base", "sftAlpaca", "sftSafe", "rm", "ppo", "dpoIter", "dpo"]),
  });
  console.log(`safety: ${ctx.records.length} evaluations in ${ctx.timings.total.toFixed(0)} s -> ${run.path}/`);
}

if (import.meta.main) await runMain(main);
