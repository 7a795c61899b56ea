/**
 * `deno task code`: the code benchmarks of §6.3-6.4 and Appendix C.1 (Tables 7, 8 and 9) on the code testbed
 * (testbeds/code/: a DeepCoder-style list language, programs executed against hidden tests).
 *
 * Per model size (xs, s; m at `full`) a base model is pretrained once on random programs with their examples (the
 * stand-in for CodeLlama: it knows what programs do, not this benchmark), then per seed (the base and the SFT models
 * come from the model store when §5's study made them first: experiments/code_models.ts, model_cache.ts):
 * 1. SFT on the training problems' reference solutions;
 * 2. PPO from SFT with the test reward, 10 when the program passes every test of its training problem, else 0, and
 *    no reward model (§6.3); the critic starts from the SFT policy with a new head (there is no reward model);
 * 3. DPO-Iter from SFT: each round 5 programs per prompt from the current policy, labelled by the same tests, best
 *    vs worst, the reference solution as the winner when none passes, the reference reset to the latest policy
 *    (§6.3; algorithms/iterative_dpo.ts);
 * 4. DPO from SFT on the contest split's correct-vs-incorrect pairs, one epoch (§6.4, Appendix A.1);
 * 5. at `table9Preset`: PPO and DPO-Iter again with the pretrained base as the reference (Table 9).
 * Each model is evaluated on the APPS-style test split (pass@k per tier, Table 7) and on the contest validation and
 * test splits (10@n, Table 8), with the outcome kinds of every sample.
 *
 * Writes runs/code/<name>/: config.json, metrics.jsonl (rows carry `preset`, `seed`, `phase`), samples/ (programs
 * each model wrote, with their verdicts), summary.json (every evaluation, timings, the testbed's statistics and the
 * settings with their docs). `deno task report` makes the tables and figures.
 *
 * @example
 * ```sh
 * deno task code                      # small: xs and s, 3 seeds
 * deno task code --scale tiny         # about a minute (CI)
 * deno task code --set presets=xs --set seeds=5 --name xs5
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
import { CodeTestbed } from "../testbeds/code/mod.ts";
import { WordTokenizer } from "../testbeds/tokenizer.ts";
import { ConfigError } from "../util/config.ts";
import { parseExperimentArgs, runMain } from "../util/cli.ts";
import { alreadyDone, RunDir } from "../util/run_dir.ts";
import { evaluateCode } from "./code_eval.ts";
import { codeModels } from "./code_models.ts";
import { type EvalRecord, type Method } from "./code_summary.ts";
import { CODE_SCALES, CODE_SCHEMA, type CodeConfig, evalSettings, testbedOptions } from "./code_config.ts";
import { logPhaseRows, reportedChoices, timeInto } from "./run_common.ts";

/** The whole experiment state of one model size. */
interface Context {
  cfg: CodeConfig;
  run: RunDir;
  testbed: CodeTestbed;
  tok: WordTokenizer;
  records: EvalRecord[];
  timings: Record<string, number>;
}

/** Evaluates `model` on the sets a method is reported on and keeps its programs. */
async function evaluate(
  ctx: Context,
  model: Gpt,
  tags: { preset: GptPresetName; seed: number; method: Method },
  sets: { set: "apps" | "contest"; split: "validation" | "test" }[],
): Promise<void> {
  const e = ctx.cfg.eval;
  const sampler = new Sampler(model, { maxBatch: e.batch });
  const kept: Record<string, unknown> = {};
  for (const { set, split } of sets) {
    const settings = evalSettings(e, set), { samples, ks } = settings;
    const key = new Rng(tags.seed).split(`eval-${tags.method}-${set}-${split}`);
    const ev = await evaluateCode(sampler, ctx.tok, ctx.testbed, ctx.testbed.problems(set, split), settings, key);
    const { passAtK, kAtN, outcomes, seconds } = ev;
    ctx.records.push({ ...tags, set, split, passAtK, kAtN, outcomes, samples, seconds });
    kept[`${set}/${split}`] = ev.examples;
    const k5 = ks.filter((k) => k <= 5).at(-1) ?? ks[0], p5 = passAtK[String(k5)];
    console.error(
      `  ${tags.preset} seed ${tags.seed} ${tags.method} ${set}/${split}: pass@${k5} ` +
        `${fmt(p5.mean)} (intro ${fmt(p5.introductory)}), ${e.submissions}@${samples} ${fmt(kAtN)}, syntax errors ` +
        `${fmt(outcomes.syntax_error)} [${seconds.toFixed(1)} s]`,
    );
  }
  sampler.destroy();
  await ctx.run.writeJson(`samples/${tags.preset}-seed${tags.seed}-${tags.method}.json`, kept);
}

const fmt = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "-" : `${(100 * x).toFixed(1)}%`);
const APPS_TEST = [{ set: "apps" as const, split: "test" as const }];
const CONTEST = [{ set: "contest" as const, split: "validation" as const }, {
  set: "contest" as const,
  split: "test" as const,
}];

/** Pretrains the base of one size; SFT, PPO, DPO-Iter and DPO per seed; Table 9 where asked. */
async function runPreset(ctx: Context, preset: GptPresetName): Promise<void> {
  const { cfg, testbed, tok } = ctx, gpu = await getGpu();
  const seeds = Array.from({ length: cfg.seeds }, (_, i) => cfg.seed0 + i);
  // 0. The pretrained base, once per size (trained, or from the model store when §5's study made it).
  const m = await codeModels(gpu, cfg, testbed, tok, preset, ctx.timings);
  await logPhaseRows(ctx.run, { preset, seed: cfg.seed0, phase: "base" }, m.base.extra.rows);
  const base = m.base.model, { trainPrompts, gold10, task, reference, maxPromptLen } = m;
  for (const seed of seeds) {
    const tags = { preset, seed };
    await evaluate(ctx, base, { ...tags, method: "base" }, APPS_TEST);
    // 1. SFT from the base.
    const sftRun = await m.sft(seed);
    await logPhaseRows(ctx.run, { ...tags, phase: "sft" }, sftRun.extra.rows);
    const sft = sftRun.model;
    await evaluate(ctx, sft, { ...tags, method: "sft" }, [...APPS_TEST, ...CONTEST]);
    // 2. PPO with the 10/0 test reward (and, for Table 9, the base as its KL reference).
    const ppo = async (method: Method, ref: Gpt | undefined) => {
      const ppoCfg = { ...cfg.ppo, seed, maxPromptLen, criticInit: "policy" as const };
      const r = await timeInto(
        ctx.timings,
        `${preset}/${method}`,
        () => trainPpo(ppoCfg, { policy: sft, reference: ref, task, scorer: gold10 }),
      );
      await logPhaseRows(ctx.run, { ...tags, phase: method }, r.history);
      await evaluate(ctx, r.actor, { ...tags, method }, method === "ppo" ? [...APPS_TEST, ...CONTEST] : APPS_TEST);
    };
    // 3. DPO-Iter: labels from the same tests; the reference solution wins when no sample passes.
    const dpoIter = async (method: Method, ref: Gpt | undefined) => {
      const policy = await cloneGpt(sft, method);
      const r = await timeInto(ctx.timings, `${preset}/${method}`, () =>
        trainIterativeDpo(gpu, {
          policy,
          referenceModel: ref,
          tokenizer: tok,
          prompts: trainPrompts,
          scorer: gold10,
          reference,
          config: { ...cfg.dpoIter, seed, referenceWinner: true, correctThreshold: 10 },
        }));
      await logPhaseRows(ctx.run, { ...tags, phase: method }, r.metrics);
      await evaluate(ctx, policy, { ...tags, method }, method === "dpo_iter" ? [...APPS_TEST, ...CONTEST] : APPS_TEST);
    };
    await ppo("ppo", undefined);
    await dpoIter("dpo_iter", undefined);
    // 4. DPO on the contest split's correct-vs-incorrect pairs, one epoch (§6.4).
    const dpoPolicy = await cloneGpt(sft, "dpo");
    const d = await timeInto(ctx.timings, `${preset}/dpo`, () =>
      trainDpo(gpu, {
        policy: dpoPolicy,
        reference: sft,
        tokenizer: tok,
        pairs: testbed.contestPairs(),
        config: { ...cfg.dpo, seed },
      }));
    await logPhaseRows(ctx.run, { ...tags, phase: "dpo" }, d.metrics);
    await evaluate(ctx, dpoPolicy, { ...tags, method: "dpo" }, [...APPS_TEST, ...CONTEST]);
    // 5. Table 9: the pretrained base as the reference model.
    if (cfg.table9Preset === preset) {
      await ppo("ppo_base_ref", base);
      await dpoIter("dpo_iter_base_ref", base);
    }
  }
}

/** Parses `presets` ("xs,s"): known names, no repeats; an error names the key. */
export function parsePresets(value: string): GptPresetName[] {
  const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const known = ["xs", "s", "m"];
  const bad = names.find((n) => !known.includes(n));
  if (names.length === 0 || bad !== undefined || new Set(names).size !== names.length) {
    throw new ConfigError(
      `presets must be distinct names from ${known.join(", ")} separated by commas; got '${value}'`,
    );
  }
  return names as GptPresetName[];
}

async function main(): Promise<void> {
  const args = await parseExperimentArgs(Deno.args, {
    experiment: "code",
    schema: CODE_SCHEMA,
    scales: CODE_SCALES,
    about: "deno task code: §6.3-6.4 and Appendix C.1 (Tables 7, 8, 9) on the code testbed",
  });
  const cfg = args.config, presets = parsePresets(cfg.presets);
  const t0 = performance.now();
  const testbed = new CodeTestbed(testbedOptions(cfg)); // before anything is written: bad options name the field
  const tok = new WordTokenizer(testbed.vocabulary);
  const testbedSeconds = (performance.now() - t0) / 1000;
  const gpu = await getGpu();
  const run = await RunDir.start("code", args.name, { config: { scale: args.scale, ...cfg }, adapter: gpu.info });
  if (!run) return console.log(alreadyDone("code", args.name));
  const ctx: Context = { cfg, run, testbed, tok, records: [], timings: { testbed: testbedSeconds } };
  for (const preset of presets) await runPreset(ctx, preset);
  ctx.timings.total = (performance.now() - t0) / 1000;
  await run.writeSummary({
    experiment: "code",
    scale: args.scale,
    presets,
    seeds: Array.from({ length: cfg.seeds }, (_, i) => cfg.seed0 + i),
    table9Preset: cfg.table9Preset,
    eval: cfg.eval,
    testbed: testbed.describe(),
    records: ctx.records,
    timings: ctx.timings,
    choices: reportedChoices(CODE_SCHEMA, cfg, ["base", "sft", "ppo", "dpoIter", "dpo"]),
  });
  console.log(`code: ${ctx.records.length} evaluations in ${ctx.timings.total.toFixed(0)} s -> ${run.path}/`);
}

if (import.meta.main) await runMain(main);
