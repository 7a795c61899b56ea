/**
 * Shared pieces of the RLHF loss and advantage kernels (GAE, whitening, KL reward, PPO, preference, ranking and
 * GRPO): a fixed-order workgroup sum, numerically stable log-sigmoid / softplus / k3 helpers in WGSL with their
 * float64 CPU twins, {@link LossKernel} (inputs may share a buffer with outputs), and the argument checks every
 * dispatcher runs.
 *
 * Reductions: the loss kernels run as ONE workgroup of {@link WG} invocations. Invocation `lid` accumulates elements
 * lid, lid + WG, lid + 2·WG, ... in that order, then the WG partial sums are combined by a fixed binary tree in
 * workgroup memory. The order never depends on timing, so every loss, gradient and stat is bitwise reproducible on a
 * given adapter (DESIGN.md, "Conventions": no float atomics). One workgroup is plenty at RLHF batch sizes (a
 * 512 x 256-token rollout is 131072 elements, 512 per invocation).
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { Kernel, type KernelDef } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

/** Invocations of the single-workgroup reduction kernels. */
export const WG = 256;

/**
 * WGSL: `wg_sum(v, lid)` returns the workgroup-wide sum of `v` (the same, uniform value to every invocation), in a
 * fixed tree order. Call it from uniform control flow only (it contains barriers).
 */
export const REDUCE_WGSL = /* wgsl */ `
const WG: u32 = ${WG}u;
var<workgroup> red: array<f32, ${WG}>;
fn wg_sum(v: f32, lid: u32) -> f32 {
  workgroupBarrier(); // every invocation has read the previous result out of red[0]
  red[lid] = v;
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
  }
  return workgroupUniformLoad(&red[0]);
}
`;

/**
 * WGSL math helpers. WGSL has no log1p/expm1, and the naive forms lose everything for the arguments that matter:
 * - `log1p_(x)`: Kahan's trick, log(u)·x/(u − 1) with u = 1 + x, exact to a few ulps for tiny x.
 * - `log_sigmoid(x) = min(x, 0) − log1p(exp(−|x|))` and `softplus(x) = max(x, 0) + log1p(exp(−|x|))`: never
 *   overflow, and −log σ(x) = softplus(−x) stays accurate for large |x| (the DPO/BT losses use these forms).
 * - `sigmoid(x)` through exp(−|x|), so it neither overflows nor returns 0/0.
 * - `expm1_minus_x(d) = e^d − 1 − d`, the k3 estimator (ratio − 1) − log ratio with log ratio = d (Schulman 2020):
 *   a Taylor series for |d| < 0.5, where e^d − 1 − d would cancel catastrophically (k3 ≈ d²/2), the direct form
 *   beyond (relative error of the direct form there is below 1e-5).
 */
export const MATH_WGSL = /* wgsl */ `
fn log1p_(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  return log(u) * x / (u - 1.0);
}
fn log_sigmoid(x: f32) -> f32 { return min(x, 0.0) - log1p_(exp(-abs(x))); }
fn softplus(x: f32) -> f32 { return max(x, 0.0) + log1p_(exp(-abs(x))); }
fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}
fn expm1_minus_x(d: f32) -> f32 {
  if (abs(d) < 0.5) {
    // d²/2! + d³/3! + ... + d⁹/9!; the next term is below 1.1e-8 of the value.
    let s = 1.0 / 2.0 + d * (1.0 / 6.0 + d * (1.0 / 24.0 + d * (1.0 / 120.0 + d * (1.0 / 720.0 +
      d * (1.0 / 5040.0 + d * (1.0 / 40320.0 + d * (1.0 / 362880.0)))))));
    return d * d * s;
  }
  return exp(d) - 1.0 - d;
}
`;

/**
 * A loss kernel: its inputs may live in the same GPU buffer as its outputs (say logp and dlogp carved out of one
 * activation arena; the runtime binds such inputs read-write), but overlapping ranges between an input and an
 * output, or between two outputs, are a RangeError naming both.
 */
export class LossKernel {
  readonly kernel: Kernel;
  constructor(readonly def: KernelDef) {
    this.kernel = new Kernel(def);
  }

  /**
   * Records a dispatch, like {@link StepEncoder.dispatch} (which binds an input read-write when it shares a buffer
   * with an output). Loss kernels are not written for in-place use, so overlapping ranges are an error here.
   */
  dispatch(
    enc: StepEncoder,
    tensors: Record<string, Tensor>,
    params: Record<string, number>,
    grid: number | readonly number[],
  ): void {
    const entries = Object.entries(this.def.buffers);
    const outs = entries.filter(([, d]) => d.startsWith("rw")).map(([n]) => n);
    const overlap = (a: Tensor, b: Tensor) =>
      a.buffer === b.buffer && a.offset < b.offset + b.byteLength && b.offset < a.offset + a.byteLength;
    for (const [i, o] of outs.entries()) {
      for (const o2 of outs.slice(i + 1)) {
        if (tensors[o] && tensors[o2] && overlap(tensors[o], tensors[o2])) {
          throw new RangeError(`${this.def.name}: outputs '${o}' and '${o2}' overlap in buffer '${tensors[o].label}'`);
        }
      }
    }
    for (const [name, decl] of entries) {
      const t = tensors[name];
      const clash = !decl.startsWith("rw") && t ? outs.find((o) => tensors[o] && overlap(t, tensors[o])) : undefined;
      if (clash) {
        throw new RangeError(
          `${this.def.name}: input '${name}' ('${t.label}') overlaps output '${clash}' ('${tensors[clash].label}')`,
        );
      }
    }
    enc.dispatch(this.kernel, tensors, params, grid);
  }
}

/** log σ(x) in float64, the stable form of {@link MATH_WGSL}. */
export function logSigmoid(x: number): number {
  return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
}

/** σ(x) in float64. */
export function sigmoid(x: number): number {
  const e = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** e^d − 1 − d in float64 (the k3 KL estimator with log ratio d). */
export function expm1MinusX(d: number): number {
  return Math.expm1(d) - d;
}

/** Throws a TypeError unless `t` holds f32 values. */
export function requireF32(op: string, name: string, t: Tensor): void {
  if (t.dtype !== "f32") throw new TypeError(`${op}: ${name} ('${t.label}') must be f32, got ${t.dtype}`);
}

/** Throws a RangeError unless `t` has exactly `shape`; `like` names where the expected shape comes from. */
export function requireShape(op: string, name: string, t: Tensor, shape: readonly number[], like = ""): void {
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!same) {
    throw new RangeError(`${op}: ${name} must have shape [${shape.join(", ")}]${like}, got [${t.shape.join(", ")}]`);
  }
}

/** The [B, T] of a per-token tensor, or a RangeError naming it. */
export function tokenShape(op: string, name: string, t: Tensor): [number, number] {
  requireF32(op, name, t);
  if (t.shape.length !== 2) {
    throw new RangeError(`${op}: ${name} must be a [B, T] per-token tensor, got shape [${t.shape.join(", ")}]`);
  }
  return [t.shape[0], t.shape[1]];
}

/** The P of a per-pair [P] tensor (sequence log-probs or scores of P pairs), or an error naming it. */
export function pairCount(op: string, name: string, t: Tensor): number {
  requireF32(op, name, t);
  if (t.shape.length !== 1 || t.shape[0] === 0) {
    throw new RangeError(`${op}: ${name} must be a non-empty [P] vector, got shape [${t.shape.join(", ")}]`);
  }
  return t.shape[0];
}

/** Checks that each named tensor is f32 with `shape`, naming the operand that disagrees. */
export function requireAll(op: string, shape: readonly number[], like: string, tensors: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(tensors)) {
    requireF32(op, name, t);
    requireShape(op, name, t, shape, like);
  }
}

/** A RangeError unless lo <= v <= hi (open ends where `open` says so); names the field and the value. */
export function requireRange(
  op: string,
  field: string,
  v: number,
  lo: number,
  hi: number,
  open: { lo?: boolean; hi?: boolean } = {},
): void {
  const okLo = open.lo ? v > lo : v >= lo;
  const okHi = open.hi ? v < hi : v <= hi;
  if (typeof v !== "number" || Number.isNaN(v) || !okLo || !okHi) {
    const l = open.lo ? "(" : "[", h = open.hi ? ")" : "]";
    throw new RangeError(`${op}: ${field} must be in ${l}${lo}, ${hi}${h}, got ${v}`);
  }
}

/** Throws a RangeError unless the stats tensor has exactly one slot per name. */
export function requireStats(op: string, stats: Tensor, names: readonly string[]): void {
  requireF32(op, "stats", stats);
  if (stats.size !== names.length) {
    throw new RangeError(
      `${op}: stats must hold ${names.length} values (${names.join(", ")}), got shape [${stats.shape.join(", ")}]`,
    );
  }
}

/** Checks a loss kernel's scalar output `loss` [1] and its `stats` (one slot per name). */
export function requireLossOutputs(
  op: string,
  outputs: { loss: Tensor; stats: Tensor },
  names: readonly string[],
): void {
  requireAll(op, [1], "", { loss: outputs.loss });
  requireStats(op, outputs.stats, names);
}

/** Names a stats vector read back from the GPU: `{ loss: 0.7, accuracy: 0.5, ... }`. */
export function namedStats(names: readonly string[], values: ArrayLike<number>): Record<string, number> {
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}
