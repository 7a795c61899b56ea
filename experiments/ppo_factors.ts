/**
 * `deno task ppo-factors`: §5's key factors of PPO (Table 3, Figure 2) and Appendix C's β sweep (Table 11) on the
 * dialogue testbed (the evaluation RM's reward) and on the code testbed (pass@k per tier, contest pass@k).
 *
 * The models are §6's: the dialogue experiment's base, evaluation RM, SFT model and training RM of each seed, the
 * code experiment's base and SFT model of each seed (experiments/dialogue_models.ts, code_models.ts; from the model
 * store when those experiments made them). Per testbed and seed, from that SFT model:
 * 1. Table 3's cumulative rows, each changing one factor of the row above (experiments/ppo_factors_rows.ts, checked
 *    on the resolved configs before anything runs): baseline PPO (small batch, no advantage normalisation, frozen
 *    reference) → + advantage normalisation → + large batch → + reference EMA; every run sees the same rollouts;
 * 2. code: Figure 2's batch sizes, with advantage normalisation and a frozen reference;
 * 3. Table 11: the last row at each β of the KL penalty, and DPO (dialogue) or DPO-Iter (code) at each non-zero β.
 * Every model is evaluated as §6 evaluates it; PPO's curves (reward, KL to the reference, clip fraction) go to
 * metrics.jsonl with the row as the phase.
 *
 * Writes runs/ppo-factors/<name>/: config.json, metrics.jsonl, samples/, summary.json.
 *
 * @example
 * ```sh
 * deno task ppo-factors                     # small: both testbeds, 3 seeds
 * deno task ppo-factors --scale tiny        # about a minute (CI)
 * deno task ppo-factors --set testbeds=code --set code.rollouts=1024
 * ```
 * @module
 */
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import type { Gpt } from "../nn/gpt.ts";
import { cloneGpt } from "../nn/gpt_copy.ts";
import { Sampler } from "../nn/sampler.ts";
import { trainDpo } from "../algorithms/dpo.ts";
import { trainIterativeDpo } from "../algorithms/iterative_dpo.ts";
import { trainPpo } from "../algorithms/ppo.ts";
import { AssistantTestbed } from "../testbeds/assistant/mod.ts";
import { CodeTestbed } from "../testbeds/code/mod.ts";
import { WordTokenizer } from "../testbeds/tokenizer.ts";
import { resolveConfig } from "../util/config.ts";
import { parseExperimentArgs, runMain, type Scale } from "../util/cli.ts";
import { alreadyDone, RunDir } from "../util/run_dir.ts";
import { CODE_SCALES, CODE_SCHEMA, evalSettings, testbedOptions } from "./code_config.ts";
import { evaluateCode } from "./code_eval.ts";
import { codeModels } from "./code_models.ts";
import { DIALOGUE_SCALES, DIALOGUE_SCHEMA } from "./dialogue_config.ts";
import { dialogueModels, judgePrompts, scoreOnJudgePrompts } from "./dialogue_models.ts";
import { PPO_FACTORS_SCALES, PPO_FACTORS_SCHEMA, type PpoFactorsConfig } from "./ppo_factors_config.ts";
import { checkRowDiffs, type PpoRow, ppoRows } from "./ppo_factors_rows.ts";
import type { FactorRecord, FactorRowRecord, FactorTestbed, PpoFactorsSummary } from "./ppo_factors_summary.ts";
import { logPhaseRows, reportedChoices, timeInto } from "./run_common.ts";

/** What both testbeds' loops share. */
interface Context {
  cfg: PpoFactorsConfig;
  run: RunDir;
  seeds: number[];
  records: FactorRecord[];
  timings: Record<string, number>;
}

/** The §6 experiment's config at `scale` (its presets, no overrides: §5 uses §6's models as they are). */
function sixConfigs(scale: Scale) {
  return {
    code: resolveConfig(CODE_SCHEMA, { presets: [{ name: scale, values: CODE_SCALES[scale] }] }),
    dialogue: resolveConfig(DIALOGUE_SCHEMA, { presets: [{ name: scale, values: DIALOGUE_SCALES[scale] }] }),
  };
}

/** Dialogue: SFT, Table 3's rows and Table 11's β for PPO and DPO, per seed, scored by the evaluation RM. */
async function runDialogue(ctx: Context, six: ReturnType<typeof sixConfigs>["dialogue"], rows: PpoRow[]) {
  const gpu = await getGpu(), { seed: tbSeed, pairs: nPairs, trainPrompts: nPrompts } = six.testbed;
  const testbed = new AssistantTestbed({ seed: tbSeed, pairs: nPairs, trainPrompts: nPrompts });
  const tok = new WordTokenizer(testbed.vocabulary), t = ctx.timings;
  const models = await dialogueModels(gpu, six, testbed, tok, t);
  await logPhaseRows(ctx.run, { testbed: "dialogue", seed: six.seed0, phase: "base" }, models.base.extra.rows);
  const judged = judgePrompts(testbed, six.testbed.judgePrompts), e = six.eval;
  const evaluate = async (model: Gpt, seed: number, method: string) => {
    const t0 = performance.now(), key = new Rng(seed).split(`eval-${method}`);
    const r = await scoreOnJudgePrompts(model, testbed, tok, judged, models.evalScorer, e, key);
    const seconds = (performance.now() - t0) / 1000;
    ctx.records.push({
      testbed: "dialogue",
      seed,
      method,
      evalReward: r.evalReward,
      goldUtility: r.goldUtility,
      seconds,
    });
    await ctx.run.writeJson(`samples/dialogue-seed${seed}-${method}.json`, r.kept);
    console.error(`  dialogue seed ${seed} ${method.padEnd(18)} eval reward ${r.evalReward.toFixed(3)}`);
  };
  const pairs = testbed.hhPairs(), trainPrompts = testbed.prompts("train").map((r) => r.text);
  const task = { tokenizer: tok, prompt: (r: Rng) => trainPrompts[r.int(trainPrompts.length)] };
  for (const seed of ctx.seeds) {
    const sft = await models.sft(seed), { rm, scorer } = await models.rm(seed, sft, "full", pairs);
    await evaluate(sft.model, seed, "sft");
    for (const row of rows) {
      const r = await timeInto(
        t,
        "dialogue/ppo",
        () => trainPpo({ ...row.config, seed }, { policy: sft.model, task, scorer, rewardModel: rm.model }),
      );
      await logPhaseRows(ctx.run, { testbed: "dialogue", seed, phase: `ppo_${row.id}` }, r.history);
      await evaluate(r.actor, seed, `ppo_${row.id}`);
    }
    for (const beta of ctx.cfg.dialogue.betas.filter((b) => b > 0)) {
      const policy = await cloneGpt(sft.model, "dpo"), method = `dpo_beta_${beta}`;
      const d = await timeInto(
        t,
        "dialogue/dpo",
        () =>
          trainDpo(gpu, { policy, reference: sft.model, tokenizer: tok, pairs, config: { ...six.dpo, seed, beta } }),
      );
      await logPhaseRows(ctx.run, { testbed: "dialogue", seed, phase: method }, d.metrics);
      await evaluate(policy, seed, method);
    }
  }
}

/** Code: SFT, Table 3's rows, Figure 2's batch sizes and Table 11's β for PPO and DPO-Iter, per seed. */
async function runCode(ctx: Context, six: ReturnType<typeof sixConfigs>["code"], rowsOf: (len: number) => PpoRow[]) {
  const gpu = await getGpu(), t = ctx.timings, preset = ctx.cfg.codePreset;
  const testbed = new CodeTestbed(testbedOptions(six)), tok = new WordTokenizer(testbed.vocabulary);
  const m = await codeModels(gpu, six, testbed, tok, preset, t);
  await logPhaseRows(ctx.run, { testbed: "code", seed: six.seed0, phase: "base" }, m.base.extra.rows);
  const rows = rowsOf(m.maxPromptLen), e = six.eval;
  const table3 = new Set(rows.filter((r) => r.uses.includes("table3")).map((r) => `ppo_${r.id}`).concat("sft"));
  const evaluate = async (model: Gpt, seed: number, method: string) => {
    const t0 = performance.now(), sampler = new Sampler(model, { maxBatch: e.batch });
    const key = new Rng(seed).split(`eval-${method}`);
    const on = (set: "apps" | "contest") =>
      evaluateCode(sampler, tok, testbed, testbed.problems(set, "test"), evalSettings(e, set), key.split(set));
    const apps = await on("apps"), contest = table3.has(method) ? await on("contest") : null;
    sampler.destroy();
    ctx.records.push({
      testbed: "code",
      seed,
      method,
      apps: { passAtK: apps.passAtK, outcomes: apps.outcomes },
      ...(contest ? { contest: { passAtK: contest.passAtK } } : {}),
      seconds: (performance.now() - t0) / 1000,
    });
    await ctx.run.writeJson(`samples/code-seed${seed}-${method}.json`, apps.examples);
    const k5 = String(e.ks.filter((k) => k <= Math.min(5, e.samples)).at(-1) ?? e.ks[0]);
    console.error(`  code seed ${seed} ${method.padEnd(18)} pass@${k5} ${(100 * apps.passAtK[k5].mean).toFixed(1)}%`);
  };
  for (const seed of ctx.seeds) {
    const sft = await m.sft(seed);
    await evaluate(sft.model, seed, "sft");
    for (const row of rows) {
      const r = await timeInto(
        t,
        "code/ppo",
        () => trainPpo({ ...row.config, seed }, { policy: sft.model, task: m.task, scorer: m.gold10 }),
      );
      await logPhaseRows(ctx.run, { testbed: "code", seed, phase: `ppo_${row.id}` }, r.history);
      await evaluate(r.actor, seed, `ppo_${row.id}`);
    }
    for (const beta of ctx.cfg.code.betas.filter((b) => b > 0)) {
      const policy = await cloneGpt(sft.model, "dpo_iter"), method = `dpo_iter_beta_${beta}`;
      const dpo = { ...six.dpoIter.dpo, beta };
      const r = await timeInto(t, "code/dpo_iter", () =>
        trainIterativeDpo(gpu, {
          policy,
          tokenizer: tok,
          prompts: m.trainPrompts,
          scorer: m.gold10,
          reference: m.reference,
          config: { ...six.dpoIter, dpo, seed, referenceWinner: true, correctThreshold: 10 },
        }));
      await logPhaseRows(ctx.run, { testbed: "code", seed, phase: method }, r.metrics);
      await evaluate(policy, seed, method);
    }
  }
}

/** The rows as the summary records them (no seed: each seed runs every row). */
function rowRecords(testbed: FactorTestbed, rows: PpoRow[]): FactorRowRecord[] {
  return rows.map(({ config: { seed: _, ...config }, ...r }) => ({ testbed, ...r, config }));
}

async function main(): Promise<void> {
  const args = await parseExperimentArgs(Deno.args, {
    experiment: "ppo-factors",
    schema: PPO_FACTORS_SCHEMA,
    scales: PPO_FACTORS_SCALES,
    about: "deno task ppo-factors: §5 (Table 3, Figure 2) and Appendix C's β (Table 11) on dialogue and code",
  });
  const cfg = args.config, t0 = performance.now(), six = sixConfigs(args.scale);
  const testbeds = cfg.testbeds.split(",") as FactorTestbed[];
  // Every row's config is built and checked before anything is written (a bad budget names its key).
  const dialogueRows = ppoRows(six.dialogue.ppo, cfg.dialogue, "ppo-factors dialogue");
  const codeRows = (maxPromptLen: number) =>
    ppoRows({ ...six.code.ppo, maxPromptLen, criticInit: "policy" }, cfg.code, "ppo-factors code");
  checkRowDiffs(dialogueRows);
  checkRowDiffs(codeRows(six.code.ppo.maxPromptLen));
  const gpu = await getGpu();
  const run = await RunDir.start("ppo-factors", args.name, {
    config: { scale: args.scale, ...cfg, six },
    adapter: gpu.info,
  });
  if (!run) return console.log(alreadyDone("ppo-factors", args.name));
  const ctx: Context = {
    cfg,
    run,
    seeds: Array.from({ length: cfg.seeds }, (_, i) => cfg.seed0 + i),
    records: [],
    timings: {},
  };
  const rows: FactorRowRecord[] = [];
  if (testbeds.includes("dialogue")) {
    await runDialogue(ctx, six.dialogue, dialogueRows);
    rows.push(...rowRecords("dialogue", dialogueRows));
  }
  if (testbeds.includes("code")) {
    let used: PpoRow[] = [];
    await runCode(ctx, six.code, (len) => {
      used = codeRows(len);
      checkRowDiffs(used);
      return used;
    });
    rows.push(...rowRecords("code", used));
  }
  ctx.timings.total = (performance.now() - t0) / 1000;
  const summary: PpoFactorsSummary = {
    experiment: "ppo-factors",
    scale: args.scale,
    seeds: ctx.seeds,
    testbeds,
    presets: { dialogue: six.dialogue.preset, code: cfg.codePreset },
    factors: { dialogue: cfg.dialogue, code: cfg.code },
    rows,
    eval: {
      appsKs: [...six.code.eval.ks],
      contestKs: [...six.code.eval.contestKs],
      dialoguePrompts: six.dialogue.testbed.judgePrompts,
      dialogueSamples: six.dialogue.eval.samples,
    },
    records: ctx.records,
    timings: ctx.timings,
    choices: reportedChoices(PPO_FACTORS_SCHEMA, cfg, []),
  };
  await run.writeSummary(summary);
  console.log(`ppo-factors: ${ctx.records.length} evaluations in ${ctx.timings.total.toFixed(0)} s -> ${run.path}/`);
}

if (import.meta.main) await runMain(main);
