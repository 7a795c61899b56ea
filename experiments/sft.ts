/**
 * `deno task sft`: supervised fine-tuning (algorithms/sft.ts) on the built-in sanity task (testbeds/sanity.ts), the
 * SFT starting point of the RLHF algorithms, then responses sampled from the final model on the GPU
 * (nn/sampler.ts) and scored by the task's gold judge.
 *
 * Writes runs/sft/<name>/: config.json, metrics.jsonl (`losses/sft`, `losses/sft_heldout`, `perf/tokens_per_s`,
 * `perf/gflops`, ...), checkpoints/ (resumable: `--set sft.resume=true`), samples.json and summary.json (final losses,
 * throughput, and the samples' gold mean and length). The sanity task's SFT responses are random letters, so the SFT
 * policy's gold score stays near 1/8: the headroom PPO and DPO are meant to use.
 *
 * @example
 * ```sh
 * deno task sft                           # small: minutes on a 2-core CPU
 * deno task sft --scale tiny              # seconds (CI)
 * deno task sft --set sft.steps=1000 --name long
 * deno task sft --name long --set sft.resume=true   # continue a killed run from its last checkpoint
 * ```
 * @module
 */
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { Sampler } from "../nn/sampler.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { buildBatch } from "../testbeds/tokenizer.ts";
import { type ConfigOf, opt, type Overrides } from "../util/config.ts";
import { parseExperimentArgs, runMain, type Scale } from "../util/cli.ts";
import { readJson } from "../util/fs.ts";
import { RunDir } from "../util/run_dir.ts";
import { SFT_SCHEMA, trainSft } from "../algorithms/sft.ts";

/** Every setting: SFT's, the data sizes and the sampling of the final model. */
export const SCHEMA = {
  sft: SFT_SCHEMA,
  data: {
    train: opt(4096, "SFT examples drawn from the sanity task (ours)", { int: true, min: 1 }),
    heldout: opt(256, "Held-out examples for losses/sft_heldout (ours)", { int: true, min: 0 }),
  },
  sample: {
    prompts: opt(64, "Held-out prompts sampled from the final model and scored by the gold judge", {
      int: true,
      min: 1,
    }),
    maxNewTokens: opt(16, "Response length limit (the judge scores the first 8 characters)", { int: true, min: 1 }),
    temperature: opt(1, "Sampling temperature (paper Appendix A.2: 1.0)", { min: 0 }),
  },
};

/** The resolved config. */
export type SftExperimentConfig = ConfigOf<typeof SCHEMA>;

/** Scale presets (DESIGN.md): tiny runs in seconds for tests and CI; small is the default. */
export const SCALES: Record<Scale, Overrides<typeof SCHEMA>> = {
  tiny: {
    sft: { steps: 40, batchSize: 16, ctx: 24, logEvery: 10, evalEvery: 20, checkpointEvery: 20 },
    data: { train: 256, heldout: 32 },
    sample: { prompts: 16 },
  },
  small: {},
  full: {
    sft: { preset: "s", steps: 3000, batchSize: 64, evalEvery: 500, checkpointEvery: 500 },
    data: { train: 16384 },
  },
};

async function main() {
  const args = await parseExperimentArgs(Deno.args, {
    experiment: "sft",
    schema: SCHEMA,
    scales: SCALES,
    about: "deno task sft: supervised fine-tuning on the sanity task, then gold-scored samples",
  });
  const cfg = args.config, gpu = await getGpu();
  const run = await RunDir.create("sft", args.name, {
    config: { ...cfg, scale: args.scale },
    adapter: gpu.info,
    resume: cfg.sft.resume,
  });
  const task = new SanityTask(), rng = new Rng(cfg.sft.seed).split("sanity");
  const data = {
    tokenizer: task.tokenizer,
    train: SanityTask.many(rng.split("train"), cfg.data.train, (r) => task.sftExample(r)),
    heldout: SanityTask.many(rng.split("heldout"), cfg.data.heldout, (r) => task.sftExample(r)),
  };
  const r = await trainSft(gpu, cfg.sft, data, { run });
  // Samples of the final model on held-out prompts, scored by the gold judge.
  const tok = task.tokenizer;
  const prompts = SanityTask.many(rng.split("sample-prompts"), cfg.sample.prompts, (x) => task.prompt(x));
  const batch = buildBatch(tok, prompts.map((p) => ({ prompt: p, response: [] })), {
    context: r.config.ctx,
    eos: false,
  });
  const sampler = new Sampler(r.model, { maxBatch: prompts.length });
  const out = await sampler.generate(batch, {
    maxNewTokens: cfg.sample.maxNewTokens,
    temperature: cfg.sample.temperature,
    eos: tok.eos,
    pad: tok.pad,
    forbid: [tok.pad, tok.bos, tok.sep],
    key: rng.split("sample"),
  });
  sampler.destroy();
  const samples = prompts.map((prompt, b) => {
    const ids = [...out.targets!.subarray(b * out.T, (b + 1) * out.T)].filter((_, t) => out.mask![b * out.T + t] > 0);
    const response = tok.decode(ids, { specials: "drop" });
    return { prompt, response, gold: task.gold(prompt, response), terminated: out.terminated![b] === 1 };
  });
  await run.writeJson("samples.json", samples);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const summary = await readJson<Record<string, unknown>>(run.file("summary.json"));
  await run.writeSummary({
    ...summary,
    sample_gold_mean: mean(samples.map((s) => s.gold)),
    sample_response_len: mean([...out.responseLen!]),
    sample_terminated_frac: mean(samples.map((s) => (s.terminated ? 1 : 0))),
  });
  console.log(
    `sft ${args.name}: ${r.step} steps; train loss ${r.trainLoss.toFixed(4)}, held-out ${r.heldoutLoss.toFixed(4)}; ` +
      `samples: gold ${mean(samples.map((s) => s.gold)).toFixed(3)}, length ${mean([...out.responseLen!]).toFixed(1)}` +
      `, e.g. ${JSON.stringify(samples[0].prompt)} -> ${JSON.stringify(samples[0].response)}; ${run.path}`,
  );
}

if (import.meta.main) await runMain(main);
