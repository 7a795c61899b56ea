/**
 * `deno task code:calibrate`: how the code testbed's difficulty was set, before any method was compared (issue 9;
 * TESTBEDS.md §1). For each candidate setting of the testbed it pretrains the base on the corpus, fine-tunes SFT,
 * and reports both models' pass@k per tier on the APPS-style test split: nothing else is trained, so the setting is
 * chosen by the SFT model alone (the target: introductory pass@5 between about 15% and 70%, each tier harder than
 * the one before), never by how PPO or DPO fare on it.
 *
 * Writes runs/code_calibration/<name>/summary.json (a row per variant, the variants' options and timings).
 *
 * @example
 * ```sh
 * deno task code:calibrate                                   # every variant at xs, the code experiment's steps
 * deno task code:calibrate --set variants=shared --set preset=s
 * ```
 * @module
 */
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import type { GptPresetName } from "../nn/gpt_config.ts";
import type { Gpt } from "../nn/gpt.ts";
import { Sampler } from "../nn/sampler.ts";
import { trainSft } from "../algorithms/sft.ts";
import { CODE_DEFAULTS, CodeTestbed, type CodeTestbedOptions } from "../testbeds/code/mod.ts";
import { WordTokenizer } from "../testbeds/tokenizer.ts";
import { ConfigError, opt, type Overrides, resolveConfig } from "../util/config.ts";
import { parseExperimentArgs, runMain, type Scale } from "../util/cli.ts";
import { RunDir } from "../util/run_dir.ts";
import { evaluateCode } from "./code_eval.ts";
import { CODE_SCALES, CODE_SCHEMA } from "./code_config.ts";

/** The tiers first tried: interview references of two to four statements, competition three to five. */
const FIRST_TIERS: CodeTestbedOptions["tiers"] = {
  ...CODE_DEFAULTS.tiers,
  interview: { ...CODE_DEFAULTS.tiers.interview, statements: [2, 4] },
  competition: { ...CODE_DEFAULTS.tiers.competition, statements: [3, 5] },
};

/** The candidate settings, in the order they were tried; each says what it changes and why. */
export const VARIANTS: Record<string, { doc: string; options: Partial<CodeTestbedOptions> }> = {
  disjoint: {
    doc: "DeepCoder's rule: no evaluation problem computes a training problem's function (the first setting)",
    options: { disjointSplits: true, tiers: FIRST_TIERS },
  },
  shared: {
    doc: "An evaluation problem may compute a training problem's function on new examples, as APPS's test " +
      "problems share solution ideas with its training problems",
    options: { disjointSplits: false, tiers: FIRST_TIERS },
  },
  gentle: {
    doc: "shared, with interview references of two or three statements and competition ones of three or four, " +
      "so that the tiers step down more evenly from the introductory one (the defaults since)",
    options: {},
  },
};

const SCHEMA = {
  variants: opt(Object.keys(VARIANTS).join(","), `Variants to run, comma-separated: ${Object.keys(VARIANTS)}`),
  preset: opt<GptPresetName>("xs", "Model size", { choices: ["xs", "s", "m"] }),
  seed: opt(1, "Seed of the base, SFT and sampling", { int: true }),
  samples: opt(10, "Programs per test problem (n of pass@k)", { int: true, min: 5 }),
  appsTest: opt(200, "APPS-style test problems (the code experiment's)", { int: true, min: 5 }),
  baseSteps: opt(0, "Pretraining steps of the base (0: the code experiment's at this scale)", { int: true, min: 0 }),
  sftSteps: opt(0, "SFT steps (0: the code experiment's at this scale)", { int: true, min: 0 }),
  sftLrs: opt([0], "SFT peak learning rates, one SFT model each from the same base (0: the code experiment's)"),
};

/** The code experiment's scale of the same name decides the steps, sizes and corpus (so the calibration is of the
 * model the experiment trains). */
const SCALES: Record<Scale, Overrides<typeof SCHEMA>> = {
  tiny: { variants: "gentle", samples: 5, appsTest: 10 },
  small: {},
  full: { samples: 20 },
};

async function main(): Promise<void> {
  const args = await parseExperimentArgs(Deno.args, {
    experiment: "code_calibration",
    schema: SCHEMA,
    scales: SCALES,
    about: "deno task code:calibrate: the code testbed's difficulty, set by the SFT model's pass@5 alone",
  });
  const cfg = args.config;
  const code = resolveConfig(CODE_SCHEMA, { presets: [{ name: args.scale, values: CODE_SCALES[args.scale] }] });
  const baseCfg = { ...code.base, preset: cfg.preset, seed: cfg.seed, steps: cfg.baseSteps || code.base.steps };
  const sftCfg = { ...code.sft, preset: cfg.preset, seed: cfg.seed, steps: cfg.sftSteps || code.sft.steps };
  const names = cfg.variants.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const bad = names.find((n) => !(n in VARIANTS));
  if (names.length === 0 || bad !== undefined) {
    throw new ConfigError(`variants must name ones of ${Object.keys(VARIANTS).join(", ")}; got '${cfg.variants}'`);
  }
  const sizes = { ...code.testbed, appsTest: cfg.appsTest };
  for (const n of names) new CodeTestbed({ ...sizes, ...VARIANTS[n].options }); // bad options fail before writing
  const gpu = await getGpu();
  const run = await RunDir.create("code_calibration", args.name, {
    config: { scale: args.scale, ...cfg },
    adapter: gpu.info,
  });
  const rows: Record<string, unknown>[] = [];
  const bases = new Map<string, Awaited<ReturnType<typeof trainSft>>>();
  for (const name of names) {
    const t0 = performance.now();
    const testbed = new CodeTestbed({ ...sizes, ...VARIANTS[name].options });
    const tok = new WordTokenizer(testbed.vocabulary), rng = new Rng(cfg.seed).split("calibrate");
    // Variants whose corpus is the same share one base (the corpus does not see the problems unless disjoint).
    const o = testbed.options;
    const key = o.disjointSplits ? name : JSON.stringify([
      o.corpusStatements,
      o.corpusInputLength,
      o.inputMax,
      o.publicTests,
      o.promptBudget,
      o.stepLimit,
    ]);
    if (!bases.has(key)) {
      const corpus = testbed.pretrainCorpus(code.corpus.train, rng.split(`corpus-${key}`));
      const heldout = testbed.pretrainCorpus(code.corpus.heldout, rng.split(`heldout-${key}`));
      bases.set(key, await trainSft(gpu, baseCfg, { tokenizer: tok, train: corpus, heldout }));
    }
    const base = bases.get(key)!;
    const sftData = testbed.sftExamples(), split = Math.max(1, Math.floor(sftData.length * 0.05));
    const row: Record<string, unknown> = {
      variant: name,
      testbed: testbed.describe().splits,
      baseSteps: baseCfg.steps,
      sftSteps: sftCfg.steps,
      sftEpochs: (sftCfg.steps * sftCfg.batchSize) / (sftData.length - split),
      baseHeldoutLoss: base.heldoutLoss,
      sft: [] as unknown[],
    };
    const evaluate = async (method: string, model: Gpt) => {
      const sampler = new Sampler(model, { maxBatch: 256 });
      const ev = await evaluateCode(sampler, tok, testbed, testbed.problems("apps", "test"), {
        samples: cfg.samples,
        ks: [1, 5],
        submissions: 5,
        maxNewTokens: 24,
        temperature: 1,
        topK: 0,
        keep: 2,
      }, rng.split(`eval-${name}-${method}`));
      sampler.destroy();
      const p5 = ev.passAtK["5"], pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      console.error(
        `${name} ${method}: pass@5 intro ${pct(p5.introductory)} interview ${pct(p5.interview)} competition ` +
          `${pct(p5.competition)} (average ${pct(p5.mean)}); syntax errors ${pct(ev.outcomes.syntax_error)}`,
      );
      return { passAtK: ev.passAtK, outcomes: ev.outcomes, examples: ev.examples.slice(0, 20) };
    };
    row.base = await evaluate("base", base.model);
    for (const lr of cfg.sftLrs.map((x) => x || sftCfg.lr)) {
      const sft = await trainSft(gpu, { ...sftCfg, lr }, {
        tokenizer: tok,
        train: sftData.slice(split),
        heldout: sftData.slice(0, split),
      }, { init: base.model });
      (row.sft as unknown[]).push({ lr, heldoutLoss: sft.heldoutLoss, ...await evaluate(`sft lr ${lr}`, sft.model) });
    }
    row.seconds = (performance.now() - t0) / 1000;
    rows.push(row);
  }
  const variants = Object.fromEntries(names.map((n) => [n, VARIANTS[n]]));
  await run.writeSummary({ experiment: "code_calibration", scale: args.scale, preset: cfg.preset, variants, rows });
  console.log(`code:calibrate: ${rows.length} variants -> ${run.path}/`);
}

if (import.meta.main) await runMain(main);
