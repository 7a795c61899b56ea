/**
 * Matrix multiplication in the three forms forward and backward need, batched, with optional bias and a fused
 * activation:
 *
 *   out[b] = act(alpha · op(A[b]) · op(B[b]) + bias) + beta · out[b]
 *
 * where op(A) is A ([M, K]) or Aᵀ (A stored [K, M]), op(B) is B ([K, N]) or Bᵀ (B stored [N, K]). A 2-D operand
 * is broadcast over the batch (stride 0), which is how a weight matrix multiplies a batch of activations.
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
import { kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

/** Activations a matmul can fuse into its output. */
export type Activation = "none" | "relu" | "gelu";

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
}

/** Resolved problem shape. */
export interface MatmulShape {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** Element strides between batch items (0 = broadcast). */
  strideA: number;
  strideB: number;
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
  for (const [bt, name] of [[ba, "A"], [bb, "B"], [bo, "out"]] as const) {
    if (bt !== 0 && bt !== batch) throw new RangeError(`matmul: batch of ${name} does not agree: ${desc}`);
  }
  if (bo === 0 && batch > 1) throw new RangeError(`matmul: out must be 3-D for a batched product: ${desc}`);
  if (o.bias && o.bias.size !== n) throw new RangeError(`matmul: bias has ${o.bias.size} values, N is ${n}`);
  return { batch, m, n, k: ak, strideA: ba === 0 ? 0 : am * ak, strideB: bb === 0 ? 0 : bk * bn };
}

const ACT_CODE: Record<Activation, number> = { none: 0, relu: 1, gelu: 2 };

/** WGSL of the activations (tanh-approximation GELU, as GPT-2). */
export const ACTIVATION_WGSL = /* wgsl */ `
fn gelu(x: f32) -> f32 {
  let u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + tanh(clamp(u, -15.0, 15.0)));
}
fn activate(x: f32, act: u32) -> f32 {
  if (act == 1u) { return max(x, 0.0); }
  if (act == 2u) { return gelu(x); }
  return x;
}
`;

/** Reference kernel: one output per invocation, operands read straight from storage. */
const naive = kernel({
  name: "matmul_naive",
  buffers: { a: "read", b: "read", bias: "read", out: "rw" },
  params: {
    m: "u32",
    n: "u32",
    k: "u32",
    strideA: "u32",
    strideB: "u32",
    transA: "u32",
    transB: "u32",
    hasBias: "u32",
    act: "u32",
    alpha: "f32",
    beta: "f32",
  },
  code: ACTIVATION_WGSL + /* wgsl */ `
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let row = g.y; let col = g.x; let bt = g.z;
  if (row >= p.m || col >= p.n) { return; }
  let a0 = bt * p.strideA; let b0 = bt * p.strideB;
  var acc = 0.0;
  for (var i = 0u; i < p.k; i++) {
    let av = select(a[a0 + row * p.k + i], a[a0 + i * p.m + row], p.transA == 1u);
    let bv = select(b[b0 + i * p.n + col], b[b0 + col * p.k + i], p.transB == 1u);
    acc = fma(av, bv, acc);
  }
  var v = p.alpha * acc;
  if (p.hasBias == 1u) { v += bias[col]; }
  v = activate(v, p.act);
  let o = (bt * p.m + row) * p.n + col;
  if (p.beta != 0.0) { v += p.beta * out[o]; }
  out[o] = v;
}`,
});

/** Records out = act(alpha·op(A)·op(B) + bias) + beta·out into `enc`. */
export function matmul(enc: StepEncoder, a: Tensor, b: Tensor, out: Tensor, o: MatmulOptions = {}): void {
  const s = matmulShape(a, b, out, o);
  enc.dispatch(naive, { a, b, bias: o.bias ?? enc.gpu.dummy(), out }, {
    m: s.m,
    n: s.n,
    k: s.k,
    strideA: s.strideA,
    strideB: s.strideB,
    transA: o.transA ? 1 : 0,
    transB: o.transB ? 1 : 0,
    hasBias: o.bias ? 1 : 0,
    act: ACT_CODE[o.activation ?? "none"],
    alpha: o.alpha ?? 1,
    beta: o.beta ?? 0,
  }, [Math.ceil(s.n / 8), Math.ceil(s.m / 8), s.batch]);
}

/** GELU (tanh approximation), CPU twin of the WGSL. */
export function geluCpu(x: number): number {
  const u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1 + Math.tanh(Math.max(-15, Math.min(15, u))));
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
