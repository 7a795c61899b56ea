/**
 * Supervised fine-tuning: next-token cross-entropy over the response tokens of prompt/response pairs (ReaLHF
 * `compute_packed_sft_loss`: NLL over answer tokens, EOS included; PAPER.md §9.2), with AdamW and ReaLHF's cosine
 * schedule. Every step is one submit (forward, cross-entropy, backward, AdamW); the loss is summed on the GPU and
 * read back only at logging steps. A run writes metrics, checkpoints and a summary to its run directory and resumes
 * from its latest checkpoint bitwise: the data order is a function of (seed, cursor), the cursor is checkpointed
 * with the parameters, AdamW's moments and its step.
 *
 * @example
 * ```ts
 * const cfg = resolveConfig(SFT_SCHEMA, { sets: ["steps=200"] });
 * const run = await RunDir.create("sft", "demo", { config: cfg, adapter: gpu.info, resume: cfg.resume });
 * const { model, heldoutLoss } = await trainSft(gpu, cfg, { tokenizer: tok, train, heldout }, { run });
 * ```
 * @module
 */
import { axpy } from "../kernels/elementwise.ts";
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { AdamW } from "../nn/adamw.ts";
import { checkpointDir, latestCheckpoint, loadCheckpoint, saveCheckpoint } from "../nn/checkpoint.ts";
import { Gpt } from "../nn/gpt.ts";
import { copySharedParams } from "../nn/gpt_copy.ts";
import { type GptConfig, gptPreset, type GptPresetName } from "../nn/gpt_config.ts";
import { type Example, type Tokenizer, tokenizerFromJSON } from "../testbeds/tokenizer.ts";
import { type ConfigOf, opt } from "../util/config.ts";
import { progress } from "../util/progress.ts";
import type { MetricRow, RunDir } from "../util/run_dir.ts";
import { BatchBuffers, DataOrder, fixedWidth, StackedBatches, widthOf } from "./batch.ts";
import { gptTrainFlops } from "./flops.ts";
import { heldoutLoss } from "./sft_eval.ts";
import { lrSchedule, SCHEDULE_FIELDS } from "./train_common.ts";

/** SFT's settings; defaults follow ReaLHF's SFT launcher (PAPER.md §9.2) where the paper is silent. */
export const SFT_SCHEMA = {
  seed: opt(1, "Run seed: parameter init and data order derive from it", { int: true }),
  preset: opt<GptPresetName>("xs", "Model size (DESIGN.md Models): xs, s, m stand in for 7B/13B/34B", {
    choices: ["xs", "s", "m"],
  }),
  ctx: opt(0, "Context length; 0 keeps the preset's (xs 64, s 128, m 256)", { int: true, min: 0 }),
  layers: opt(0, "Transformer blocks; 0 keeps the preset's (xs 2, s 4, m 6)", { int: true, min: 0 }),
  lr: opt(
    1e-3,
    "Peak LR. ReaLHF's SFT uses 1e-5 on pretrained 7B+ models; ours are tiny (d 64-256) and start from random " +
      "init, where AdamW's usual rate is ~1e-3 (nanoGPT's small character models)",
    { min: 0 },
  ),
  ...SCHEDULE_FIELDS,
  batchSize: opt(32, "Sequences per step (ReaLHF packs hundreds; small here for a 2-core CPU)", { int: true, min: 1 }),
  steps: opt(400, "Optimizer steps; the data is an endless stream of shuffled epochs", { int: true, min: 1 }),
  logEvery: opt(10, "Steps between metrics rows (train loss averaged over them, read back once)", {
    int: true,
    min: 1,
  }),
  evalEvery: opt(100, "Steps between held-out losses (and at the end); a multiple of logEvery", { int: true, min: 1 }),
  checkpointEvery: opt(100, "Steps between checkpoints (and at the end); a multiple of logEvery", {
    int: true,
    min: 1,
  }),
  resume: opt(false, "Resume from the run directory's latest checkpoint"),
};

/** A resolved SFT config. */
export type SftConfig = ConfigOf<typeof SFT_SCHEMA>;

/** Training and held-out examples and their tokenizer. */
export interface SftData {
  tokenizer: Tokenizer;
  train: readonly Example[];
  heldout: readonly Example[];
}

/** Options of {@link trainSft}. */
export interface SftRunOptions {
  /** Where metrics, checkpoints and the summary go (none: nothing is written, resume is impossible). */
  run?: RunDir | null;
  /** Stop after this step as if killed: no final checkpoint or summary (tests simulate a crash with it). */
  stopAfter?: number;
  /**
   * Start from these parameters instead of a fresh initialisation (a pretrained base, as the paper's SFT starts
   * from Llama 2); its configuration must be the run's. A resumed run loads its checkpoint over them.
   */
  init?: Gpt;
}

/** What {@link trainSft} returns. */
export interface SftResult {
  model: Gpt;
  config: GptConfig;
  /** The last step taken. */
  step: number;
  /** The step the run resumed from (0 for a fresh run). */
  resumedFrom: number;
  /** Mean training loss over the last logging interval, and the last held-out loss (NaN if none yet). */
  trainLoss: number;
  heldoutLoss: number;
  /** The metrics rows this call logged. */
  rows: MetricRow[];
}

/** The model config of an SFT run on `tok`. */
export function sftModelConfig(cfg: SftConfig, tok: Tokenizer): GptConfig {
  const sizes = { ...(cfg.ctx > 0 ? { ctx: cfg.ctx } : {}), ...(cfg.layers > 0 ? { layers: cfg.layers } : {}) };
  return gptPreset(cfg.preset, { vocab: tok.vocabSize, ...sizes });
}

/**
 * Loads an SFT checkpoint (the `checkpoints/step-…` folder an SFT run wrote, e.g. `latestCheckpoint(run.path)`) as
 * a model and its tokenizer: the starting point of reward modelling, DPO and PPO.
 */
export async function loadSftModel(
  gpu: Gpu,
  dir: string,
  label = "sft",
): Promise<{ model: Gpt; tokenizer: Tokenizer }> {
  const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`)) as { model?: GptConfig; tokenizer?: unknown };
  if (!cfg?.model || typeof cfg.tokenizer !== "object" || cfg.tokenizer === null) {
    throw new RangeError(`${dir}/config.json is not an SFT checkpoint config (needs model and a tokenizer)`);
  }
  // A tokenizer of an unknown kind or with bad entries is tokenizerFromJSON's error, naming the file.
  const tokenizer = tokenizerFromJSON(cfg.tokenizer, `${dir}/config.json`);
  const model = new Gpt(gpu, cfg.model, label);
  await loadCheckpoint(dir, { params: model.params });
  return { model, tokenizer };
}

/** Trains (or resumes) an SFT run; see the module doc. */
export async function trainSft(gpu: Gpu, cfg: SftConfig, data: SftData, opts: SftRunOptions = {}): Promise<SftResult> {
  const { tokenizer: tok, train, heldout } = data, run = opts.run ?? null;
  for (const k of ["evalEvery", "checkpointEvery"] as const) {
    if (cfg[k] % cfg.logEvery !== 0) {
      throw new RangeError(`SFT config ${k} (${cfg[k]}) must be a multiple of logEvery (${cfg.logEvery})`);
    }
  }
  if (train.length === 0) throw new RangeError("SFT needs at least one training example");
  const config = sftModelConfig(cfg, tok), B = cfg.batchSize;
  const T = widthOf(tok, [...train, ...heldout], config.ctx);
  const rng = new Rng(cfg.seed);
  const model = new Gpt(gpu, config, "sft");
  model.params.initialize(rng.split("init"));
  if (opts.init) {
    const keys = ["vocab", "ctx", "d", "layers", "heads", "lmHead", "scalarHead"] as const;
    const init = opts.init.config, differs = keys.filter((k) => init[k] !== config[k]);
    if (differs.length > 0) {
      throw new RangeError(
        `SFT init: the model differs from the run's in ${differs.map((k) => `${k} (${init[k]} vs ${config[k]})`)}`,
      );
    }
    await copySharedParams(opts.init, model);
  }
  const opt = new AdamW(model.params, { weightDecay: cfg.weightDecay });
  const lr = lrSchedule(cfg, cfg.steps);
  const order = new DataOrder(rng.split("data"), train.length);
  let start = 0, resumedRows: MetricRow[] = [];
  if (cfg.resume && run) {
    const dir = await latestCheckpoint(run.path);
    if (dir) {
      const { state } = await loadCheckpoint(dir, { params: model.params, optimizer: opt });
      [start, order.cursor] = [state.step as number, state.cursor as number];
    }
    await run.truncateMetrics(start); // rows past the checkpoint are logged again
    resumedRows = await run.readMetrics();
  }
  const ws = model.workspace(B, T, "sft.ws"), bufs = new BatchBuffers(gpu, B, T, "sft.batch");
  const evalSet = heldout.length > 0 ? new StackedBatches(gpu, tok, heldout, B, T) : null;
  const lossSum = gpu.tensor([1], "f32", "sft.loss_sum");
  const flops = gptTrainFlops(config, B, T);
  const save = (step: number) =>
    run && saveCheckpoint(checkpointDir(run.path, step), {
      params: model.params,
      config: { model: config, tokenizer: tok.toJSON() },
      optimizer: opt,
      state: { step, cursor: order.cursor },
    });
  const bar = progress("sft", cfg.steps);
  const rows: MetricRow[] = [];
  // A resumed run starts from the losses it had logged (so resuming a finished run changes nothing).
  const lastOf = (key: string) => (resumedRows.findLast((r) => key in r)?.[key] as number | undefined) ?? NaN;
  let trainLoss = lastOf("losses/sft"), evalLoss = lastOf("losses/sft_heldout");
  let t0 = performance.now(), since = start;
  /** A logging step: the mean loss since the last one, throughput, the held-out loss and checkpoint when due. */
  const logStep = async (step: number, sum: Float32Array, norm: Float32Array) => {
    const seconds = (performance.now() - t0) / 1000, n = step - since;
    trainLoss = sum[0] / n;
    const row: MetricRow = {
      step,
      "losses/sft": trainLoss,
      "losses/grad_norm": norm[0],
      "charts/lr": lr(step),
      "charts/epoch": order.epochs,
      "perf/tokens_per_s": (n * B * T) / seconds, // padded positions: the kernels compute them all
      "perf/gflops": (n * flops) / seconds / 1e9,
    };
    if (evalSet && (step % cfg.evalEvery === 0 || step === cfg.steps)) {
      row["losses/sft_heldout"] = evalLoss = await heldoutLoss(model, ws, evalSet);
    }
    rows.push(row);
    await run?.log(step, row);
    if (step % cfg.checkpointEvery === 0 || step === cfg.steps) await save(step);
    [t0, since] = [performance.now(), step];
  };
  let step = start;
  while (step < cfg.steps) {
    step++;
    bufs.write(fixedWidth(tok, order.take(B).map((i) => train[i]), T));
    const enc = gpu.encoder("sft step");
    opt.zeroGrad(enc);
    model.forward(enc, ws, bufs.tokens);
    const loss = model.crossEntropy(enc, ws, bufs.targets, bufs.mask);
    model.backward(enc, ws, { dlogp: ws.dlogp });
    opt.step(enc, { lr: lr(step) });
    axpy(enc, 1, loss, lossSum);
    const logging = step % cfg.logEvery === 0 || step === cfg.steps;
    const reads = logging ? [enc.read(lossSum), enc.read(opt.gradNorm)] : null;
    if (logging) enc.zero(lossSum);
    await enc.submit();
    if (reads) await logStep(step, ...(await Promise.all(reads)) as [Float32Array, Float32Array]);
    bar.update(step, Number.isNaN(trainLoss) ? "" : `loss ${trainLoss.toFixed(3)}`);
    if (opts.stopAfter !== undefined && step >= opts.stopAfter) break;
  }
  bar.stop();
  const finished = step === cfg.steps;
  if (run && finished) {
    const last = rows.at(-1) ?? resumedRows.at(-1);
    await run.writeSummary({
      step,
      resumed_from: start,
      train_loss: trainLoss,
      heldout_loss: evalLoss,
      tokens_per_s: last?.["perf/tokens_per_s"] ?? null,
      gflops: last?.["perf/gflops"] ?? null,
      params: model.params.count,
      width: T,
      model: config,
    });
  }
  ws.destroy();
  bufs.destroy();
  evalSet?.destroy();
  lossSum.destroy();
  return { model, config, step, resumedFrom: start, trainLoss, heldoutLoss: evalLoss, rows };
}
