/**
 * Matrix multiplication in the three forms forward and backward need, batched, with optional bias and a fused
 * activation:
 *
 *   out[b] = act(alpha · op(A[b]) · op(B[b]) + bias) + beta · out[b]
 *
 * where op(A) is A ([M, K]) or Aᵀ (A stored [K, M]), op(B) is B ([K, N]) or Bᵀ (B stored [N, K]). A 2-D operand
 * is broadcast over the batch (stride 0), which is how a weight matrix multiplies a batch of activations.
 *
 * ## Variants, and why each exists
 *
 * The same product is implemented by several kernels (matmul_variants.ts lists them):
 * - `naive`: one output per invocation. The reference: short enough to check by eye, slow everywhere.
 * - Register blocks `rbRMxRN[v4]` (matmul_regblock.ts): each invocation keeps RM x RN accumulators in registers and
 *   reads A and B straight from storage, with vec4 loads where the shape allows. Fastest on CPU adapters: on Mesa's
 *   llvmpipe a storage (or workgroup) load is a per-SIMD-lane loop with a bounds check, tens of instructions,
 *   against one instruction per 8-lane fma, so what counts is fmas per loaded value (RM·RN / (RM + RN)) and vec4
 *   loads, which pay the lane loop once per four values. Several sizes, because small products need small blocks
 *   to give both CPU threads work, and because the best size varies with the shape (the autotune decides).
 * - Shared-memory tiles `tileBMxBN` (matmul_tiled.ts): the classic GPU kernel, staging slices of A and B in
 *   workgroup memory. Fastest on real GPUs; slow on llvmpipe (workgroup loads cost like storage loads there, and
 *   barriers are coroutine switches).
 *
 * What limits the register blocks on a 2-core llvmpipe: storage loads. The 16 x 16 block reaches about 8-12 GFLOP
 * per CPU-second at 1024 (so about 16-24 GFLOP/s on an idle 2-core machine), against about 90 for OpenBLAS; with
 * its loads moved out of the k loop (a timing experiment, wrong results) it reaches about 50, so the loads take
 * about 85% of the time, A's and B's alike (no uniform-address fast path in Mesa 22). Further: 256-bit vectors
 * (8 lanes; 512-bit vectors, which Mesa gives when asked on a CPU with AVX-512, made every block size slower here,
 * 19.7 against 34.2 GFLOP/s at best: see kernels/vector_width.ts); two threads, one workgroup each; the 256
 * accumulators spill to the stack; the epilogue (a third of the time at K = 128 before full blocks were written
 * straight from the registers, matmul_regblock.ts `Epilogue`); workgroup memory gives no reuse benefit (its loads take the same lane loop, barriers are coroutine
 * switches, and WebGPU's zero-initialisation makes large tiles slow to compile); and larger blocks, which would
 * load less per fma, take from tens of seconds (32 x 16) to minutes (32 x 32) to compile.
 *
 * ## Determinism
 *
 * Every variant accumulates each output in the same order: from 0, one `fma` per k, k ascending, no split-K, no
 * `dot()`; and all share the epilogue of matmul_epilogue.ts. So all variants give bitwise identical results
 * (matmul_variants_test.ts checks it), and the autotune's choice, which may vary with timing noise, never changes a
 * training run's numbers.
 *
 * ## Which variant runs
 *
 * In order: the `variant` option of the call; the `MATMUL_VARIANT` environment variable; the choice `tuneMatmul`
 * (autotune.ts) recorded for the adapter and shape class; a per-adapter default (register blocks on fallback
 * adapters, sized so both CPU threads get work; tiles otherwise). `matmul` itself never waits on the queue.
 *
 * @example
 * ```ts
 * // y [T, 3C] = x [T, C] · W [C, 3C] + b
 * matmul(enc, x, w, y, { bias: b });
 * // dW [C, 3C] += xᵀ · dy
 * matmul(enc, x, dy, dw, { transA: true, beta: 1 });
 * // dx [T, C] = dy · Wᵀ
 * matmul(enc, dy, w, dx, { transB: true });
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import type { Gpu } from "./gpu.ts";
import type { Tensor } from "./tensor.ts";
import { ACT_CODE, type Activation, geluCpu } from "./matmul_epilogue.ts";
import { dispatchVariant, type MatmulShape, variantGrid, variantInfo, VARIANTS } from "./matmul_variants.ts";
import { tunedMatmulVariant } from "./autotune.ts";

export { ACTIVATION_WGSL, geluCpu } from "./matmul_epilogue.ts";
export type { Activation } from "./matmul_epilogue.ts";
export type { MatmulShape } from "./matmul_variants.ts";

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** A is stored [K, M] and used transposed. */
  transA?: boolean;
  /** B is stored [N, K] and used transposed. */
  transB?: boolean;
  /** Bias of length N added to every row (before the activation). */
  bias?: Tensor;
  /** Activation applied to alpha·A·B + bias. */
  activation?: Activation;
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Scale of the previous contents of `out` added to the result (default 0; 1 accumulates). */
  beta?: number;
  /** Force a kernel variant by name (see matmul_variants.ts); all variants give the same bits. */
  variant?: string;
}

/** Checks operand shapes and returns the problem size; errors name the operand and the shapes. */
export function matmulShape(a: Tensor, b: Tensor, out: Tensor, o: MatmulOptions = {}): MatmulShape {
  const dims = (t: Tensor, name: string) => {
    if (t.shape.length === 2) return [0, t.shape[0], t.shape[1]];
    if (t.shape.length === 3) return [t.shape[0], t.shape[1], t.shape[2]];
    throw new RangeError(`matmul: ${name} ('${t.label}') must be 2-D or 3-D, got [${t.shape}]`);
  };
  const [ba, a0, a1] = dims(a, "A"), [bb, b0, b1] = dims(b, "B"), [bo, m, n] = dims(out, "out");
  const [am, ak] = o.transA ? [a1, a0] : [a0, a1];
  const [bk, bn] = o.transB ? [b1, b0] : [b0, b1];
  const batch = Math.max(ba, bb, bo, 1);
  const desc = `A [${a.shape}]${o.transA ? "ᵀ" : ""} · B [${b.shape}]${o.transB ? "ᵀ" : ""} -> out [${out.shape}]`;
  if (am !== m || bn !== n || ak !== bk) throw new RangeError(`matmul: shapes do not agree: ${desc}`);
  if ([ba, bb, bo].some((bt) => bt !== 0 && bt !== batch)) {
    throw new RangeError(`matmul: batch sizes do not agree (A ${ba}, B ${bb}, out ${bo}; 0 = 2-D, broadcast): ${desc}`);
  }
  if (bo === 0 && batch > 1) throw new RangeError(`matmul: out must be 3-D for a batched product: ${desc}`);
  if (o.bias && o.bias.size !== n) throw new RangeError(`matmul: bias has ${o.bias.size} values, N is ${n}`);
  return { batch, m, n, k: ak, strideA: ba === 0 ? 0 : am * ak, strideB: bb === 0 ? 0 : bk * bn };
}

/** A `MATMUL_VARIANT` value: a variant name, or null when unset or empty; an unknown name is a TypeError. */
export function parseMatmulVariantEnv(value: string | undefined): string | null {
  const v = value?.trim();
  if (!v) return null;
  if (!VARIANTS.has(v)) {
    throw new TypeError(`MATMUL_VARIANT='${v}' is not a matmul variant; valid: ${[...VARIANTS.keys()].join(", ")}`);
  }
  return v;
}

let envVariant: string | null | undefined;

/** `MATMUL_VARIANT`, read and validated once (unreadable without --allow-env, which counts as unset). */
export function envMatmulVariant(): string | null {
  if (envVariant === undefined) {
    let v: string | undefined;
    try {
      v = Deno.env.get("MATMUL_VARIANT");
    } catch {
      v = undefined;
    }
    envVariant = parseMatmulVariantEnv(v);
  }
  return envVariant;
}

/**
 * The default variant when nothing was forced or tuned. On fallback (CPU) adapters: the largest register block
 * that still gives 64 invocations (8 SIMD groups of 8 lanes, so both llvmpipe threads stay busy), and at most 8 x 8
 * when K <= 32 (the epilogue then outweighs the k loop); on GPUs: 64 x 64 tiles, or 32 x 32 when that would leave
 * fewer than 32 workgroups.
 */
export function defaultMatmulVariant(gpu: Gpu, s: MatmulShape): string {
  if (gpu.info.isFallbackAdapter) {
    const blocks = s.k <= 32 ? ["rb8x8v4"] : ["rb16x16v4", "rb8x16v4", "rb8x8v4"];
    const invocations = (v: string) => {
      const i = VARIANTS.get(v)!;
      return s.batch * Math.ceil(s.m / i.rm) * Math.ceil(s.n / i.rn);
    };
    return blocks.find((v) => invocations(v) >= 64) ?? "rb4x4v4";
  }
  const groups = variantGrid(VARIANTS.get("tile64x64")!, s).reduce((x, y) => x * y, 1);
  return groups >= 32 ? "tile64x64" : "tile32x32";
}

/** The variant {@link matmul} would run for this problem (option, env, tuned choice, default). */
export function selectMatmulVariant(gpu: Gpu, s: MatmulShape, o: MatmulOptions = {}): string {
  if (o.variant !== undefined) return variantInfo(o.variant).name;
  return envMatmulVariant() ?? tunedMatmulVariant(gpu, s, !!o.transA, !!o.transB) ?? defaultMatmulVariant(gpu, s);
}

/** Records out = act(alpha·op(A)·op(B) + bias) + beta·out into `enc` (see the module doc). */
export function matmul(enc: StepEncoder, a: Tensor, b: Tensor, out: Tensor, o: MatmulOptions = {}): void {
  const s = matmulShape(a, b, out, o);
  const gpu = enc.gpu;
  // Checked here, before any binding, so the message names the operand in matmul's own terms.
  const maxBinding = gpu.limits.maxStorageBufferBindingSize;
  for (const [name, t] of [["A", a], ["B", b], ["out", out], ["bias", o.bias]] as const) {
    if (t && t.byteLength > maxBinding) {
      throw new RangeError(
        `matmul: operand ${name} ('${t.label}', [${t.shape}]) is ${t.byteLength} bytes, over this adapter's ` +
          `maxStorageBufferBindingSize (${maxBinding}); split the product`,
      );
    }
  }
  const alpha = o.alpha ?? 1, beta = o.beta ?? 0;
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) {
    throw new RangeError(`matmul: alpha and beta must be finite, got alpha ${alpha}, beta ${beta}`);
  }
  const act = ACT_CODE[o.activation ?? "none"];
  if (act === undefined) throw new TypeError(`matmul: unknown activation '${o.activation}' (none, relu, gelu)`);
  dispatchVariant(enc, variantInfo(selectMatmulVariant(gpu, s, o)), s, {
    a,
    b,
    out,
    bias: o.bias ?? gpu.dummy(),
    params: {
      m: s.m,
      n: s.n,
      k: s.k,
      strideA: s.strideA,
      strideB: s.strideB,
      transA: o.transA ? 1 : 0,
      transB: o.transB ? 1 : 0,
      hasBias: o.bias ? 1 : 0,
      act,
      alpha,
      beta,
    },
  });
}

/** CPU reference of {@link matmul} (float64 accumulation). */
export function matmulCpu(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  s: MatmulShape,
  o: MatmulOptions & { biasData?: Float32Array } = {},
): Float32Array {
  const { batch, m, n, k, strideA, strideB } = s;
  const res = new Float32Array(batch * m * n);
  for (let bt = 0; bt < batch; bt++) {
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) {
        let acc = 0;
        for (let i = 0; i < k; i++) {
          const av = o.transA ? a[bt * strideA + i * m + r] : a[bt * strideA + r * k + i];
          const bv = o.transB ? b[bt * strideB + c * k + i] : b[bt * strideB + i * n + c];
          acc += av * bv;
        }
        let v = (o.alpha ?? 1) * acc + (o.biasData ? o.biasData[c] : 0);
        const act = o.activation ?? "none";
        v = act === "relu" ? Math.max(v, 0) : act === "gelu" ? geluCpu(v) : v;
        const idx = (bt * m + r) * n + c;
        res[idx] = v + (o.beta ?? 0) * (out[idx] ?? 0);
      }
    }
  }
  return res;
}
