/**
 * Helpers of the training benchmark (bench/train_bench.ts) beyond bench/common.ts: a per-kernel profile of one
 * step, the matmul autotune, and steps alternated with the PyTorch peer's.
 * @module
 */
import { tuneMatmul, type TuneShape } from "../kernels/autotune.ts";
import type { Gpu } from "../kernels/gpu.ts";
import type { StepEncoder } from "../kernels/encoder.ts";

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

/**
 * Tunes the matmuls of `shapes` (kernels/autotune.ts); returns the number of shape classes tuned, or why not. A
 * failing autotune is reported, not fatal: the matmuls then run their default variants.
 */
export async function autotune(gpu: Gpu, shapes: TuneShape[]): Promise<number | string> {
  try {
    return (await tuneMatmul(gpu, shapes)).size;
  } catch (e) {
    console.log(`matmul autotune failed (${(e as Error).message}); default variants run`);
    return `failed: ${(e as Error).message}`;
  }
}

/**
 * Runs `ours` and then `theirs` (the peer's turn; null when there is no peer) `n` times, alternating, so both see
 * the same load on a shared machine; returns the wall times of ours and the peer's own timings, ms.
 */
export async function alternate(n: number, ours: () => Promise<unknown>, theirs: () => Promise<number | null>) {
  const a: number[] = [], b: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await ours();
    a.push(performance.now() - t0);
    const p = await theirs();
    if (p !== null) b.push(p);
  }
  return { ours: a, theirs: b };
}
