/**
 * Times one GPT training step (zero grads, forward, masked cross-entropy, backward, AdamW) on this adapter.
 *
 *   npx -y deno@2.9.5 run -A nn/gpt_bench.ts [--preset xs] [--batch 16] [--seq 64] [--vocab 256] [--steps 5]
 *       [--profile]
 *
 * Prints the dispatches of one step, the wall time per step with each step its own submit (`await gpu.sync()` around
 * the timed steps, nothing read back), tokens per second, and, with --profile (when the adapter has timestamp
 * queries), the GPU time per kernel summed over one step.
 * @module
 */
import { parseArgs } from "node:util";
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { AdamW } from "./adamw.ts";
import { Gpt } from "./gpt.ts";
import { gptPreset, type GptPresetName } from "./gpt_config.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    preset: { type: "string", default: "xs" },
    batch: { type: "string", default: "16" },
    seq: { type: "string", default: "64" },
    vocab: { type: "string", default: "256" },
    steps: { type: "string", default: "5" },
    profile: { type: "boolean", default: false },
  },
});
const [b, t, vocab, steps] = [a.batch, a.seq, a.vocab, a.steps].map(Number);
const gpu = await getGpu();
const config = gptPreset(a.preset as GptPresetName, { vocab });
const model = new Gpt(gpu, config);
model.params.initialize(new Rng(1).split("init"));
const opt = new AdamW(model.params);
const ws = model.workspace(b, t);
const rng = new Rng(2);
const toks = Uint32Array.from({ length: b * t }, () => rng.int(vocab));
const tokens = gpu.fromArray(toks, [b, t]);
const targets = gpu.fromArray(Uint32Array.from(toks, (_, i) => toks[i % t === t - 1 ? i : i + 1]), [b, t]);
const mask = gpu.fromArray(Float32Array.from(toks, (_, i) => (i % t === t - 1 ? 0 : 1)), [b, t]);

function step(profile = false) {
  const enc = gpu.encoder("gpt step", { profile });
  opt.zeroGrad(enc);
  model.forward(enc, ws, tokens);
  model.crossEntropy(enc, ws, targets, mask);
  model.backward(enc, ws, { dlogp: ws.dlogp });
  opt.step(enc, { lr: 1e-4 });
  return enc;
}

console.log(`adapter: ${gpu.info.description}`);
console.log(
  `${a.preset} (${model.params.count} params), B ${b}, T ${t}, V ${vocab}; workspace ${(ws.bytes / 1e6).toFixed(1)} MB`,
);
for (let i = 0; i < 2; i++) await step().submit(); // compile pipelines, autotune, build bind groups
await gpu.sync();
const t0 = performance.now();
let dispatches = 0;
for (let i = 0; i < steps; i++) {
  const enc = step();
  dispatches = enc.dispatches;
  await enc.submit();
}
await gpu.sync();
const ms = (performance.now() - t0) / steps;
console.log(
  `${dispatches} dispatches per step; ${ms.toFixed(1)} ms per step; ${((b * t) / (ms / 1e3)).toFixed(0)} tokens/s`,
);
if (a.profile) {
  if (!gpu.hasTimestamps) console.log("no timestamp queries on this adapter: no profile");
  else {
    const enc = step(true);
    await enc.submit();
    const by = new Map<string, [number, number]>();
    for (const { kernel, ms } of enc.timings) {
      const [n, s] = by.get(kernel) ?? [0, 0];
      by.set(kernel, [n + 1, s + ms]);
    }
    const total = enc.timings.reduce((s, x) => s + x.ms, 0);
    console.log(`GPU time of one step, by kernel (total ${total.toFixed(1)} ms):`);
    for (const [k, [n, s]] of [...by].sort((x, y) => y[1][1] - x[1][1])) {
      console.log(`  ${k.padEnd(40)} ${String(n).padStart(3)} x  ${s.toFixed(2).padStart(8)} ms`);
    }
  }
}
