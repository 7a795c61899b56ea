/**
 * Helpers shared by the benchmarks: timing on the GPU (timestamp queries where the adapter has them, wall clock
 * around a synced submit otherwise) and on the CPU, the queue round-trip and per-dispatch costs, aligned text
 * tables, Python peers run as subprocesses answering JSON lines, and the JSON record written to bench/results/.
 *
 * Benchmarks here run on machines shared with other work, so every timing is the fastest of a few repetitions (the
 * least disturbed), and each record carries the load average before and after.
 *
 * @example
 * ```ts
 * const gpu = await getGpu();
 * const t = await timeGpu(gpu, (enc) => matmul(enc, a, b, out), { budgetMs: 300 });
 * printTable(["op", "ms"], [["matmul", fmt(t.ms, 2)]]);
 * await writeRecord(gpu, "kernels", { matmul: t });
 * ```
 * @module
 */
import process from "node:process";
import type { Gpu } from "../kernels/gpu.ts";
import type { StepEncoder } from "../kernels/encoder.ts";
import { kernel } from "../kernels/kernel.ts";
import { gitInfo } from "../util/git.ts";
import { atomicWriteJson } from "../util/fs.ts";

/** How a time was measured. */
export type TimingMethod = "gpu-timestamps" | "wall-clock";

/** One timed GPU operation: the fastest repetition, and how many were run. */
export interface GpuTiming {
  ms: number;
  reps: number;
  method: TimingMethod;
  /** Wall time of the first, untimed run (includes compiling the pipelines on first use). */
  firstMs: number;
  /**
   * CPU time (user + system, every thread of this process) of the least costly timed run. On a CPU adapter such as
   * llvmpipe the kernels run on this process's threads, so work / cpuMs measures efficiency even on a busy machine.
   */
  cpuMs: number;
}

/** CPU time this process used while `fn` ran, in ms, with `fn`'s result. */
export async function withCpuTime<T>(fn: () => Promise<T>): Promise<{ value: T; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return { value, cpuMs: (c.user + c.system) / 1000 };
}

/** Formats a number with `d` decimals (or "-" when it is not finite). */
export function fmt(x: number | undefined, d = 1): string {
  return x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d);
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times the GPU work that `record` puts into an encoder. A first run (synced) compiles pipelines and warms caches;
 * then `reps` runs are timed (by default as many as fit `budgetMs` at the first run's pace, 1 to `maxReps`), each
 * in its own submit, and the fastest counts. With timestamps, the time is the sum of the dispatches' GPU times.
 */
export async function timeGpu(
  gpu: Gpu,
  record: (enc: StepEncoder) => void,
  { reps, budgetMs = 300, maxReps = 5, method }: {
    reps?: number;
    budgetMs?: number;
    maxReps?: number;
    method?: TimingMethod;
  } = {},
): Promise<GpuTiming> {
  const how: TimingMethod = method ?? (gpu.hasTimestamps ? "gpu-timestamps" : "wall-clock");
  const t0 = performance.now();
  const warm = gpu.encoder("bench warm-up");
  record(warm);
  await warm.submit();
  await gpu.sync();
  const firstMs = performance.now() - t0;
  const n = reps ?? Math.max(1, Math.min(maxReps, Math.floor(budgetMs / Math.max(firstMs, 1e-3))));
  let best = Infinity, cpuMs = Infinity;
  for (let i = 0; i < n; i++) {
    const { value: ms, cpuMs: cpu } = await withCpuTime(async () => {
      if (how === "gpu-timestamps") {
        const enc = gpu.encoder("bench", { profile: true });
        record(enc);
        await enc.submit();
        return enc.timings.reduce((s, t) => s + t.ms, 0);
      }
      const t = performance.now();
      const enc = gpu.encoder("bench");
      record(enc);
      await enc.submit();
      await gpu.sync();
      return performance.now() - t;
    });
    best = Math.min(best, ms);
    cpuMs = Math.min(cpuMs, cpu);
  }
  return { ms: best, reps: n, method: how, firstMs, cpuMs };
}

/**
 * Times a CPU function: the fastest of as many runs as fit `budgetMs` (up to `maxReps`) after a first run, which
 * counts alone when it already took the whole budget (a slow peer is timed once).
 */
export function timeCpu(fn: () => void, { budgetMs = 300, maxReps = 5 } = {}): { ms: number; reps: number } {
  let t0 = performance.now();
  fn();
  const first = performance.now() - t0;
  if (first >= budgetMs) return { ms: first, reps: 1 };
  const n = Math.max(1, Math.min(maxReps, Math.floor(budgetMs / Math.max(first, 1e-3))));
  let best = first;
  for (let i = 0; i < n; i++) {
    t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, reps: n + 1 };
}

const noop = kernel({
  name: "bench_noop",
  buffers: { x: "rw" },
  code: /* wgsl */ `@compute @workgroup_size(1) fn main() { x[0] = x[0] + 1.0; }`,
});

/**
 * The fixed costs every step pays, by wall clock: a queue round trip (an empty submit awaited with `gpu.sync()`,
 * median of `n`) and the cost of one more dispatch inside a submit (a trivial one-invocation kernel, 1 versus
 * `per` dispatches per submit, fastest of `n`).
 */
export async function queueCosts(gpu: Gpu, n = 20, per = 200): Promise<{ roundTripMs: number; dispatchMs: number }> {
  const x = gpu.tensor([1], "f32", "bench noop");
  const rt: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await gpu.sync();
    rt.push(performance.now() - t0);
  }
  const submit = async (count: number) => {
    const t0 = performance.now();
    const enc = gpu.encoder("bench dispatches");
    for (let i = 0; i < count; i++) enc.dispatch(noop, { x }, undefined, 1);
    await enc.submit();
    await gpu.sync();
    return performance.now() - t0;
  };
  await submit(per); // compile, build the bind group
  let one = Infinity, many = Infinity;
  for (let i = 0; i < Math.max(3, n / 4); i++) {
    [one, many] = [Math.min(one, await submit(1)), Math.min(many, await submit(per))];
  }
  x.destroy();
  return { roundTripMs: median(rt), dispatchMs: Math.max(0, (many - one) / (per - 1)) };
}

/** Prints rows under a header as an aligned text table (numbers right-aligned). */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]) =>
    r.map((c, i) => (/^[-+]?[\d.]+(e[-+]?\d+)?x?$|^-$/.test(c) ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  ");
  console.log(line(header));
  console.log(w.map((n) => "-".repeat(n)).join("  "));
  for (const r of rows) console.log(line(r));
}

/** Where a Python peer was not available, and how to get it. */
export const PYTHON_PEER_HELP =
  "on Debian: apt-get install python3-numpy python3-torch libopenblas0-pthread python3-threadpoolctl (without " +
  "libopenblas0-pthread, " +
  "numpy and torch fall back to the reference BLAS at a few GFLOP/s)";

/**
 * Variables some machines set that hold OpenBLAS below its best on this CPU (ours set `OPENBLAS_CORETYPE=Haswell`,
 * AVX2, on an AVX-512 CPU, and a small `OPENBLAS_L2_SIZE`). Peers are started without them, so they are measured
 * as a user who installs numpy or PyTorch gets them; only the peer's process loses them, never ours or the tests'.
 */
export const PEER_ENV_UNSET = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"] as const;

/** This process's environment without {@link PEER_ENV_UNSET}, and the values removed (recorded with the peer). */
export function peerEnv(): { env: Record<string, string>; unset: Record<string, string> } {
  const env = Deno.env.toObject(), unset: Record<string, string> = {};
  for (const k of PEER_ENV_UNSET) {
    if (!(k in env)) continue;
    unset[k] = env[k];
    delete env[k];
  }
  return { env, unset };
}

/** A running Python peer that answers one JSON line per JSON line it is sent (see bench/peers/matmul_peer.py). */
export interface PythonPeer<Info, Answer> {
  /** The peer's answer to its configuration (versions, what is missing). */
  info: Info;
  /** The variables removed from the peer's environment, with their values here ({@link peerEnv}). */
  envUnset: Record<string, string>;
  /** Sends one request and waits for its answer. */
  ask(request: unknown): Promise<Answer>;
  /** Closes the peer's stdin and waits for it to exit. */
  close(): Promise<void>;
}

/**
 * Starts `/usr/bin/python3 script`, sends `config` as its first line and reads the info line it answers. Returns
 * the reason instead when Python is missing or the script fails to start (its last stderr line), so a benchmark can
 * say what is absent (and add {@link PYTHON_PEER_HELP}). The peer runs without {@link PEER_ENV_UNSET}. A long-running peer lets a benchmark time the peer right
 * after its own kernel, under the same load.
 */
export async function startPythonPeer<Info, Answer>(
  script: string,
  config: unknown,
  python = "/usr/bin/python3",
): Promise<PythonPeer<Info, Answer> | { missing: string }> {
  let child: Deno.ChildProcess;
  const { env, unset } = peerEnv();
  try {
    child = new Deno.Command(python, {
      args: [script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env,
      clearEnv: true,
    }).spawn();
  } catch (e) {
    return { missing: `${python} cannot be run (${(e as Error).message})` };
  }
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines()).getReader();
  const stderr = new Response(child.stderr).text();
  const send = (x: unknown) => writer.write(new TextEncoder().encode(JSON.stringify(x) + "\n"));
  const receive = async () => {
    const { value, done } = await lines.read();
    if (done) throw new Error(`${script} exited: ${(await stderr).trim().split("\n").at(-1)}`);
    return JSON.parse(value);
  };
  try {
    await send(config);
    const info = await receive() as Info;
    return {
      info,
      envUnset: unset,
      ask: async (request) => (await send(request), await receive() as Answer),
      close: async () => {
        await writer.close();
        await child.status;
        await stderr;
      },
    };
  } catch (e) {
    await writer.close().catch(() => {});
    await child.status;
    return { missing: (e as Error).message };
  }
}

/** A stream transform from text chunks to lines. */
function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, ctl) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) if (p.trim()) ctl.enqueue(p);
    },
    flush(ctl) {
      if (rest.trim()) ctl.enqueue(rest);
    },
  });
}

/**
 * Writes `body` with the date, git commit, adapter info and load average to
 * bench/results/<name>-<date>-<adapter>.json (atomically) and returns the path.
 */
export async function writeRecord(gpu: Gpu, name: string, body: Record<string, unknown>): Promise<string> {
  const date = new Date().toISOString();
  const adapter = gpu.info.description.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
  const file = new URL(`./results/${name}-${date.replace(/[:.]/g, "-").slice(0, 19)}-${adapter}.json`, import.meta.url)
    .pathname;
  await atomicWriteJson(file, {
    bench: name,
    date,
    git: await gitInfo(),
    adapter: gpu.info,
    deno: Deno.version.deno,
    loadavg: Deno.loadavg(),
    ...body,
  });
  return file;
}
