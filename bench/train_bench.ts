/**
 * Training and sampling throughput of the GPT on this machine's WebGPU adapter, against PyTorch on the CPU
 * (`deno task bench:train`).
 *
 *   deno task bench:train [--presets xs,s] [--batch 32] [--vocab 128] [--steps 5] [--warmup 2] [--no-peer]
 *
 * For each preset, at batch B x context T: the median wall time of a training step (forward, masked
 * cross-entropy, backward, AdamW: one submit, then `gpu.sync()`, so each timed step includes one queue round trip,
 * reported separately), tokens/s (B·T positions per step) and achieved GFLOP/s (model FLOPs counted analytically,
 * algorithms/flops.ts); the GPU time of one step by kernel (timestamp queries) to show what limits it; sampling
 * tokens/s (64 prompts of 8 tokens, 32 new tokens for xs and 64 for s, KV cache, EOS held off so every row runs
 * the full length); and the same model, step and sampling in PyTorch (bench/peers/train_peer.py, 2 threads) with
 * the ratio. Matmuls are autotuned for the model's shapes first. A JSON record goes to bench/results/.
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
import { autotune, median, profileOf, runPeer, writeRecord } from "./train_bench_lib.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    presets: { type: "string", default: "xs,s" },
    batch: { type: "string", default: "32" },
    vocab: { type: "string", default: "128" },
    steps: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    "no-peer": { type: "boolean", default: false },
  },
});
const [B, V, steps, warmup] = [a.batch, a.vocab, a.steps, a.warmup].map(Number);
const SAMPLE_B = 64, PROMPT = 8, EOS = 2;
const gpu = await getGpu();
const loadBefore = Deno.loadavg();
console.log(
  `adapter: ${gpu.info.description} (${gpu.info.backend}); load average ${loadBefore.map((x) => x.toFixed(2))}`,
);
const fmt = (x: number, d = 1) => x.toFixed(d);
const results: Record<string, unknown>[] = [];

for (const preset of a.presets.split(",") as GptPresetName[]) {
  const config = gptPreset(preset, { vocab: V }), T = config.ctx, newTokens = preset === "xs" ? 32 : 64;
  const model = new Gpt(gpu, config);
  model.params.initialize(new Rng(1).split("init"));
  const opt = new AdamW(model.params), ws = model.workspace(B, T);
  const rng = new Rng(2);
  const toks = Uint32Array.from({ length: B * T }, () => rng.int(V));
  const tokens = gpu.fromArray(toks, [B, T]);
  const targets = gpu.fromArray(Uint32Array.from(toks, (_, i) => toks[i % T === T - 1 ? i : i + 1]), [B, T]);
  const mask = gpu.fromArray(Float32Array.from(toks, (_, i) => (i % T === T - 1 ? 0 : 1)), [B, T]);
  const decodeShapes = [[3, 1], [1, 1], [4, 1], [1, 4]].map(([n, k]) => ({
    m: SAMPLE_B,
    n: n * config.d,
    k: k * config.d,
  }));
  const tuned = await autotune(gpu, [
    ...model.matmulShapes(B, T),
    ...decodeShapes,
    { m: SAMPLE_B, n: V, k: config.d, transB: true },
  ]);
  const step = (profile = false) => {
    const enc = gpu.encoder("train step", { profile });
    opt.zeroGrad(enc);
    model.forward(enc, ws, tokens);
    model.crossEntropy(enc, ws, targets, mask);
    model.backward(enc, ws, { dlogp: ws.dlogp });
    opt.step(enc, { lr: 1e-4 });
    return enc;
  };
  for (let i = 0; i < warmup; i++) await step().submit();
  await gpu.sync();
  const ms: number[] = [];
  let dispatches = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now(), enc = step();
    dispatches = enc.dispatches;
    await enc.submit();
    await gpu.sync();
    ms.push(performance.now() - t0);
  }
  const roundTrip = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await gpu.sync();
    roundTrip.push(performance.now() - t0);
  }
  const stepMs = median(ms), flops = gptTrainFlops(config, B, T);
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
  const gen = (i: number) =>
    sampler.generate(prompts, {
      maxNewTokens: newTokens,
      minNewTokens: newTokens,
      eos: EOS,
      key: rng.split("sample"),
      counter: i * SAMPLE_B * T,
      read: false,
    });
  await gen(0);
  const sampleMs: number[] = [];
  let submits = 0;
  for (let i = 1; i <= 3; i++) {
    const t0 = performance.now();
    submits = (await gen(i)).submits;
    sampleMs.push(performance.now() - t0);
  }
  const sMs = median(sampleMs), sTokens = (SAMPLE_B * newTokens) / (sMs / 1e3);
  const sGflops = gptDecodeFlops(config, SAMPLE_B, PROMPT + newTokens - 1) / (sMs / 1e3) / 1e9;
  sampler.destroy();
  const peer = a["no-peer"] ? null : await runPeer({
    vocab: V,
    ctx: T,
    d: config.d,
    layers: config.layers,
    heads: config.heads,
    batch: B,
    seq: T,
    steps,
    warmup,
    threads: 2,
    sample_batch: SAMPLE_B,
    prompt_len: PROMPT,
    new_tokens: newTokens,
  });
  const ratio = peer ? { train: peer.step_ms_median / stepMs, sampling: peer.sample_ms_median / sMs } : null;
  console.log(
    `\n${preset} (d ${config.d}, ${config.layers} layers, ${config.heads} heads, ctx ${T}, vocab ${V}; ` +
      `${model.params.count} params), batch ${B} x ${T}; ${dispatches} dispatches per step; matmul shape classes ` +
      `tuned: ${tuned}`,
  );
  console.log(
    `  train step: median ${fmt(stepMs)} ms of [${ms.map((x) => fmt(x)).join(", ")}] (incl. a queue round trip, ` +
      `${fmt(median(roundTrip), 2)} ms idle) -> ${fmt(tokensPerS, 0)} tokens/s, ${fmt(gflops, 2)} GFLOP/s ` +
      `(${fmt(flops / 1e9, 2)} GFLOP per step)`,
  );
  if (peer) {
    const pt = (B * T) / (peer.step_ms_median / 1e3);
    console.log(
      `  PyTorch ${peer.torch} (${peer.threads} threads): median ${fmt(peer.step_ms_median)} ms -> ${fmt(pt, 0)} ` +
        `tokens/s, ${fmt(flops / (peer.step_ms_median / 1e3) / 1e9, 2)} GFLOP/s; ratio (ours / PyTorch) ` +
        `${fmt(ratio!.train, 2)}`,
    );
  }
  console.log(
    `  sampling ${SAMPLE_B} x ${newTokens} new tokens: median ${fmt(sMs)} ms (${submits} submits) -> ` +
      `${fmt(sTokens, 0)} tokens/s, ${fmt(sGflops, 2)} GFLOP/s` +
      (peer ? `; PyTorch ${fmt(peer.sample_ms_median)} ms; ratio ${fmt(ratio!.sampling, 2)}` : ""),
  );
  if (profile) {
    const mm = profile.kernels.filter((k) => k.kernel.startsWith("matmul")).reduce((s, k) => s + k.ms, 0);
    console.log(
      `  GPU time of one step by kernel: ${fmt(profile.total)} ms, matmuls ${fmt((100 * mm) / profile.total, 0)}%`,
    );
    for (const k of profile.kernels.slice(0, 10)) {
      console.log(`    ${k.kernel.padEnd(36)} ${String(k.count).padStart(3)} x ${fmt(k.ms, 2).padStart(8)} ms`);
    }
  }
  results.push({
    preset,
    config,
    batch: B,
    seq: T,
    params: model.params.count,
    dispatches_per_step: dispatches,
    matmul_classes_tuned: tuned,
    flops_per_step: flops,
    step_ms: ms,
    step_ms_median: stepMs,
    round_trip_ms: median(roundTrip),
    tokens_per_s: tokensPerS,
    gflops,
    profile,
    sampling: { batch: SAMPLE_B, prompt_len: PROMPT, new_tokens: newTokens, ms: sampleMs, ms_median: sMs, submits },
    sampling_tokens_per_s: sTokens,
    sampling_gflops: sGflops,
    peer,
    ratio,
  });
  ws.destroy();
  for (const t of [tokens, targets, mask]) t.destroy();
}
const file = await writeRecord(gpu, {
  command: `deno task bench:train ${Deno.args.join(" ")}`.trim(),
  load_average: { before: loadBefore, after: Deno.loadavg() },
  results,
});
console.log(`\nrecord: ${file}`);
