/**
 * The registry of matmul kernel variants: their names, the kernel compiled for each (per pair of load modes for a
 * register block, once per tile size otherwise), and the grid each one dispatches. `matmul.ts` picks a variant;
 * this module turns the name into a dispatch.
 *
 * Variants:
 * - `naive`: one output per invocation, the reference, kept simple on purpose; every other variant must match it
 *   bit for bit.
 * - `rb4x4v4`, `rb8x8v4`, `rb8x16v4`, `rb16x16v4`: register blocks of RM x RN outputs per invocation, read straight
 *   from storage, the fast family on CPU adapters such as llvmpipe (matmul_regblock.ts). Larger blocks load less
 *   per fma; smaller ones give more invocations, which small products need to keep every CPU thread busy. `v4`
 *   loads vec4 wherever the shape allows (K, M or N divisible by 4, depending on the form) and scalars elsewhere.
 * - `rb8x8`: the 8 x 8 block with scalar loads only, kept so the benchmark shows what vec4 loads buy.
 * - `tile32x32` (k slices of 8) and `tile64x64` (slices of 4): shared-memory tiles, the fast family on real GPUs
 *   (matmul_tiled.ts); the small slices keep llvmpipe's compile time down.
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { type Kernel, kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";
import { FINISH_WGSL, MATMUL_PARAMS } from "./matmul_epilogue.ts";
import { type Epilogue, epilogueTag, type LoadMode, regBlockWgsl } from "./matmul_regblock.ts";
import { tiledWgsl } from "./matmul_tiled.ts";

/** A resolved problem: sizes and batch strides in elements (0 = broadcast). */
export interface MatmulShape {
  batch: number;
  m: number;
  n: number;
  k: number;
  strideA: number;
  strideB: number;
}

/** The families a variant belongs to. */
export type MatmulFamily = "reference" | "register" | "tiled";

/** A kernel variant's fixed description. */
export interface VariantInfo {
  name: string;
  family: MatmulFamily;
  /** Register block or tile: outputs per invocation (register) or per workgroup (tiled). */
  rm: number;
  rn: number;
  /** Register family: whether vec4 loads are used where the shape allows. */
  vec4: boolean;
  /** Tiled family: the k slice staged per step. */
  bk: number;
  /** Workgroup size over column and row blocks. */
  wgx: number;
  wgy: number;
}

function rb(rm: number, rn: number, vec4: boolean, wgx = 8, wgy = 2): VariantInfo {
  return { name: `rb${rm}x${rn}${vec4 ? "v4" : ""}`, family: "register", rm, rn, vec4, bk: 0, wgx, wgy };
}
function tile(bm: number, bn: number, bk: number): VariantInfo {
  return { name: `tile${bm}x${bn}`, family: "tiled", rm: bm, rn: bn, vec4: false, bk, wgx: 16, wgy: 16 };
}

/** Every variant, by name. */
export const VARIANTS: ReadonlyMap<string, VariantInfo> = new Map(
  [
    { name: "naive", family: "reference", rm: 1, rn: 1, vec4: false, bk: 0, wgx: 8, wgy: 8 } as VariantInfo,
    rb(4, 4, true),
    rb(8, 8, false),
    rb(8, 8, true),
    rb(8, 16, true),
    rb(16, 16, true),
    tile(32, 32, 8),
    tile(64, 64, 4),
  ].map((v) => [v.name, v]),
);

/** Names of every variant, in registry order. */
export const VARIANT_NAMES: readonly string[] = [...VARIANTS.keys()];

/** The variant called `name`; a TypeError lists the valid names. */
export function variantInfo(name: string): VariantInfo {
  const v = VARIANTS.get(name);
  if (!v) throw new TypeError(`matmul: unknown variant '${name}'; valid: ${VARIANT_NAMES.join(", ")}`);
  return v;
}

const BUFFERS = { a: "read", b: "read", bias: "read", out: "rw" } as const;

/** Reference kernel: one output per invocation, the form chosen at run time, operands read from storage. */
const naive = kernel({
  name: "matmul_naive",
  buffers: BUFFERS,
  params: MATMUL_PARAMS,
  code: FINISH_WGSL + /* wgsl */ `
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let row = g.y; let col = g.x; let bt = g.z;
  if (row >= p.m || col >= p.n) { return; }
  let a0 = bt * p.strideA; let b0 = bt * p.strideB;
  var acc = 0.0;
  for (var i = 0u; i < p.k; i++) {
    var av: f32; var bv: f32;
    if (p.transA == 1u) { av = a[a0 + i * p.m + row]; } else { av = a[a0 + row * p.k + i]; }
    if (p.transB == 1u) { bv = b[b0 + col * p.k + i]; } else { bv = b[b0 + i * p.n + col]; }
    acc = fma(av, bv, acc);
  }
  let o = (bt * p.m + row) * p.n + col;
  out[o] = finish(acc, col, o);
}`,
});

const cache = new Map<string, Kernel>();

/** Vector load modes a register-block variant can use on this shape (vec4 needs the contiguous extent % 4 == 0). */
export function loadModes(v: VariantInfo, s: MatmulShape, transA: boolean, transB: boolean): [LoadMode, LoadMode] {
  if (!v.vec4) return ["s", "s"];
  const va: LoadMode = !transA ? (s.k % 4 === 0 ? "k4" : "s") : (s.m % 4 === 0 && v.rm % 4 === 0 ? "x4" : "s");
  const vb: LoadMode = transB ? (s.k % 4 === 0 ? "k4" : "s") : (s.n % 4 === 0 && v.rn % 4 === 0 ? "x4" : "s");
  return [va, vb];
}

/**
 * The kernel of variant `v` for this form and shape. Register blocks are compiled once per pair of load modes
 * (scalar loads serve every form through run-time strides); tiled kernels once per tile size.
 */
export function variantKernel(
  v: VariantInfo,
  s: MatmulShape,
  transA: boolean,
  transB: boolean,
  epilogue: Epilogue = "general",
): Kernel {
  if (v.family === "reference") return naive;
  const [va, vb]: [LoadMode, LoadMode] = v.family === "register" ? loadModes(v, s, transA, transB) : ["s", "s"];
  const epi = v.family === "register" ? epilogue : "general";
  const name = `matmul_${v.name}${va === "s" ? "" : "_a" + va}${vb === "s" ? "" : "_b" + vb}${epilogueTag(epi)}`;
  let k = cache.get(name);
  if (!k) {
    const body = v.family === "register"
      ? regBlockWgsl({ rm: v.rm, rn: v.rn, wgx: v.wgx, wgy: v.wgy, va, vb, epilogue: epi })
      : tiledWgsl({ bm: v.rm, bn: v.rn, bk: v.bk });
    const a = va === "s" ? "read" : "read:vec4<f32>", b = vb === "s" ? "read" : "read:vec4<f32>";
    k = kernel({ name, buffers: { a, b, bias: "read", out: "rw" }, params: MATMUL_PARAMS, code: FINISH_WGSL + body });
    cache.set(name, k);
  }
  return k;
}

/** Workgroup grid of variant `v` over a problem. */
export function variantGrid(v: VariantInfo, s: MatmulShape): [number, number, number] {
  if (v.family === "tiled") return [Math.ceil(s.n / v.rn), Math.ceil(s.m / v.rm), s.batch];
  return [Math.ceil(s.n / (v.rn * v.wgx)), Math.ceil(s.m / (v.rm * v.wgy)), s.batch];
}

/** Everything a dispatch needs besides the shape. */
export interface DispatchArgs {
  a: Tensor;
  b: Tensor;
  out: Tensor;
  bias: Tensor;
  params: Record<keyof typeof MATMUL_PARAMS, number>;
}

/** The epilogue register blocks specialise for these parameters (matmul_regblock.ts `Epilogue`). */
export function epilogueFor(p: DispatchArgs["params"]): Epilogue {
  const act = (["none", "relu", "gelu"] as const)[p.act];
  return { bias: p.hasBias === 1, act, accumulate: p.beta !== 0 };
}

/** Records one dispatch of variant `v`. */
export function dispatchVariant(enc: StepEncoder, v: VariantInfo, s: MatmulShape, d: DispatchArgs): void {
  const k = variantKernel(v, s, d.params.transA === 1, d.params.transB === 1, epilogueFor(d.params));
  enc.dispatch(k, { a: d.a, b: d.b, bias: d.bias, out: d.out }, d.params, variantGrid(v, s));
}
