/**
 * Test helpers shared by every kernel test: GPU test registration that fails (never skips) when an adapter is
 * required and missing, and closeness checks that report the largest difference and where it is.
 * @module
 */
import { createGpu, type Gpu } from "./gpu.ts";
import { Rng } from "./rng.ts";

/** Whether a missing adapter is a failure (CI sets REQUIRE_GPU=1). */
export const REQUIRE_GPU = Deno.env.get("REQUIRE_GPU") === "1";

let gpuPromise: Promise<Gpu | Error> | undefined;

/** The test process's `Gpu`, or the error that says why there is none. */
export function testGpu(): Promise<Gpu | Error> {
  gpuPromise ??= createGpu().catch((e: Error) => e);
  return gpuPromise;
}

/**
 * Registers a test that needs the GPU. Without an adapter it fails when REQUIRE_GPU=1 and is reported as ignored
 * otherwise (so a laptop without WebGPU can still run the CPU tests).
 */
export function gpuTest(name: string, fn: (gpu: Gpu) => Promise<void> | void): void {
  Deno.test({
    name,
    // WebGPU keeps internal resources alive across tests in one module; they are not leaks of the test.
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const gpu = await testGpu();
      if (gpu instanceof Error) {
        if (REQUIRE_GPU) throw new Error(`REQUIRE_GPU=1 but no adapter: ${gpu.message}`);
        console.warn(`skipping '${name}': ${gpu.message.split("\n")[0]}`);
        return;
      }
      await fn(gpu);
    },
  });
}

/** Result of a closeness comparison. */
export interface CloseReport {
  maxAbs: number;
  maxRel: number;
  at: number;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise; the error names the label, the worst index,
 * both values, and the maximum absolute difference. Returns the report for printing.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, label = "values" }: { atol?: number; rtol?: number; label?: string } = {},
): CloseReport {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} != expected ${expected.length}`);
  }
  let maxAbs = 0, maxRel = 0, at = -1, worst = -1, worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    const d = a === e ? 0 : Math.abs(a - e); // equal infinities are close
    if (!(d <= atol + rtol * Math.abs(e))) {
      const excess = Number.isNaN(d) ? Infinity : d - (atol + rtol * Math.abs(e));
      if (worst < 0 || excess > worstExcess) [worst, worstExcess] = [i, excess];
    }
    if (d > maxAbs || Number.isNaN(d)) [maxAbs, at] = [Number.isNaN(d) ? Infinity : d, i];
    if (e !== 0) maxRel = Math.max(maxRel, d / Math.abs(e));
  }
  if (worst >= 0) {
    throw new Error(
      `${label}: mismatch at index ${worst}: got ${actual[worst]}, expected ${expected[worst]} ` +
        `(max abs diff ${maxAbs.toExponential(3)} at ${at}; atol ${atol}, rtol ${rtol})`,
    );
  }
  return { maxAbs, maxRel, at };
}

/** Asserts two arrays are bitwise identical (as f32/u32 bit patterns). */
export function assertBitwiseEqual(a: ArrayLike<number>, b: ArrayLike<number>, label = "values"): void {
  const fa = Float32Array.from(a), fb = Float32Array.from(b);
  const ua = new Uint32Array(fa.buffer), ub = new Uint32Array(fb.buffer);
  if (ua.length !== ub.length) throw new Error(`${label}: lengths differ (${ua.length} vs ${ub.length})`);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) throw new Error(`${label}: bits differ at ${i}: ${fa[i]} vs ${fb[i]}`);
  }
}

/** `n` uniform floats in [-scale, scale) from a seeded stream. */
export function randomArray(seed: number | Rng, n: number, scale = 1): Float32Array {
  const rng = typeof seed === "number" ? new Rng(seed) : seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.uniform() - 1) * scale;
  return out;
}
