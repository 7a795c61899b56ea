/**
 * The SIMD width of Mesa's llvmpipe, the CPU adapter of machines without a GPU, and the shader cache that goes
 * with it.
 *
 * llvmpipe runs a compute workgroup's invocations in SIMD lanes, as many 32-bit lanes as its native vector width
 * holds. Mesa 22 picks 256 bits on a CPU with AVX2 and also on one with AVX-512; `LP_NATIVE_VECTOR_WIDTH=512`
 * asks for 512. Mesa reads the variable once, when the first adapter is created, so {@link chooseVectorWidth} runs
 * before `requestAdapter` and records what the CPU has and what was asked for.
 *
 * We leave the width to Mesa unless the user sets it, because 512 bits is slower for our kernels on the AMD EPYC
 * (AVX-512) our machines and CI run on: a training step of the `s` GPT takes 1.48 s at 512 bits against 1.23 s at
 * 256, sampling 1.22 s against 0.70 s (bench/results/train-2026-12-07T16-*), and a standalone register-block matmul
 * at 4096 x 128 x 128 reaches 19.7 GFLOP/s against 34.2. Each invocation's registers become 16-lane vectors, so the
 * register blocks spill twice the bytes, while a storage load still costs one scalar load per lane.
 *
 * Mesa's on-disk shader cache does not key its entries by the width (measured: with a cache filled at 256 bits, a
 * run that asks for 512 loads the 256-bit code, reports "512 bits" and runs at 256-bit speed). So a width the user
 * sets gets a cache of its own, `MESA_SHADER_CACHE_DIR=~/.cache/mesa_lp<bits>` (under `XDG_CACHE_HOME` if set),
 * unless the user set that variable too.
 *
 * The lanes are invocations, not parts of one invocation's arithmetic, and our kernels use no subgroup operations,
 * so each invocation computes the same bits at any width: nn/determinism_test.ts trains and samples at 256 and at
 * 512 bits and compares the bits.
 *
 * @example
 * ```ts
 * const choice = chooseVectorWidth(); // before navigator.gpu.requestAdapter()
 * console.log(choice.cpuBits, choice.bits, choice.why); // 512 null "left to Mesa's default ..."
 * ```
 * @module
 */

/** What {@link chooseVectorWidth} decided, recorded in every run's adapter info. */
export interface VectorWidthChoice {
  /** `LP_NATIVE_VECTOR_WIDTH` as the adapter sees it (bits), or null where it is left to Mesa's default. */
  bits: number | null;
  /** The widest vectors the CPU has (512 with AVX-512F, 256 with AVX, 128 with SSE2), or null if unknown. */
  cpuBits: number | null;
  /** Why `bits` is what it is. */
  why: string;
  /** `MESA_SHADER_CACHE_DIR` as the adapter sees it, or null for Mesa's default. */
  shaderCache: string | null;
}

/** The part of `Deno.env` this module uses. */
export interface Env {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** The environment variable Mesa's llvmpipe reads. */
export const VECTOR_WIDTH_VAR = "LP_NATIVE_VECTOR_WIDTH";
/** Where Mesa keeps compiled shaders. */
const SHADER_CACHE_VAR = "MESA_SHADER_CACHE_DIR";

/** The CPU's feature flags from /proc/cpuinfo (Linux), or null where they cannot be read. */
export function cpuFlags(cpuinfo?: string): Set<string> | null {
  let text = cpuinfo;
  if (text === undefined) {
    if (Deno.build.os !== "linux") return null;
    try {
      text = Deno.readTextFileSync("/proc/cpuinfo");
    } catch {
      return null;
    }
  }
  const line = text.split("\n").find((l) => /^flags\s*:/.test(l));
  return line ? new Set(line.replace(/^flags\s*:/, "").trim().split(/\s+/)) : null;
}

/** The widest SIMD registers an x86-64 CPU with these flags has, in bits; null elsewhere or when unknown. */
export function cpuVectorBits(flags: Set<string> | null, arch: string = Deno.build.arch): number | null {
  if (arch !== "x86_64" || !flags) return null;
  return flags.has("avx512f") ? 512 : flags.has("avx") ? 256 : flags.has("sse2") ? 128 : null;
}

/**
 * Reads llvmpipe's vector width from the environment (a value the user set is kept: 128, 256 or 512; anything else
 * is an error), gives a set width its own shader cache, and says what the CPU has. Harmless on a real GPU, where no
 * driver reads these variables. `flags`, `arch` and `env` are for tests.
 */
export function chooseVectorWidth(
  flags: Set<string> | null = cpuFlags(),
  arch: string = Deno.build.arch,
  env: Env = Deno.env,
): VectorWidthChoice {
  const cpuBits = cpuVectorBits(flags, arch);
  const set = env.get(VECTOR_WIDTH_VAR);
  let bits: number | null = null, why: string;
  if (set !== undefined && set !== "") {
    bits = Number(set);
    if (![128, 256, 512].includes(bits)) {
      throw new RangeError(`${VECTOR_WIDTH_VAR} must be 128, 256 or 512 (bits); got '${set}'`);
    }
    why = `${VECTOR_WIDTH_VAR}=${set} in the environment`;
  } else {
    why = "left to Mesa's default" +
      (cpuBits === 512 ? " (256 bits; 512 is slower for these kernels on the AVX-512 CPUs measured)" : "");
  }
  let shaderCache = env.get(SHADER_CACHE_VAR) || null;
  if (bits !== null && shaderCache === null) {
    const base = env.get("XDG_CACHE_HOME") || (env.get("HOME") && `${env.get("HOME")}/.cache`);
    if (base) env.set(SHADER_CACHE_VAR, shaderCache = `${base}/mesa_lp${bits}`);
  }
  return { bits, cpuBits, why, shaderCache };
}
