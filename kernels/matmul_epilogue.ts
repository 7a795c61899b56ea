/**
 * The part of a matmul that follows the k loop, shared word for word by every variant: scale, bias, activation and
 * the beta-weighted previous output, `out = act(alpha·acc + bias) + beta·out`.
 *
 * Every step is an explicit `fma` or a plain operation with no multiply to contract into it, so that no compiler is
 * free to fuse (or not fuse) a multiply-add differently in one variant than in another: that freedom would break
 * the bitwise agreement between variants that the autotune relies on.
 * @module
 */

/** Activations a matmul can fuse into its output. */
export type Activation = "none" | "relu" | "gelu";

/** The `act` code the kernels read. */
export const ACT_CODE: Record<Activation, number> = { none: 0, relu: 1, gelu: 2 };

/**
 * WGSL of the activations: `gelu(x)` (the tanh approximation, as GPT-2) and `activate(x, act)` with the codes of
 * {@link ACT_CODE}. The cubic term is an explicit fma, so the result does not depend on contraction.
 */
export const ACTIVATION_WGSL = /* wgsl */ `
fn gelu(x: f32) -> f32 {
  let x3 = (x * x) * x;
  let u = 0.7978845608028654 * fma(0.044715, x3, x);
  let t = tanh(clamp(u, -15.0, 15.0));
  return (0.5 * x) * (1.0 + t);
}
fn activate(x: f32, act: u32) -> f32 {
  if (act == 1u) { return max(x, 0.0); }
  if (act == 2u) { return gelu(x); }
  return x;
}
`;

/** GELU (tanh approximation), CPU twin of the WGSL `gelu`. */
export function geluCpu(x: number): number {
  const u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1 + Math.tanh(Math.max(-15, Math.min(15, u))));
}

/**
 * Uniform parameters of every matmul kernel. Strides are in elements between batch items (0 broadcasts a 2-D
 * operand); the output is always dense [batch, m, n].
 */
export const MATMUL_PARAMS = {
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
} as const;

/**
 * WGSL `finish(acc, col, o)`: the epilogue of output element `o` (column `col`). Needs the buffers `bias` and `out`
 * and the params above.
 */
export const FINISH_WGSL = ACTIVATION_WGSL + /* wgsl */ `
fn finish(acc: f32, col: u32, o: u32) -> f32 {
  var bv = 0.0;
  if (p.hasBias == 1u) { bv = bias[col]; }
  var v = activate(fma(p.alpha, acc, bv), p.act);
  if (p.beta != 0.0) { v = fma(p.beta, out[o], v); }
  return v;
}
`;
