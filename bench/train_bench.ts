/**
 * Training and sampling throughput of the GPT on this machine's WebGPU adapter, against PyTorch on the CPU
 * (`deno task bench:train`).
 *
 *   deno task bench:train [--presets xs,s] [--batch 32] [--vocab 128] [--steps 5] [--warmup 2] [--no-peer]
 *       [--peer-threads 2]
 *
 * For each preset, at batch B x context T: the median wall time of a training step (forward, masked
 * cross-entropy, backward, AdamW: one submit, then `gpu.sync()`, so each timed step includes one queue round trip,
 * reported separately), tokens/s (B·T positions per step) and achieved GFLOP/s (model FLOPs counted analytically,
 * algorithms/flops.ts); the GPU time of one step by kernel (timestamp queries), which shows what limits it;
 * sampling tokens/s (64 prompts of 8 tokens, 32 new tokens for xs and 64 for s, KV cache, EOS held off so every row
 * runs the full length); and the same model, step and sampling in PyTorch (bench/peers/train_peer.py, 2 threads:
 * the machine's cores; on a busy machine OpenMP's barriers make 2 threads slower than 1, try --peer-threads 1;
 * started without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, so at its best, with its BLAS kernel printed),
 * with the ratio ours / PyTorch of throughputs. Our steps and the peer's alternate, one each, so on a shared machine
 * both see the same load; the load average is recorded. Matmuls are autotuned for the model's shapes first. A JSON
 * record goes to bench/results/.
 * @module
 */
import { parseArgs } from "node:util";
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { AdamW } from "../nn/adamw.ts";
import { Gpt } from "../nn/gpt.ts";
import { gptPreset, type GptPresetName } from "../nn/gpt_config.ts";
import { Sampler } from "../nn/sampler.ts";
import { gptDecodeFlops, gptTrainFlops } from "../algorithms/flops.ts";
import { fmt as f, median, PYTHON_PEER_HELP, startPythonPeer, writeRecord } from "./common.ts";
import { alternate, autotune, profileOf } from "./train_bench_lib.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    presets: { type: "string", default: "xs,s" },
    batch: { type: "string", default: "32" },
    vocab: { type: "string", default: "128" },
    steps: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    "no-peer": { type: "boolean", default: false },
    "peer-threads": { type: "string", default: "2" },
  },
});
const [B, V, steps, warmup] = [a.batch, a.vocab, a.steps, a.warmup].map(Number);
const SAMPLE_B = 64, PROMPT = 8, EOS = 2, SAMPLE_REPS = 3;
const gpu = await getGpu();
const loadBefore = Deno.loadavg();
console.log(
  `adapter: ${gpu.info.description} (${gpu.info.backend}); load average ${loadBefore.map((x) => x.toFixed(2))}`,
);

/** What the peer says about itself (bench/peers/train_peer.py). */
interface PeerInfo {
  torch: string;
  threads: number;
  params: number;
  /** The BLAS kernel OpenBLAS picked for this CPU, from threadpoolctl (bench/peers/blas_info.py). */
  blas_kernel: string;
}

/** Starts the PyTorch peer for one model and batch; null, with the reason printed once, when it is missing. */
async function startPeer(config: Record<string, number>) {
  const script = new URL("./peers/train_peer.py", import.meta.url).pathname;
  const peer = await startPythonPeer<PeerInfo, { ms: number; error?: string }>(script, config);
  if ("missing" in peer) {
    console.log(`PyTorch peer unavailable: ${peer.missing}; ${PYTHON_PEER_HELP}`);
    return null;
  }
  const unset = Object.entries(peer.envUnset).map(([k, v]) => `${k}=${v}`).join(" ") || "nothing";
  console.log(`PyTorch peer: BLAS ${peer.info.blas_kernel} (its environment without ${unset})`);
  return peer;
}

async function benchPreset(preset: GptPresetName): Promise<Record<string, unknown>> {
  const config = gptPreset(preset, { vocab: V }), T = config.ctx, newTokens = preset === "xs" ? 32 : 64;
  const model = new Gpt(gpu, config);
  model.params.initialize(new Rng(1).split("init"));
  const opt = new AdamW(model.params), ws = model.workspace(B, T);
  const rng = new Rng(2);
  const toks = Uint32Array.from({ length: B * T }, () => rng.int(V));
  const tokens = gpu.fromArray(toks, [B, T]);
  const targets = gpu.fromArray(Uint32Array.from(toks, (_, i) => toks[i % T === T - 1 ? i : i + 1]), [B, T]);
  const mask = gpu.fromArray(Float32Array.from(toks, (_, i) => (i % T === T - 1 ? 0 : 1)), [B, T]);
  const decode = [[3, 1], [1, 1], [4, 1], [1, 4]].map(([n, k]) => ({ m: SAMPLE_B, n: n * config.d, k: k * config.d }));
  const tuned = await autotune(gpu, [...model.matmulShapes(B, T), ...decode, {
    m: SAMPLE_B,
    n: V,
    k: config.d,
    transB: true,
  }]);
  const step = (profile = false) => {
    const enc = gpu.encoder("train step", { profile });
    opt.zeroGrad(enc);
    model.forward(enc, ws, tokens);
    model.crossEntropy(enc, ws, targets, mask);
    model.backward(enc, ws, { dlogp: ws.dlogp });
    opt.step(enc, { lr: 1e-4 });
    return enc;
  };
  let dispatches = 0;
  const timedStep = async () => {
    const enc = step();
    dispatches = enc.dispatches;
    await enc.submit();
    await gpu.sync();
  };
  const peer = a["no-peer"] ? null : await startPeer({
    vocab: V,
    ctx: T,
    d: config.d,
    layers: config.layers,
    heads: config.heads,
    batch: B,
    seq: T,
    threads: Number(a["peer-threads"]),
    sample_batch: SAMPLE_B,
    prompt_len: PROMPT,
    new_tokens: newTokens,
  });
  const peerTurn = (op: "train" | "sample") => async () => {
    if (!peer) return null;
    const r = await peer.ask({ op });
    if (r.error) throw new Error(`PyTorch peer: ${r.error}`);
    return r.ms;
  };
  await alternate(warmup, timedStep, peerTurn("train")); // compile pipelines, build bind groups; warm the peer
  const train = await alternate(steps, timedStep, peerTurn("train"));
  const roundTrip = (await alternate(5, () => gpu.sync(), () => Promise.resolve(null))).ours;
  const stepMs = median(train.ours), flops = gptTrainFlops(config, B, T);
  const tokensPerS = (B * T) / (stepMs / 1e3), gflops = flops / (stepMs / 1e3) / 1e9;
  let profile = null;
  if (gpu.hasTimestamps) {
    const enc = step(true);
    await enc.submit();
    profile = profileOf(enc);
  }
  // Sampling: EOS held off (min = max new tokens) so every row decodes the full length and runs are comparable.
  const sampler = new Sampler(model, { maxBatch: SAMPLE_B, maxLen: T });
  const prompts = {
    B: SAMPLE_B,
    T: PROMPT,
    tokens: Uint32Array.from({ length: SAMPLE_B * PROMPT }, () => 3 + rng.int(V - 3)),
    lengths: new Uint32Array(SAMPLE_B).fill(PROMPT),
  };
  let submits = 0, calls = 0;
  const gen = async () => {
    const opts = { maxNewTokens: newTokens, minNewTokens: newTokens, eos: EOS, key: rng.split("sample"), read: false };
    submits = (await sampler.generate(prompts, { ...opts, counter: calls++ * SAMPLE_B * T })).submits;
  };
  await alternate(1, gen, peerTurn("sample"));
  const sampling = await alternate(SAMPLE_REPS, gen, peerTurn("sample"));
  sampler.destroy();
  await peer?.close();
  const sMs = median(sampling.ours), sTokens = (SAMPLE_B * newTokens) / (sMs / 1e3);
  const sGflops = gptDecodeFlops(config, SAMPLE_B, PROMPT + newTokens - 1) / (sMs / 1e3) / 1e9;
  const peerStep = peer ? median(train.theirs) : null, peerSample = peer ? median(sampling.theirs) : null;
  // Throughput ratios ours / PyTorch: of the medians (the headline), and of the fastest runs (the least disturbed).
  const ratio = peer
    ? {
      train: peerStep! / stepMs,
      sampling: peerSample! / sMs,
      train_best: Math.min(...train.theirs) / Math.min(...train.ours),
      sampling_best: Math.min(...sampling.theirs) / Math.min(...sampling.ours),
    }
    : null;
  console.log(
    `\n${preset} (d ${config.d}, ${config.layers} layers, ${config.heads} heads, ctx ${T}, vocab ${V}; ` +
      `${model.params.count} params), batch ${B} x ${T}; ${dispatches} dispatches per step; matmul shape classes ` +
      `tuned: ${tuned}`,
  );
  console.log(
    `  train step: median ${f(stepMs)} ms of [${train.ours.map((x) => f(x)).join(", ")}] (incl. a queue round ` +
      `trip, ${f(median(roundTrip), 2)} ms idle) -> ${f(tokensPerS, 0)} tokens/s, ${f(gflops, 2)} GFLOP/s ` +
      `(${f(flops / 1e9, 2)} GFLOP per step)`,
  );
  if (peer) {
    console.log(
      `  PyTorch ${peer.info.torch} (${peer.info.threads} threads): median ${f(peerStep!)} ms of ` +
        `[${train.theirs.map((x) => f(x)).join(", ")}] -> ${f((B * T) / (peerStep! / 1e3), 0)} tokens/s, ` +
        `${f(flops / (peerStep! / 1e3) / 1e9, 2)} GFLOP/s; throughput ratio ours / PyTorch ${f(ratio!.train, 2)} ` +
        `(fastest runs: ${f(ratio!.train_best, 2)})`,
    );
  }
  console.log(
    `  sampling ${SAMPLE_B} x ${newTokens} new tokens: median ${f(sMs)} ms (${submits} submits) -> ` +
      `${f(sTokens, 0)} tokens/s, ${f(sGflops, 2)} GFLOP/s` +
      (peer
        ? `; PyTorch ${f(peerSample!)} ms; ratio ${f(ratio!.sampling, 2)} (fastest ${f(ratio!.sampling_best, 2)})`
        : ""),
  );
  if (profile) {
    const mm = profile.kernels.filter((k) => k.kernel.startsWith("matmul")).reduce((s, k) => s + k.ms, 0);
    console.log(
      `  GPU time of one step by kernel: ${f(profile.total)} ms, matmuls ${f((100 * mm) / profile.total, 0)}%`,
    );
    for (const k of profile.kernels.slice(0, 10)) {
      console.log(`    ${k.kernel.padEnd(36)} ${String(k.count).padStart(3)} x ${f(k.ms, 2).padStart(8)} ms`);
    }
  }
  ws.destroy();
  for (const t of [tokens, targets, mask]) t.destroy();
  return {
    preset,
    config,
    batch: B,
    seq: T,
    params: model.params.count,
    dispatches_per_step: dispatches,
    matmul_classes_tuned: tuned,
    flops_per_step: flops,
    step_ms: train.ours,
    step_ms_median: stepMs,
    round_trip_ms: median(roundTrip),
    tokens_per_s: tokensPerS,
    gflops,
    profile,
    sampling: { batch: SAMPLE_B, prompt_len: PROMPT, new_tokens: newTokens, ms: sampling.ours, submits },
    sampling_tokens_per_s: sTokens,
    sampling_gflops: sGflops,
    peer: peer ? { ...peer.info, env_unset: peer.envUnset, step_ms: train.theirs, sample_ms: sampling.theirs } : null,
    ratio,
  };
}

const results = [];
for (const preset of a.presets.split(",") as GptPresetName[]) results.push(await benchPreset(preset));
const file = await writeRecord(gpu, "train", {
  command: `deno task bench:train ${Deno.args.join(" ")}`.trim(),
  load_average: { before: loadBefore, after: Deno.loadavg() },
  results,
});
console.log(`\nrecord: ${file}`);
