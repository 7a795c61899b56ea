/**
 * The SIMD width of Mesa's llvmpipe, the CPU adapter of machines without a GPU.
 *
 * llvmpipe runs a compute workgroup's invocations in SIMD lanes, as many 32-bit lanes as its native vector width
 * holds. Mesa 22 picks 256 bits on a CPU with AVX2 *and* on one with AVX-512: it only uses 512 bits when the
 * environment asks for it with `LP_NATIVE_VECTOR_WIDTH=512`. On the 2-core AMD EPYC our machines and CI run on,
 * 512 bits makes a training step of the `s` GPT about 1.4x faster (bench/results/train-*). Mesa reads the variable
 * once, when the first adapter is created, so {@link chooseVectorWidth} runs before `requestAdapter`.
 *
 * Mesa's on-disk shader cache does not key its entries by this width (measured: with a cache filled at 256 bits, a
 * run that asks for 512 loads the 256-bit code, reports "512 bits" and runs at 256-bit speed). So a chosen width
 * also gets a shader cache of its own, `MESA_SHADER_CACHE_DIR=~/.cache/mesa_lp<bits>` (under `XDG_CACHE_HOME` if
 * set), unless the user set that variable.
 *
 * The lanes are invocations, not parts of one invocation's arithmetic, and our kernels use no subgroup operations,
 * so each invocation computes the same bits at either width: kernels/vector_width_test.ts trains and samples at 256
 * and at 512 bits and compares the bits.
 *
 * @example
 * ```ts
 * const choice = chooseVectorWidth(); // before navigator.gpu.requestAdapter()
 * console.log(choice.bits, choice.why);  // 512 "set: the CPU has AVX-512 (avx512f)"
 * ```
 * @module
 */

/** What {@link chooseVectorWidth} decided, recorded in every run's adapter info. */
export interface VectorWidthChoice {
  /** `LP_NATIVE_VECTOR_WIDTH` as the adapter sees it (bits), or null where it is left to Mesa's default. */
  bits: number | null;
  /** Why: the user set it, we set it from the CPU's flags, or it was left unset. */
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

/**
 * Decides llvmpipe's vector width and sets `LP_NATIVE_VECTOR_WIDTH` where it should be: a value the user set is
 * kept (any value Mesa takes: 128, 256, 512); otherwise, on an x86-64 CPU with AVX-512 (`avx512f`), it is set to 512.
 * Elsewhere it is left to Mesa. Harmless on a real GPU, where no driver reads it. `flags`, `arch` and `env` are
 * for tests.
 */
export function chooseVectorWidth(
  flags: Set<string> | null = cpuFlags(),
  arch: string = Deno.build.arch,
  env: Env = Deno.env,
): VectorWidthChoice {
  const set = env.get(VECTOR_WIDTH_VAR);
  let bits: number | null = null, why: string;
  if (set !== undefined && set !== "") {
    bits = Number(set);
    if (![128, 256, 512].includes(bits)) {
      throw new RangeError(`${VECTOR_WIDTH_VAR} must be 128, 256 or 512 (bits); got '${set}'`);
    }
    why = `${VECTOR_WIDTH_VAR}=${set} in the environment`;
  } else if (arch === "x86_64" && flags?.has("avx512f")) {
    bits = 512;
    env.set(VECTOR_WIDTH_VAR, "512");
    why = "set: the CPU has AVX-512 (avx512f)";
  } else {
    why = "left to Mesa: the CPU has no AVX-512" + (flags ? "" : " (or its flags are unknown)");
  }
  let shaderCache = env.get(SHADER_CACHE_VAR) || null;
  if (bits !== null && shaderCache === null) {
    const base = env.get("XDG_CACHE_HOME") || (env.get("HOME") && `${env.get("HOME")}/.cache`);
    if (base) env.set(SHADER_CACHE_VAR, shaderCache = `${base}/mesa_lp${bits}`);
  }
  return { bits, why, shaderCache };
}

/** Where Mesa keeps compiled shaders. */
const SHADER_CACHE_VAR = "MESA_SHADER_CACHE_DIR";
