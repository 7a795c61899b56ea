/**
 * Helpers of the training benchmark (bench/train_bench.ts): medians, a per-kernel profile of one step, the PyTorch
 * peer (bench/peers/train_peer.py) as a subprocess answering commands with JSON lines, the matmul autotune when the runtime
 * has one, and the JSON record in bench/results/. (No shared bench/common.ts existed when this was written; these
 * are small and local.)
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import type { StepEncoder } from "../kernels/encoder.ts";
import type { MatmulProblem } from "../nn/gpt.ts";
import { gitInfo } from "../util/git.ts";
import { atomicWriteJson } from "../util/fs.ts";

/** The median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** GPU time per kernel name over one profiled submit, largest first. */
export interface KernelTime {
  kernel: string;
  count: number;
  ms: number;
}

/** Aggregates a profiled encoder's timings by kernel name. */
export function profileOf(enc: StepEncoder): { total: number; kernels: KernelTime[] } {
  const by = new Map<string, KernelTime>();
  for (const { kernel, ms } of enc.timings) {
    const k = by.get(kernel) ?? { kernel, count: 0, ms: 0 };
    [k.count, k.ms] = [k.count + 1, k.ms + ms];
    by.set(kernel, k);
  }
  const kernels = [...by.values()].sort((a, b) => b.ms - a.ms);
  return { total: kernels.reduce((s, k) => s + k.ms, 0), kernels };
}

/** How to install the peer where it is missing (Debian). */
export const PEER_HELP = "install it with: apt-get install python3-torch libopenblas0-pthread " +
  "(without libopenblas0-pthread torch falls back to the reference BLAS, about 4 GFLOP/s)";

/** What the peer says about itself. */
export interface PeerInfo {
  torch: string;
  threads: number;
  params: number;
}

/**
 * The PyTorch peer (bench/peers/train_peer.py) as a running process that times one training step or one generation
 * per command, so the benchmark can alternate its own steps with the peer's: on a shared machine both then see the
 * same load.
 */
export class Peer {
  #buffer = "";
  readonly #decoder = new TextDecoder();
  readonly #encoder = new TextEncoder();

  private constructor(
    readonly info: PeerInfo,
    readonly child: Deno.ChildProcess,
    readonly stdin: WritableStreamDefaultWriter<Uint8Array>,
    readonly stdout: ReadableStreamDefaultReader<Uint8Array>,
  ) {}

  /** Starts the peer for a model and batch; null (with the reason printed) when Python or torch is missing. */
  static async start(cfg: Record<string, number>, python = "/usr/bin/python3"): Promise<Peer | null> {
    const script = new URL("./peers/train_peer.py", import.meta.url).pathname;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(python, {
        args: [script, JSON.stringify(cfg)],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      console.log(`PyTorch peer unavailable (${python}: ${(e as Error).message}); ${PEER_HELP}`);
      return null;
    }
    const peer = new Peer(
      { torch: "", threads: 0, params: 0 },
      child,
      child.stdin.getWriter(),
      child.stdout.getReader(),
    );
    const info = await peer.call("info").catch(() => null);
    if (!info) {
      const err = await new Response(child.stderr).text().catch(() => "");
      await child.status;
      const why = /No module named 'torch'/.test(err) ? "torch is not installed" : err.trim().split("\n").at(-1);
      console.log(`PyTorch peer failed: ${why}; ${PEER_HELP}`);
      return null;
    }
    Object.assign(peer.info, info);
    return peer;
  }

  /** Sends one command and returns its JSON answer. */
  async call(cmd: "info" | "train" | "sample"): Promise<Record<string, number & string>> {
    await this.stdin.write(this.#encoder.encode(cmd + "\n"));
    while (!this.#buffer.includes("\n")) {
      const { value, done } = await this.stdout.read();
      if (done) throw new Error(`PyTorch peer exited while answering '${cmd}'`);
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
    const at = this.#buffer.indexOf("\n"), line = this.#buffer.slice(0, at);
    this.#buffer = this.#buffer.slice(at + 1);
    const answer = JSON.parse(line);
    if (answer.error) throw new Error(`PyTorch peer: ${answer.error}`);
    return answer;
  }

  /** Times `n` training steps or generations; ms each. */
  async time(cmd: "train" | "sample", n: number): Promise<number[]> {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) ms.push((await this.call(cmd)).ms);
    return ms;
  }

  /** Ends the process. */
  async close(): Promise<void> {
    await this.stdin.close().catch(() => {});
    this.stdout.releaseLock();
    await this.child.stdout.cancel().catch(() => {});
    await this.child.stderr.cancel().catch(() => {});
    await this.child.status;
  }
}

/**
 * Tunes the matmuls of `shapes` with kernels/autotune.ts when the runtime has it (loaded dynamically, so the
 * benchmark also runs on a runtime without an autotune); returns the number of shape classes tuned, or why not.
 * A failing autotune is reported, not fatal: the matmuls then run their default variants.
 */
export async function autotune(gpu: Gpu, shapes: MatmulProblem[]): Promise<number | string> {
  const spec = "../kernels/autotune.ts";
  let mod: { tuneMatmul(gpu: Gpu, shapes: MatmulProblem[], o?: object): Promise<Map<string, unknown>> };
  try {
    mod = await import(spec);
  } catch {
    return "no autotune in this runtime";
  }
  try {
    return (await mod.tuneMatmul(gpu, shapes)).size;
  } catch (e) {
    console.log(`matmul autotune failed (${(e as Error).message}); default variants run`);
    return `failed: ${(e as Error).message}`;
  }
}

/** Writes the benchmark's JSON record to bench/results/train-<time>.json with the commit and adapter. */
export async function writeRecord(gpu: Gpu, body: Record<string, unknown>): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  const file = new URL(`./results/train-${stamp}.json`, import.meta.url).pathname;
  await atomicWriteJson(file, {
    bench: "train",
    date: new Date().toISOString(),
    git: await gitInfo(),
    adapter: gpu.info,
    deno: Deno.version.deno,
    ...body,
  });
  return file;
}
