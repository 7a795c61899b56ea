/**
 * Times one AdamW step (sum of squares, clip coefficient, update of every parameter) on this adapter.
 *
 *   npx -y deno@2.9.5 run -A bench/adamw_bench.ts [params ...]
 *
 * For each size: 20 steps recorded into one encoder and submitted once (the GPU time of a step inside a training
 * step), and 10 steps each with its own submit and a read of the norm (the cost when a loop logs every step).
 * @module
 */
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { AdamW } from "../nn/adamw.ts";
import { ParamSet } from "../nn/params.ts";

const gpu = await getGpu();
const sizes = Deno.args.length > 0 ? Deno.args.map(Number) : [100_000, 1_000_000, 4_000_000];
console.log(`adapter: ${gpu.info.description}`);
for (const n of sizes) {
  const ps = new ParamSet(gpu, [{ name: "w", shape: [n], init: { normal: 0.02 }, decay: true }]);
  ps.initialize(new Rng(1).split("init"));
  ps.grads.write(new Rng(2).normals(ps.total, 1));
  const opt = new AdamW(ps);
  const warm = gpu.encoder("warm-up");
  opt.step(warm, { lr: 1e-3 });
  const w = warm.read(opt.gradNorm);
  await warm.submit();
  await w;
  let t0 = performance.now();
  const enc = gpu.encoder("batched");
  for (let i = 0; i < 20; i++) opt.step(enc, { lr: 1e-3 });
  const r = enc.read(opt.gradNorm);
  await enc.submit();
  await r;
  const batched = (performance.now() - t0) / 20;
  t0 = performance.now();
  for (let i = 0; i < 10; i++) {
    const e = gpu.encoder("single");
    opt.step(e, { lr: 1e-3 });
    const rr = e.read(opt.gradNorm);
    await e.submit();
    await rr;
  }
  const single = (performance.now() - t0) / 10;
  const gbps = (n * 4 * 7) / (batched / 1e3) / 1e9; // reads θ g mask m v (+ g again for ‖g‖²), writes θ m v: ~8-9 f32
  console.log(
    `${n} params: ${batched.toFixed(2)} ms/step batched (~${gbps.toFixed(1)} GB/s), ${single.toFixed(2)} ms/step ` +
      `with its own submit and norm read`,
  );
}
