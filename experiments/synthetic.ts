/**
 * `deno task synthetic`: §4.2 of the paper, Figure 1. Eight prompts, eight responses, the optimal response on the
 * diagonal, a sparse preference dataset consistent with it (testbeds/synthetic.ts); policy and reward model are MLPs
 * on one-hot prompts trained on the GPU. For each seed: π_ref, a reward model fitted by Bradley-Terry on the pairs,
 * DPO (β 0.1) and PPO on the learned reward with a KL penalty to π_ref (β 0.1), then the Figure 1 matrices. The
 * question: does DPO raise the probability of responses the data does not cover (paper: 0.11 → 0.23) while PPO keeps
 * them low and learns the optimal policy?
 *
 * Writes runs/synthetic/<name>/: config.json, metrics.jsonl (curves; rows carry `seed` and `phase`),
 * seeds/seed_<s>.json (the matrices), summary.json (per-seed numbers and 95% t-intervals over seeds).
 * `deno task report` draws Figure 1.
 *
 * @example
 * ```sh
 * deno task synthetic                    # small: 10 seeds, minutes on a 2-core CPU
 * deno task synthetic --scale tiny       # seconds (CI)
 * deno task synthetic --set dpo.lr=3e-3 --set seeds=5 --name lr3e-3
 * ```
 * @module
 */
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { ADAMW_CONFIG_DEFAULTS } from "../nn/adamw.ts";
import {
  checkSyntheticOptions,
  diagonalMean,
  makeSyntheticData,
  meanOver,
  uncoveredCells,
} from "../testbeds/synthetic.ts";
import { type ConfigOf, fields, opt, type Overrides } from "../util/config.ts";
import { parseExperimentArgs, runMain, type Scale } from "../util/cli.ts";
import { progress } from "../util/progress.ts";
import { alreadyDone, RunDir } from "../util/run_dir.ts";
import {
  aggregate,
  klTarget,
  matrixRows,
  type SeedMatrices,
  seedResult,
  softmaxRows,
  type SyntheticSummary,
} from "./synthetic_summary.ts";
import { trainPpo } from "./synthetic_ppo.ts";
import { type Logger, SyntheticGpu, trainDpo, trainReward } from "./synthetic_train.ts";

const phase = (steps: number, lr: number, what: string) => ({
  steps: opt(steps, `${what} steps (ours: enough for its loss to flatten at this learning rate)`, {
    int: true,
    min: 1,
  }),
  lr: opt(lr, `${what} AdamW learning rate, constant (ours; the paper's toy gives none)`, { min: 0 }),
});

/** Every setting; all but the sizes and the two β are ours (PAPER.md §3.5: "not in paper"). */
export const SCHEMA = {
  seeds: opt(10, "Number of seeds; each regenerates data, π_ref, RM, DPO and PPO (ours; >= 5 for a t-interval)", {
    int: true,
    min: 1,
  }),
  seed0: opt(1, "Seed of the first run; run i uses seed0 + i, and every random stream derives from it", { int: true }),
  data: {
    prompts: opt(8, "Prompts (paper: 8)", { int: true, min: 1 }),
    responses: opt(8, "Responses (paper: 8)", { int: true, min: 2 }),
    coveredPerPrompt: opt(3, "Responses per prompt that the pairs cover, the diagonal included (ours: 'limited')", {
      int: true,
      min: 2,
    }),
    pairsPerPrompt: opt(3, "Pairs per prompt: diagonal vs each covered response, then others (ours)", {
      int: true,
      min: 1,
    }),
    suboptimalMax: opt(0.9, "Ground-truth reward of a non-diagonal response ~ U[0, this); the diagonal's is 1 (ours)", {
      min: 0,
      max: 1,
    }),
  },
  model: {
    hidden: opt([64, 64], "Hidden widths of the policy and reward MLPs (ours; the paper says only 'MLP')"),
    activation: opt("relu", "Hidden activation (ours)", { choices: ["relu", "gelu"] as const }),
    referenceInitStd: opt(
      0.05,
      "π_ref is the policy MLP at initialisation; this output-layer init std keeps it near-uniform, as the " +
        "paper's figure shows (0.11-0.14 per cell), without an SFT stage the paper does not describe (ours)",
      { min: 0 },
    ),
  },
  optim: {
    weightDecay: opt(0, "AdamW weight decay (ours: 0, so nothing but the losses pulls the policies; ReaLHF 0.05)", {
      min: 0,
    }),
    maxGradNorm: opt(1, "Gradient-norm clip (ReaLHF 1.0)", { min: 0 }),
  },
  reward: phase(400, 3e-3, "Reward-model (Bradley-Terry, Eq. 4) full-batch"),
  dpo: {
    beta: opt(0.1, "DPO β (paper: 0.1)", { min: 0 }),
    ...phase(600, 3e-3, "DPO full-batch"),
  },
  ppo: {
    beta: opt(0.1, "KL-penalty β of Eq. 2 (paper: 0.1)", { min: 0 }),
    ...phase(300, 3e-3, "PPO rollout"),
    samplesPerPrompt: opt(8, "Responses sampled per prompt per step; batch = prompts x this (ours)", {
      int: true,
      min: 2,
    }),
    minibatches: opt(4, "Mini-batches per rollout, one AdamW step each (ReaLHF n_minibatches 4)", {
      int: true,
      min: 1,
    }),
    clipEps: opt(0.2, "Surrogate clip ε (ReaLHF 0.2)", { min: 0, max: 1 }),
    baseline: opt(
      "batch",
      "batch: whiten rewards over the rollout (batch-mean baseline + ReaLHF advantage normalisation); prompt: " +
        "each prompt's sample mean and std (GRPO) (ours)",
      { choices: ["batch", "prompt"] as const },
    ),
  },
  logEvery: opt(25, "Log curves (and read the GPU) every this many steps", { int: true, min: 1 }),
};

/** The resolved config. */
export type SyntheticConfig = ConfigOf<typeof SCHEMA>;

/** tiny: seconds, for tests and CI; small: the default; full: more seeds and steps. */
export const SCALES: Record<Scale, Overrides<typeof SCHEMA>> = {
  tiny: {
    seeds: 2,
    model: { hidden: [16] },
    reward: { steps: 20 },
    dpo: { steps: 20 },
    ppo: { steps: 10, samplesPerPrompt: 4, minibatches: 2 },
    logEvery: 10,
  },
  small: {},
  full: { seeds: 30, reward: { steps: 800 }, dpo: { steps: 1200 }, ppo: { steps: 600 } },
};

/** Trains one seed and writes its matrices; returns the file written. */
async function runSeed(
  cfg: SyntheticConfig,
  seed: number,
  run: RunDir,
  tick: () => void,
): Promise<{ file: string; matrices: SeedMatrices }> {
  const gpu = await getGpu();
  const rng = new Rng(seed);
  const data = makeSyntheticData(rng.split("data"), cfg.data);
  const s = new SyntheticGpu(gpu, data);
  const optim = { ...ADAMW_CONFIG_DEFAULTS, weightDecay: cfg.optim.weightDecay, maxGradNorm: cfg.optim.maxGradNorm };
  const mlp = { hidden: cfg.model.hidden, activation: cfg.model.activation };
  const policyMlp = { ...mlp, outputInitStd: cfg.model.referenceInitStd };
  const rollout = data.options.prompts * cfg.ppo.samplesPerPrompt;
  // π_ref, and the DPO and PPO policies that start from it: one init stream, so bitwise the same parameters.
  const [ref, dpo, ppo] = ["ref", "dpo", "ppo"].map((n) =>
    s.net(n, policyMlp, rng.split("policy-init"), rollout, optim)
  );
  const rm = s.net("rm", mlp, rng.split("reward-init"), rollout, optim);
  const cells = uncoveredCells(data.coverage);
  const logger = (name: string, probs: boolean): Logger => (step, metrics, table) => {
    const m = probs ? softmaxRows(table, s.nx, s.ny) : matrixRows(table, s.nx, s.ny);
    const extra = { "synthetic/uncovered_mean": meanOver(m, cells), "synthetic/diagonal_mean": diagonalMean(m) };
    return run.log(step, { seed, phase: name, ...metrics, ...extra });
  };
  await trainReward(s, rm, cfg.reward, cfg.logEvery, logger("rm", false), tick);
  await trainDpo(s, dpo, ref, cfg.dpo, cfg.logEvery, logger("dpo", true), tick);
  await trainPpo(s, ppo, ref, rm, cfg.ppo, rng.split("ppo-sample"), cfg.logEvery, logger("ppo", true), tick);
  const probs = async (net: typeof ref) => softmaxRows(await s.table(net), s.nx, s.ny);
  const reference = await probs(ref), reward = matrixRows(await s.table(rm), s.nx, s.ny);
  const matrices: SeedMatrices = {
    seed,
    pairs: data.pairs,
    coverage: data.coverage,
    groundTruth: data.groundTruth,
    reference,
    dpo: await probs(dpo),
    ppo: await probs(ppo),
    reward,
    ppoTarget: klTarget(reference, reward, cfg.ppo.beta),
  };
  const file = `seeds/seed_${seed}.json`;
  await run.writeJson(file, matrices);
  return { file, matrices };
}

async function main(): Promise<void> {
  const args = await parseExperimentArgs(Deno.args, {
    experiment: "synthetic",
    schema: SCHEMA,
    scales: SCALES,
    about: "deno task synthetic: §4.2 / Figure 1, DPO vs PPO on the 8 x 8 synthetic task with MLPs",
  });
  const cfg = args.config;
  checkSyntheticOptions(cfg.data); // before anything is written: a bad data setting names the field
  const gpu = await getGpu();
  const run = await RunDir.start("synthetic", args.name, { config: { scale: args.scale, ...cfg }, adapter: gpu.info });
  if (!run) return console.log(alreadyDone("synthetic", args.name));
  const perSeed = cfg.reward.steps + cfg.dpo.steps + cfg.ppo.steps;
  const bar = progress("synthetic", cfg.seeds * perSeed);
  let done = 0;
  const seeds = Array.from({ length: cfg.seeds }, (_, i) => cfg.seed0 + i);
  const results: SyntheticSummary["perSeed"] = [];
  const files: Record<string, string> = {};
  for (const seed of seeds) {
    const { file, matrices } = await runSeed(cfg, seed, run, () => bar.update(++done, `seed ${seed}`));
    files[seed] = file;
    results.push(seedResult(matrices));
  }
  bar.stop();
  const summary: SyntheticSummary = {
    experiment: "synthetic",
    scale: args.scale,
    figureSeed: seeds[0],
    matrices: files,
    perSeed: results,
    aggregate: aggregate(results),
    beta: { dpo: cfg.dpo.beta, ppo: cfg.ppo.beta },
    // Every setting with its value and its one-line doc, so the report can list the choices the run made.
    choices: fields(SCHEMA).map(([key, f]) => ({
      key,
      value: key.split(".").reduce((o: unknown, k) => (o as Record<string, unknown>)[k], cfg),
      doc: f.doc,
    })),
  };
  await run.writeSummary(summary);
  const u = summary.aggregate.uncovered, f = (x: number) => x.toFixed(3);
  console.log(
    `synthetic (${seeds.length} seeds) -> ${run.path}/: mean probability on uncovered cells ` +
      `π_ref ${f(u.reference.mean)}, π_DPO ${f(u.dpo.mean)}, π_PPO ${f(u.ppo.mean)} (paper: 0.11 -> 0.23 for DPO)`,
  );
}

if (import.meta.main) await runMain(main);
