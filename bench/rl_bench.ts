/**
 * RL throughput on this machine's WebGPU adapter (`deno task bench:rl`): PPO iterations per minute on the sanity
 * task for the `xs` and `s` presets, with the time split between generation, scoring and training and the submits
 * per iteration, and the same for GRPO; then the PPO switches on the test-scale sanity run (Table 3's factors as
 * curves: advantage normalisation off, a smaller batch, the reference EMA on).
 *
 *   deno task bench:rl [--presets xs,s] [--batch 64] [--iterations 6] [--warmup 2] [--no-ablation]
 *
 * Throughput rows: a policy SFT-trained briefly on the sanity task (algorithms/testing.ts's fixture with no base
 * pretraining and 40 SFT steps: the answers have their SFT lengths; what the policy says does not change the cost), PPO
 * with the paper's four models (actor, reference, critic initialised from the reward model, and the reward model
 * scoring on the GPU; PAPER.md §9.5) and GRPO (no critic, groups of 8), at B rollouts of width T = 7 prompt + 10 new
 * tokens, 4 mini-batches; then two PPO iterations with every dispatch timed (GPU timestamps), the GPU time split by
 * phase (generation, scoring, training) and kernel; each iteration is timed by wall clock with its metrics read back (one round trip at the end
 * of the training submit, so the phases do not overlap), after `--warmup` untimed iterations that compile the
 * pipelines; the median over `--iterations` counts. Achieved GFLOP/s of generation and of the training submit come from
 * analytic model FLOPs (algorithms/flops.ts). Matmuls are autotuned for the models' shapes first. Ablation rows: the
 * seeded runs of algorithms/ppo_test.ts's configuration from its fixture (pretrained base + SFT; 70 iterations each);
 * the gold score of the last 10 iterations and the curve every 10. A JSON record goes to bench/results/.
 * @module
 */
import { parseArgs } from "node:util";
import { getGpu } from "../kernels/gpu.ts";
import { tuneMatmul } from "../kernels/autotune.ts";
import { Rng } from "../kernels/rng.ts";
import { Gpt } from "../nn/gpt.ts";
import { GPT_PRESETS, type GptPresetName } from "../nn/gpt_config.ts";
import { resolveConfig } from "../util/config.ts";
import type { MetricRow } from "../util/run_dir.ts";
import { GRPO_SCHEMA, trainGrpo } from "../algorithms/grpo.ts";
import { PPO_SCHEMA, trainPpo } from "../algorithms/ppo.ts";
import { RewardModelScorer } from "../algorithms/scorer.ts";
import { SANITY_PPO, sanityFixture } from "../algorithms/testing.ts";
import { gptDecodeFlops, gptForwardFlops, gptTrainFlops } from "../algorithms/flops.ts";
import { fmt, median, printTable, writeRecord } from "./common.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    presets: { type: "string", default: "xs,s" },
    batch: { type: "string", default: "64" },
    iterations: { type: "string", default: "6" },
    warmup: { type: "string", default: "2" },
    "no-ablation": { type: "boolean", default: false },
  },
});
const [B, timed, warmup] = [a.batch, a.iterations, a.warmup].map(Number);
const presets = a.presets!.split(",") as GptPresetName[];
const M = 4, MAX_PROMPT = 7, MAX_NEW = 10, GROUP = 8;
const gpu = await getGpu();
console.log(`adapter: ${gpu.info.description} (${gpu.info.backend}); load average ${Deno.loadavg().join(" ")}`);

/**
 * Medians of the timed iterations' perf metrics, and the achieved GFLOP/s of generation (KV-cache decoding of every
 * position) and of the training submit (model FLOPs counted analytically, algorithms/flops.ts: the reference's and
 * the critic's forward over the batch, one forward + backward per mini-batch for the actor and the critic).
 */
function perf(history: MetricRow[], genFlops: number, trainFlops: number) {
  const rows = history.slice(warmup);
  const m = (k: string) => median(rows.map((r) => r[k] as number));
  const iter = m("perf/iter_s"), gen = m("perf/gen_s"), train = m("perf/train_s");
  return {
    iterS: iter,
    itersPerMin: 60 / iter,
    genS: gen,
    scoreS: m("perf/score_s"),
    trainS: train,
    submits: m("perf/submits"),
    genTokensPerS: (B * m("charts/response_len")) / gen,
    genGflops: genFlops / gen / 1e9,
    trainGflops: trainFlops / train / 1e9,
  };
}

/** A profiler (kernels/gpu.ts `Gpu.profiler`) that sums GPU time by phase and, within a phase, by kernel. */
class PhaseProfile {
  readonly phases = new Map<string, { ms: number; dispatches: number; kernels: Map<string, number> }>();
  record(label: string, timings: readonly { kernel: string; ms: number }[]): void {
    const phase = /sampler/.test(label)
      ? "generation"
      : /score/.test(label)
      ? "scoring"
      : /train/.test(label)
      ? "training"
      : label;
    const p = this.phases.get(phase) ?? { ms: 0, dispatches: 0, kernels: new Map() };
    for (const t of timings) {
      p.ms += t.ms;
      p.dispatches++;
      p.kernels.set(t.kernel, (p.kernels.get(t.kernel) ?? 0) + t.ms);
    }
    this.phases.set(phase, p);
  }
  /** Per iteration: each phase's GPU ms and dispatches, and its `top` kernels. */
  summary(iterations: number, top = 8) {
    return [...this.phases].map(([phase, p]) => ({
      phase,
      ms: p.ms / iterations,
      dispatches: p.dispatches / iterations,
      kernels: [...p.kernels].sort((a, b) => b[1] - a[1]).slice(0, top)
        .map(([kernel, ms]) => ({ kernel, ms: ms / iterations, share: ms / p.ms })),
    }));
  }
}

const throughput: Record<string, unknown>[] = [];
const profiles: Record<string, unknown>[] = [];
for (const preset of presets) {
  if (!GPT_PRESETS[preset]) {
    throw new RangeError(`Unknown preset '${preset}'; known: ${Object.keys(GPT_PRESETS).join(", ")}`);
  }
  // The preset's width, depth and heads (layers 0 keeps the preset's); the fixture's context of 24 holds the sanity
  // task's 17-token rollouts. No base pretraining: what the policy says does not change the cost.
  const fx = await sanityFixture(gpu, { preset, layers: 0, baseSteps: 0, sftSteps: 40 });
  const { sft: policy, task } = fx;
  const rm = new Gpt(gpu, { ...policy.config, lmHead: false, scalarHead: true }, "rm");
  rm.params.initialize(new Rng(7).split("rm"));
  const T = MAX_PROMPT + MAX_NEW;
  const shapes = [B, B / M, GROUP].flatMap((b) => [...policy.matmulShapes(b, T), ...rm.matmulShapes(b, T)]);
  const tuned = await tuneMatmul(gpu, [...shapes, ...policy.matmulShapes(B, 1)]);
  const iterations = warmup + timed;
  const common = [`iterations=${iterations}`, `maxPromptLen=${MAX_PROMPT}`, `generation.maxNewTokens=${MAX_NEW}`];
  const ppoCfg = resolveConfig(PPO_SCHEMA, { sets: [...common, `batchSize=${B}`, `minibatches=${M}`] });
  const rmScorer = new RewardModelScorer(rm, task.tokenizer);
  const ppo = await trainPpo(ppoCfg, { policy, task, scorer: rmScorer, rewardModel: rm });
  const grpoCfg = resolveConfig(GRPO_SCHEMA, {
    sets: [...common, `prompts=${B / GROUP}`, `groupSize=${GROUP}`, `minibatches=${M}`],
  });
  const grpo = await trainGrpo(grpoCfg, { policy, task, scorer: rmScorer });
  const inference = gptForwardFlops(policy.config, B, T);
  const actorTrain = gptTrainFlops(policy.config, B, T), criticTrain = gptTrainFlops(rm.config, B, T);
  const flops = {
    PPO: inference + gptForwardFlops(rm.config, B, T) + actorTrain + criticTrain,
    GRPO: inference + actorTrain,
  };
  const gen = gptDecodeFlops(policy.config, B, T - 1);
  for (const [algo, h] of [["PPO", ppo.history], ["GRPO", grpo.history]] as const) {
    const row = { preset, algo, batch: B, width: T, minibatches: M, matmulClassesTuned: tuned.size };
    throughput.push({ ...row, ...perf(h, gen, flops[algo]) });
  }
  // Where a PPO iteration's GPU time goes: a short run with every submit profiled (timestamps per dispatch).
  if (gpu.hasTimestamps) {
    const prof = new PhaseProfile(), n = 2;
    gpu.profiler = prof;
    // The timed run's configuration, for n iterations.
    await trainPpo({ ...ppoCfg, iterations: n }, { policy, task, scorer: rmScorer, rewardModel: rm });
    gpu.profiler = null;
    profiles.push({ preset, algo: "PPO", phases: prof.summary(n) });
  }
  rmScorer.destroy();
}
console.log(`\nRL iterations on the sanity task, ${B} rollouts of width ${MAX_PROMPT + MAX_NEW}, ${M} mini-batches`);
printTable(
  [
    "preset",
    "algo",
    "iter/min",
    "iter s",
    "gen s",
    "score s",
    "train s",
    "submits",
    "gen tok/s",
    "gen GF/s",
    "train GF/s",
  ],
  throughput.map((r) => [
    r.preset as string,
    r.algo as string,
    fmt(r.itersPerMin as number, 1),
    fmt(r.iterS as number, 3),
    fmt(r.genS as number, 3),
    fmt(r.scoreS as number, 3),
    fmt(r.trainS as number, 3),
    fmt(r.submits as number, 0),
    fmt(r.genTokensPerS as number, 0),
    fmt(r.genGflops as number, 2),
    fmt(r.trainGflops as number, 2),
  ]),
);

for (const p of profiles) {
  console.log(`\nGPU time of one PPO iteration at ${p.preset}, by phase and kernel (timestamps per dispatch)`);
  for (const ph of p.phases as ReturnType<PhaseProfile["summary"]>) {
    console.log(`  ${ph.phase}: ${fmt(ph.ms, 1)} ms in ${fmt(ph.dispatches, 0)} dispatches`);
    for (const k of ph.kernels) {
      console.log(`    ${k.kernel.padEnd(36)} ${fmt(k.ms, 2).padStart(8)} ms  ${fmt(100 * k.share, 0).padStart(3)}%`);
    }
  }
}

// The switches of Table 3 on the test-scale sanity run: same SFT policy, same seed, one factor changed at a time.
const ablation: Record<string, unknown>[] = [];
if (!a["no-ablation"]) {
  const { sft: policy, task, gold: scorer } = await sanityFixture(gpu);
  const variants: [string, string[]][] = [
    ["test config (batch 32, adv. norm.)", []],
    ["advantage normalisation off", ["advNorm=false"]],
    ["batch 16", ["batchSize=16"]],
    ["reference EMA η = 0.01", ["refEmaEta=0.01"]],
  ];
  for (const [name, sets] of variants) {
    const cfg = resolveConfig(PPO_SCHEMA, { presets: [{ name: "sanity-tiny", values: SANITY_PPO }], sets });
    const t0 = performance.now();
    const { history } = await trainPpo(cfg, { policy, task, scorer });
    const gold = history.map((r) => r["charts/gold_mean"] as number);
    const kl = history.map((r) => r["charts/kl_ref"] as number);
    const last10 = gold.slice(-10).reduce((s, g) => s + g, 0) / 10;
    const every10 = gold.filter((_, i) => (i + 1) % 10 === 0);
    ablation.push({
      name,
      sets,
      last10Gold: last10,
      finalKl: kl.at(-1),
      goldEvery10: every10,
      s: (performance.now() - t0) / 1000,
    });
  }
  console.log(`\nPPO switches on the sanity task (${SANITY_PPO.iterations} iterations, gold judge, seed 1)`);
  printTable(
    ["run", "gold last 10", "KL last", "gold at 10, 20, …"],
    ablation.map((r) => [
      r.name as string,
      fmt(r.last10Gold as number, 3),
      fmt(r.finalKl as number, 2),
      (r.goldEvery10 as number[]).map((g) => g.toFixed(2)).join(" "),
    ]),
  );
}
const file = await writeRecord(gpu, "rl", { throughput, profiles, ablation, args: a });
console.log(`\nrecord: ${file}`);
