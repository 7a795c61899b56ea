/**
 * Kernel benchmark (`deno task bench`): the matmul variants on this machine's WebGPU adapter against CPU peers.
 *
 *   deno task bench [--sizes 64,128,256,512,1024] [--presets xs,s] [--batch 32] [--vocab 100]
 *                   [--budget-ms 200] [--max-ms 1500] [--no-peer] [--python /usr/bin/python3]
 *
 * Prints, and writes to bench/results/kernels-<date>-<adapter>.json with the adapter info and git commit:
 * - the queue round trip (an empty submit awaited) and the cost of one more dispatch inside a submit;
 * - GFLOP/s of every variant and of the autotuned choice (`tuneMatmul`, then `matmul` without a forced variant) on
 *   square products and on the products of a small transformer at each preset (forward A·B, and the Aᵀ·B and A·Bᵀ
 *   of its backward; batch × context rows; LM head over `--vocab` tokens), with the variant each one picked;
 * - the same products on the CPU: a blocked TypeScript loop (bench/peers/matmul_ts.ts, always), and numpy and
 *   PyTorch (bench/peers/matmul_peer.py, one /usr/bin/python3 process asked right after the GPU ran the same
 *   product, so both see the same load) when present, as ratios; a missing peer is named with how to install it.
 *   The peers run at their best: without the OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE some machines set (common.ts
 *   `PEER_ENV_UNSET`), and the OpenBLAS kernel they run is printed and recorded;
 * - for square products, GFLOP per CPU-second of this process (llvmpipe runs on its threads), a measure that a
 *   shared machine disturbs much less than wall time.
 *
 * Timing: GPU timestamp queries when the adapter has them (the kernel's own time), else wall clock around a synced
 * submit; the fastest of a few runs after a warm-up (the machine may be shared; see the load average printed).
 * A variant predicted to take over `--max-ms` per run (from its speed at the previous size) is skipped and marked.
 *
 * What limits the matmul on a 2-core llvmpipe (Mesa's CPU rasteriser), against OpenBLAS on the same cores: every
 * storage load is a loop over the 8 SIMD lanes with an exec-mask test and a bounds check (no gathers, no uniform
 * fast path in Mesa 22), so a load costs tens of instructions to an fma's one; vectors are 256 bits (8 lanes;
 * 512, which LP_NATIVE_VECTOR_WIDTH=512 gives on a CPU with AVX-512, is slower for these kernels); two threads, one workgroup each; no shared-memory benefit (workgroup loads take
 * the same lane loop, barriers are coroutine switches); the register block's 256 accumulators spill to the stack;
 * and blocks beyond 16 x 16 take minutes to compile. OpenBLAS instead runs hand-scheduled AVX-512 kernels with
 * packed panels in cache.
 * @module
 */
import { parseArgs } from "node:util";
import { getGpu } from "../kernels/gpu.ts";
import { matmul, matmulShape, selectMatmulVariant } from "../kernels/matmul.ts";
import { VARIANT_NAMES } from "../kernels/matmul_variants.ts";
import { tuneMatmul, type TuneShape } from "../kernels/autotune.ts";
import { Rng } from "../kernels/rng.ts";
import {
  fmt,
  type GpuTiming,
  printTable,
  PYTHON_PEER_HELP,
  queueCosts,
  startPythonPeer,
  timeCpu,
  timeGpu,
  writeRecord,
} from "./common.ts";
import { matmulTs } from "./peers/matmul_ts.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "64,128,256,512,1024" },
    presets: { type: "string", default: "xs,s" },
    batch: { type: "string", default: "32" },
    vocab: { type: "string", default: "100" },
    "budget-ms": { type: "string", default: "200" },
    "max-ms": { type: "string", default: "1500" },
    "no-peer": { type: "boolean", default: false },
    python: { type: "string", default: "/usr/bin/python3" },
  },
});
const budgetMs = Number(args["budget-ms"]), maxMs = Number(args["max-ms"]);
const B = Number(args.batch), V = Number(args.vocab);
// Transformer presets of nn/gpt_config.ts (d, context); the batch is B sequences, so R = B·T rows.
const PRESETS: Record<string, { d: number; ctx: number }> = { xs: { d: 64, ctx: 64 }, s: { d: 128, ctx: 128 } };

interface Problem extends Required<TuneShape> {
  name: string;
}

function problems(): Problem[] {
  const list: Problem[] = [];
  const add = (name: string, m: number, n: number, k: number, o: Partial<Problem> = {}) =>
    list.push({ name, m, n, k, batch: 1, transA: false, transB: false, ...o });
  for (const s of args.sizes.split(",").map(Number)) add(`square ${s}`, s, s, s);
  for (const p of args.presets.split(",")) {
    const cfg = PRESETS[p];
    if (!cfg) throw new RangeError(`--presets: unknown preset '${p}' (known: ${Object.keys(PRESETS).join(", ")})`);
    const { d, ctx } = cfg, r = B * ctx;
    add(`${p} qkv x·Wqkv`, r, 3 * d, d);
    add(`${p} attn proj`, r, d, d);
    add(`${p} mlp up`, r, 4 * d, d);
    add(`${p} mlp down`, r, d, 4 * d);
    add(`${p} lm head`, r, V, d);
    add(`${p} mlp up dx=dh·Wᵀ`, r, d, 4 * d, { transB: true });
    add(`${p} mlp up dW=xᵀ·dh`, d, 4 * d, r, { transA: true });
    add(`${p} qkv dW=xᵀ·dqkv`, d, 3 * d, r, { transA: true });
    add(`${p} attn scores (B·H)`, ctx, ctx, d / 4, { batch: B * 4, transB: true });
  }
  return list;
}

const flopsOf = (p: Problem) => 2 * p.batch * p.m * p.n * p.k;
const gflops = (p: Problem, ms: number) => flopsOf(p) / ms / 1e6;
const form = (p: Problem) => `${p.transA ? "Aᵀ" : "A"}·${p.transB ? "Bᵀ" : "B"}`;

const gpu = await getGpu();
const t0 = performance.now(), loadBefore = Deno.loadavg();
const method = gpu.hasTimestamps ? "GPU timestamp queries" : "wall clock around a synced submit";
console.log(`adapter: ${gpu.info.description} (backend ${gpu.info.backend}, fallback ${gpu.info.isFallbackAdapter})`);
console.log(`timing: ${method}; fastest of up to 5 runs; load average ${loadBefore.map((x) => x.toFixed(2))}`);

const costs = await queueCosts(gpu);
console.log(
  `queue round trip ${fmt(costs.roundTripMs, 2)} ms; one more dispatch in a submit ${fmt(costs.dispatchMs, 3)} ms`,
);

const list = problems();
const tuneStart = performance.now();
await tuneMatmul(gpu, list);
const tuneS = (performance.now() - tuneStart) / 1000;
console.log(`autotune: ${fmt(tuneS)} s (cached per adapter in .cache/matmul_autotune/)\n`);

// CPU peers in Python: one long-running process, asked for each problem right after the GPU has run it.
type PeerTime = { ms: number; cpu_ms: number } | null;
interface PeerInfo {
  python: string;
  libblas: string;
  numpy: { version: string } | { missing: string };
  torch: { version: string; threads: number; blas: string } | { missing: string };
  /** The BLAS kernel OpenBLAS picked for this CPU, from threadpoolctl (bench/peers/blas_info.py). */
  blas_kernel: string;
}
const peer = args["no-peer"] ? { missing: "--no-peer was given" } : await startPythonPeer<
  PeerInfo,
  Record<"numpy" | "torch", PeerTime>
>(new URL("./peers/matmul_peer.py", import.meta.url).pathname, {
  threads: navigator.hardwareConcurrency,
  budget_ms: budgetMs,
}, args.python);
if (!("missing" in peer)) {
  const unset = Object.entries(peer.envUnset).map(([k, v]) => `${k}=${v}`).join(" ") || "nothing";
  console.log(`peers: BLAS ${peer.info.blas_kernel} (their environment without ${unset})`);
}
for (const lib of ["numpy", "torch"] as const) {
  const why = "missing" in peer ? peer.missing : "missing" in peer.info[lib] ? peer.info[lib].missing : undefined;
  if (why) console.log(`${lib} peer missing (${why}); ${PYTHON_PEER_HELP}`);
}

type Cell = (GpuTiming & { gflops: number }) | { skipped: string };
interface Row {
  problem: Problem;
  variants: Record<string, Cell>;
  auto: GpuTiming & { gflops: number; variant: string };
  ts: { ms: number; gflops: number };
  numpy?: { ms: number; gflops: number; cpuMs: number };
  torch?: { ms: number; gflops: number; cpuMs: number };
}
const rows: Row[] = [];
const lastGflops = new Map<string, number>();
const rng = new Rng(11);
const fill = (n: number) => Float32Array.from({ length: n }, () => 2 * rng.uniform() - 1);

for (const p of list) {
  const { m, n, k, batch, transA, transB } = p;
  const lead = batch > 1 ? [batch] : [];
  const A = fill(batch * m * k), Bm = fill(batch * k * n);
  const a = gpu.fromArray(A, [...lead, ...(transA ? [k, m] : [m, k])], undefined, "bench A");
  const b = gpu.fromArray(Bm, [...lead, ...(transB ? [n, k] : [k, n])], undefined, "bench B");
  const out = gpu.tensor([...lead, m, n], "f32", "bench out");
  const variants: Record<string, Cell> = {};
  for (const v of VARIANT_NAMES) {
    const predicted = flopsOf(p) / ((lastGflops.get(v) ?? Infinity) * 1e6);
    if (predicted > maxMs) {
      variants[v] = { skipped: `predicted ${fmt(predicted / 1000)} s per run` };
      continue;
    }
    const t = await timeGpu(gpu, (enc) => matmul(enc, a, b, out, { transA, transB, variant: v }), { budgetMs });
    variants[v] = { ...t, gflops: gflops(p, t.ms) };
    lastGflops.set(v, gflops(p, t.ms));
  }
  const variant = selectMatmulVariant(gpu, matmulShape(a, b, out, { transA, transB }), { transA, transB });
  const at = await timeGpu(gpu, (enc) => matmul(enc, a, b, out, { transA, transB }), { budgetMs });
  const host = new Float32Array(batch * m * n);
  const ts = timeCpu(() => matmulTs(A, Bm, host, p), { budgetMs });
  const row: Row = {
    problem: p,
    variants,
    auto: { ...at, gflops: gflops(p, at.ms), variant },
    ts: { ms: ts.ms, gflops: gflops(p, ts.ms) },
  };
  if (!("missing" in peer)) {
    const { m, n, k, batch, transA, transB } = p;
    const answer = await peer.ask({ m, n, k, batch, transA, transB });
    for (const lib of ["numpy", "torch"] as const) {
      const t = answer[lib];
      if (t) row[lib] = { ms: t.ms, gflops: gflops(p, t.ms), cpuMs: t.cpu_ms };
    }
  }
  rows.push(row);
  [a, b, out].forEach((t) => t.destroy());
}

if (!("missing" in peer)) await peer.close();

const shortName = (v: string) => v.replace("tile", "t");
const cell = (c: Cell) => ("skipped" in c ? "skip" : fmt(c.gflops, 2));
console.log("GFLOP/s per variant (skip: predicted over --max-ms per run)");
printTable(
  ["problem", "form", "batch", "M", "N", "K", ...VARIANT_NAMES.map(shortName), "auto", "picked"],
  rows.map(({ problem: p, variants, auto }) => [
    p.name,
    form(p),
    `${p.batch}`,
    `${p.m}`,
    `${p.n}`,
    `${p.k}`,
    ...VARIANT_NAMES.map((v) => cell(variants[v])),
    fmt(auto.gflops, 2),
    auto.variant,
  ]),
);
const ratio = (x: number, y?: number) => (y === undefined ? "-" : `${fmt(x / y, 3)}x`);
console.log("\nAutotuned GPU matmul against CPU peers (GFLOP/s; ratio = GPU / peer)");
printTable(
  ["problem", "auto", "TS", "numpy", "torch", "vs TS", "vs numpy", "vs torch"],
  rows.map((r) => [
    r.problem.name,
    fmt(r.auto.gflops, 2),
    fmt(r.ts.gflops, 2),
    fmt(r.numpy?.gflops, 1),
    fmt(r.torch?.gflops, 1),
    ratio(r.auto.gflops, r.ts.gflops),
    ratio(r.auto.gflops, r.numpy?.gflops),
    ratio(r.auto.gflops, r.torch?.gflops),
  ]),
);

// Per CPU-second (all threads of the process): on a CPU adapter this measures efficiency, which other work on a
// shared machine disturbs much less than wall time; times the core count, it estimates an idle machine's speed.
const perCpu = (p: Problem, cpuMs?: number) => (cpuMs === undefined ? undefined : flopsOf(p) / cpuMs / 1e6);
const cores = navigator.hardwareConcurrency;
const bestOf = (r: Row) =>
  Object.entries(r.variants)
    .filter((e): e is [string, GpuTiming & { gflops: number }] => !("skipped" in e[1]))
    .sort((x, y) => y[1].gflops - x[1].gflops)[0];
console.log(`\nSquare products per CPU-second of this process (GFLOP per CPU-s; x ${cores} cores ~ an idle machine)`);
printTable(
  ["problem", "best variant", "GPU", "numpy", "torch", "GPU / numpy"],
  rows.filter((r) => r.problem.name.startsWith("square")).map((r) => {
    const [v, t] = bestOf(r), g = perCpu(r.problem, t.cpuMs), np = perCpu(r.problem, r.numpy?.cpuMs);
    return [
      r.problem.name,
      v,
      fmt(g, 2),
      fmt(np, 1),
      fmt(perCpu(r.problem, r.torch?.cpuMs), 1),
      np ? fmt(g! / np, 3) : "-",
    ];
  }),
);

const big = rows.find((r) => r.problem.name === "square 1024");
let summary: Record<string, unknown> = {};
if (big) {
  const [bestVariant, best] = bestOf(big);
  const blas = big.numpy?.gflops ?? big.torch?.gflops;
  const gCpu = perCpu(big.problem, best.cpuMs)!, bCpu = perCpu(big.problem, big.numpy?.cpuMs);
  summary = {
    bestVariant1024: bestVariant,
    bestGflops1024: best.gflops,
    blasGflops1024: blas,
    ratioToBlas: blas && best.gflops / blas,
    bestGflopsPerCpuSecond1024: gCpu,
    blasGflopsPerCpuSecond1024: bCpu,
    ratioToBlasPerCpuSecond: bCpu && gCpu / bCpu,
  };
  console.log(
    `\nbest at 1024: ${bestVariant} ${fmt(best.gflops, 2)} GFLOP/s wall (target >= 15), ${fmt(gCpu, 2)} per CPU-s` +
      ` (x ${cores} = ${fmt(gCpu * cores, 1)} on an idle machine, estimated)` +
      (blas ? `; OpenBLAS via numpy ${fmt(blas, 1)} GFLOP/s in this run: ratio ${fmt(best.gflops / blas, 3)}` : "") +
      (bCpu ? `, per CPU-s ${fmt(gCpu / bCpu, 3)} (aim > 0.15)` : ""),
  );
}
const loadAfter = Deno.loadavg(), durationS = (performance.now() - t0) / 1000;
console.log(`load average after: ${loadAfter.map((x) => x.toFixed(2))}; ${fmt(durationS)} s in all`);
const file = await writeRecord(gpu, "kernels", {
  args,
  timing: method,
  queue: costs,
  autotuneSeconds: tuneS,
  variants: VARIANT_NAMES,
  peers: "missing" in peer ? peer : { ...peer.info, env_unset: peer.envUnset },
  rows,
  summary,
  loadavgBefore: loadBefore,
  durationS,
});
console.log(`record: ${file}`);
