/**
 * Row softmax and log-softmax over the last dimension, and their backward.
 *
 * Each op is a row statistic followed by one elementwise pass:
 * - softmax: y = exp((x − M) − log s), log-softmax: y = (x − M) − log s, with the row max M and
 *   s = Σ exp(x − M) from {@link rowLogSumExpParts} (a running max, so large logits neither overflow nor
 *   underflow; x − M is exact where x − lse would carry lse's rounding, about 3e-5 at |x| = 1000);
 * - softmax backward: dx = y ⊙ (dy − Σ dy ⊙ y);
 * - log-softmax backward: dx = dy − softmax(x) · Σ dy, with softmax(x) = exp(logp) taken from the forward output.
 * The row statistic goes to a per-device scratch row vector, so callers allocate nothing. The elementwise pass reads
 * an element and writes it in the same invocation, so every op works in place (out === x, dx === dy or dx === y).
 * Token log-probabilities for PPO and DPO (PAPER.md §8 items 2, 3 and 7) are log-softmax rows gathered at the taken
 * tokens.
 *
 * @example
 * ```ts
 * logSoftmax(enc, logits, logp);               // logp [B·T, V]
 * logSoftmaxBackward(enc, logp, dlogp, dlogits); // dlogits [B·T, V]
 * softmax(enc, scores, scores);                // attention probabilities [B·H·T, T], in place
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { elementwisePair, runElementwise } from "./elementwise.ts";
import { rowLogSumExpParts, rowsCols, rowSum, scratch } from "./reduce.ts";
import type { Tensor } from "./tensor.ts";

// The elementwise pass. Forward (r holds (M, log s) per row): op 0 exp((u − M) − log s), 1 (u − M) − log s.
// Backward (r holds one sum per row): op 2 u·(v − r) with u = y and v = dy, 3 v − exp(u)·r with u = logp, v = dy.
const applyK = elementwisePair(
  "softmax_apply",
  ["u", "v", "r"],
  "y",
  { n: "u32", cols: "u32", op: "u32" },
  () => /* wgsl */ `
  let row = (W * i) / p.cols; // the W values of a vec4 invocation share a row when C % 4 == 0
  let u = ld_u(i);
  var o: T;
  switch p.op {
    case 0u: { o = exp((u - ld_r(2u * row)) - ld_r(2u * row + 1u)); }
    case 1u: { o = (u - ld_r(2u * row)) - ld_r(2u * row + 1u); }
    case 2u: { o = u * (ld_v(i) - ld_r(row)); }
    default: { o = ld_v(i) - exp(u) * ld_r(row); }
  }
  y[i] = o;`,
  { vecTypes: { r: "f32" } },
);

function check(fn: string, names: [string, string], a: Tensor, b: Tensor): { rows: number; cols: number } {
  const rc = rowsCols(fn, a);
  if (b.size !== a.size) {
    throw new RangeError(
      `${fn}: ${names[1]} ('${b.label}' [${b.shape}]) must have ${names[0]}'s shape [${a.shape}]`,
    );
  }
  return rc;
}

function apply(enc: StepEncoder, op: number, u: Tensor, v: Tensor, r: Tensor, out: Tensor, cols: number): void {
  runElementwise(enc, applyK, out.size, { u, v, r, y: out }, { cols, op }, cols);
}

/** out = softmax(x) over the last dimension of x [..., C] (out may be x). */
export function softmax(enc: StepEncoder, x: Tensor, out: Tensor): void {
  const { rows, cols } = check("softmax", ["x", "out"], x, out);
  const parts = scratch(enc.gpu, "softmax", 2 * rows); // [rows, 2]: M, log s
  rowLogSumExpParts(enc, x, parts);
  apply(enc, 0, x, x, parts, out, cols);
}

/** out = log softmax(x) = x − log Σ exp(x) over the last dimension (out may be x). */
export function logSoftmax(enc: StepEncoder, x: Tensor, out: Tensor): void {
  const { rows, cols } = check("logSoftmax", ["x", "out"], x, out);
  const parts = scratch(enc.gpu, "softmax", 2 * rows); // [rows, 2]: M, log s
  rowLogSumExpParts(enc, x, parts);
  apply(enc, 1, x, x, parts, out, cols);
}

/** dx = y ⊙ (dy − Σ_c dy ⊙ y), the backward of {@link softmax} from its output y (dx may be dy or y). */
export function softmaxBackward(enc: StepEncoder, y: Tensor, dy: Tensor, dx: Tensor): void {
  const { rows, cols } = check("softmaxBackward", ["y", "dy"], y, dy);
  check("softmaxBackward", ["y", "dx"], y, dx);
  const dot = scratch(enc.gpu, "softmax", rows); // [rows]: Σ dy·y, with y as the weight (y = 0 terms skipped)
  rowSum(enc, dy.reshape(y.shape), dot, { mask: y });
  apply(enc, 2, y, dy, dot, dx, cols);
}

/** dx = dy − exp(logp) · Σ_c dy, the backward of {@link logSoftmax} from its output logp (dx may be dy or logp). */
export function logSoftmaxBackward(enc: StepEncoder, logp: Tensor, dy: Tensor, dx: Tensor): void {
  const { rows, cols } = check("logSoftmaxBackward", ["logp", "dy"], logp, dy);
  check("logSoftmaxBackward", ["logp", "dx"], logp, dx);
  const total = scratch(enc.gpu, "softmax", rows); // [rows]: Σ dy
  rowSum(enc, dy.reshape(logp.shape), total);
  apply(enc, 3, logp, dy, total, dx, cols);
}

// ---- CPU references (float64) ----

/** CPU reference of {@link logSoftmax} over rows of `cols`. */
export function logSoftmaxCpu(x: ArrayLike<number>, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length; r += cols) {
    let m = -Infinity, s = 0;
    for (let c = r; c < r + cols; c++) m = Math.max(m, x[c]);
    for (let c = r; c < r + cols; c++) s += Math.exp(x[c] - m);
    for (let c = r; c < r + cols; c++) out[c] = x[c] - m - Math.log(s);
  }
  return out;
}

/** CPU reference of {@link softmax}. */
export function softmaxCpu(x: ArrayLike<number>, cols: number): Float64Array {
  return logSoftmaxCpu(x, cols).map(Math.exp);
}

/** CPU reference of {@link softmaxBackward}. */
export function softmaxBackwardCpu(y: ArrayLike<number>, dy: ArrayLike<number>, cols: number): Float64Array {
  const dx = new Float64Array(y.length);
  for (let r = 0; r < y.length; r += cols) {
    let s = 0;
    for (let c = r; c < r + cols; c++) s += dy[c] * y[c];
    for (let c = r; c < r + cols; c++) dx[c] = y[c] * (dy[c] - s);
  }
  return dx;
}

/** CPU reference of {@link logSoftmaxBackward}. */
export function logSoftmaxBackwardCpu(logp: ArrayLike<number>, dy: ArrayLike<number>, cols: number): Float64Array {
  const dx = new Float64Array(logp.length);
  for (let r = 0; r < logp.length; r += cols) {
    let s = 0;
    for (let c = r; c < r + cols; c++) s += dy[c];
    for (let c = r; c < r + cols; c++) dx[c] = dy[c] - Math.exp(logp[c]) * s;
  }
  return dx;
}
