/**
 * LayerNorm over the last dimension, forward and backward (as llm.c's layernorm_forward/backward).
 *
 *   mean = Σ x / C,  var = Σ (x − mean)² / C (two passes, so a large mean does not cancel the variance),
 *   rstd = 1 / sqrt(var + eps),  xhat = (x − mean)·rstd,  y = xhat·w + b
 *
 * The forward saves (mean, rstd) per row in `stats` [rows, 2], which is all the backward needs besides x.
 * The backward is one dispatch: invocations [0, rows) write dx of one row each (accumulating into `dx` when asked,
 * which is how a pre-LN block adds its branch gradient into the residual-stream gradient); the next invocations
 * each own one column (four in the vec4 build) of dw and db and sum over the rows in order (no float atomics).
 * Rows are B·T (hundreds to thousands), so one invocation per row keeps every lane busy. When C % 4 == 0 the
 * kernels read and write vec4s (row sums are then four interleaved partial sums, added at the end: a fixed order).
 *
 * @example
 * ```ts
 * layernormForward(enc, x, w, b, y, stats);                 // y [R, C], stats [R, 2]
 * layernormBackward(enc, x, w, stats, dy, dx, dw, db, true); // dx += ..., dw += ..., db += ...
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, Kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

/** The epsilon of GPT-2's LayerNorm. */
export const LN_EPS = 1e-5;
const WG = 64;

/** Element type of a build: vec4 when C % 4 == 0 (a vec4 load pays llvmpipe's per-lane load loop once for four). */
type Build = "f32" | "vec4";

/** WGSL: the horizontal sum of an accumulator (identity for scalars). */
function hsum(b: Build, v: string): string {
  return b === "vec4" ? `(${v}.x + ${v}.y + ${v}.z + ${v}.w)` : v;
}

/** Forward: one invocation per row, three passes over the row (sum, squared deviations, output). */
function forwardKernel(b: Build): Kernel {
  const T = b === "vec4" ? "vec4<f32>" : "f32", Z = b === "vec4" ? "vec4<f32>(0.0)" : "0.0";
  return new Kernel({
    name: `layernorm_forward_${b}`,
    buffers: { x: `read:${T}`, w: `read:${T}`, b: `read:${T}`, y: `rw:${T}`, stats: "rw" },
    params: { rows: "u32", c: "u32", n: "u32", eps: "f32" }, // n: elements of type T per row
    code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let r = flat_id(g, nw, ${WG}u);
  if (r >= p.rows) { return; }
  let base = r * p.n;
  var s = ${Z};
  for (var i = 0u; i < p.n; i++) { s += x[base + i]; }
  let mean = ${hsum(b, "s")} / f32(p.c);
  var v = ${Z};
  for (var i = 0u; i < p.n; i++) { let d = x[base + i] - mean; v += d * d; }
  let rstd = 1.0 / sqrt(${hsum(b, "v")} / f32(p.c) + p.eps);
  for (var i = 0u; i < p.n; i++) { y[base + i] = (x[base + i] - mean) * rstd * w[i] + b[i]; }
  stats[2u * r] = mean;
  stats[2u * r + 1u] = rstd;
}`,
  });
}

/**
 * Backward: invocations [0, rows) each write dx of one row; invocations [rows, rows + n) each own one element
 * (four columns in the vec4 build) of dw and db and sum over the rows in order.
 */
function backwardKernel(b: Build): Kernel {
  const T = b === "vec4" ? "vec4<f32>" : "f32", Z = b === "vec4" ? "vec4<f32>(0.0)" : "0.0";
  return new Kernel({
    name: `layernorm_backward_${b}`,
    buffers: {
      x: `read:${T}`,
      w: `read:${T}`,
      stats: "read",
      dy: `read:${T}`,
      dx: `rw:${T}`,
      dw: `rw:${T}`,
      db: `rw:${T}`,
    },
    params: { rows: "u32", c: "u32", n: "u32", accumulate: "u32" },
    code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let i = flat_id(g, nw, ${WG}u);
  if (i < p.rows) {
    let base = i * p.n;
    let mean = stats[2u * i];
    let rstd = stats[2u * i + 1u];
    var a = ${Z};
    var bs = ${Z};
    for (var j = 0u; j < p.n; j++) {
      let dn = dy[base + j] * w[j];
      a += dn;
      bs += dn * (x[base + j] - mean) * rstd;
    }
    let am = ${hsum(b, "a")} / f32(p.c);
    let bm = ${hsum(b, "bs")} / f32(p.c);
    for (var j = 0u; j < p.n; j++) {
      let xhat = (x[base + j] - mean) * rstd;
      var v = (dy[base + j] * w[j] - am - xhat * bm) * rstd;
      if (p.accumulate == 1u) { v += dx[base + j]; }
      dx[base + j] = v;
    }
    return;
  }
  let col = i - p.rows;
  if (col >= p.n) { return; }
  var gw = dw[col];
  var gb = db[col];
  for (var r = 0u; r < p.rows; r++) {
    let d = dy[r * p.n + col];
    gw += d * (x[r * p.n + col] - stats[2u * r]) * stats[2u * r + 1u];
    gb += d;
  }
  dw[col] = gw;
  db[col] = gb;
}`,
  });
}

const KERNELS = {
  forward: { f32: forwardKernel("f32"), vec4: forwardKernel("vec4") },
  backward: { f32: backwardKernel("f32"), vec4: backwardKernel("vec4") },
};

/** The build for rows of C values, and the elements of that build per row. */
function build(c: number): [Build, number] {
  return c % 4 === 0 ? ["vec4", c / 4] : ["f32", c];
}

function shape(fn: string, x: Tensor, w: Tensor, stats: Tensor, others: Record<string, Tensor>): [number, number] {
  const c = x.shape[x.shape.length - 1];
  const rows = c > 0 ? x.size / c : 0;
  if (w.size !== c) throw new RangeError(`${fn}: w has ${w.size} values but x ('${x.label}') is [${x.shape}]`);
  if (stats.size !== 2 * rows) throw new RangeError(`${fn}: stats must hold 2·${rows} values, got [${stats.shape}]`);
  for (const [name, t] of Object.entries(others)) {
    const want = name === "dw" || name === "db" || name === "b" ? c : x.size;
    if (t.size !== want) throw new RangeError(`${fn}: ${name} ('${t.label}') has ${t.size} values, expected ${want}`);
  }
  return [rows, c];
}

/** y = LayerNorm(x)·w + b over the last dimension of x [..., C]; stats [rows, 2] gets (mean, rstd) per row. */
export function layernormForward(
  enc: StepEncoder,
  x: Tensor,
  w: Tensor,
  b: Tensor,
  y: Tensor,
  stats: Tensor,
  eps = LN_EPS,
): void {
  const [rows, c] = shape("layernormForward", x, w, stats, { b, y });
  if (!(eps > 0)) throw new RangeError(`layernormForward: eps must be > 0, got ${eps}`);
  const [bd, n] = build(c);
  enc.dispatch(KERNELS.forward[bd], { x, w, b, y, stats }, { rows, c, n, eps }, grid1d(rows, WG));
}

/**
 * Backward of {@link layernormForward}: dx (+)= ∂/∂x (accumulating when `accumulate`), dw += Σ dy·xhat, db += Σ dy.
 * dw and db always accumulate (parameter gradients, DESIGN.md: callers zero them once per step).
 */
export function layernormBackward(
  enc: StepEncoder,
  x: Tensor,
  w: Tensor,
  stats: Tensor,
  dy: Tensor,
  dx: Tensor,
  dw: Tensor,
  db: Tensor,
  accumulate: boolean,
): void {
  const [rows, c] = shape("layernormBackward", x, w, stats, { dy, dx, dw, db });
  const [bd, n] = build(c);
  const params = { rows, c, n, accumulate: accumulate ? 1 : 0 };
  enc.dispatch(KERNELS.backward[bd], { x, w, stats, dy, dx, dw, db }, params, grid1d(rows + n, WG));
}

/** CPU reference of {@link layernormForward} in float64: returns y and stats. */
export function layernormForwardCpu(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  c: number,
  eps = LN_EPS,
): { y: Float64Array; stats: Float64Array } {
  const rows = x.length / c;
  const y = new Float64Array(x.length), stats = new Float64Array(2 * rows);
  for (let r = 0; r < rows; r++) {
    let s = 0, v = 0;
    for (let j = 0; j < c; j++) s += x[r * c + j];
    const mean = s / c;
    for (let j = 0; j < c; j++) v += (x[r * c + j] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / c + eps);
    for (let j = 0; j < c; j++) y[r * c + j] = (x[r * c + j] - mean) * rstd * w[j] + b[j];
    stats[2 * r] = mean;
    stats[2 * r + 1] = rstd;
  }
  return { y, stats };
}

/** CPU reference of {@link layernormBackward} in float64: returns the new dx, dw, db. */
export function layernormBackwardCpu(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  stats: ArrayLike<number>,
  dy: ArrayLike<number>,
  dxIn: ArrayLike<number> | null,
  dwIn: ArrayLike<number>,
  dbIn: ArrayLike<number>,
  c: number,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const rows = x.length / c;
  const dx = dxIn ? Float64Array.from(dxIn) : new Float64Array(x.length);
  const dw = Float64Array.from(dwIn), db = Float64Array.from(dbIn);
  for (let r = 0; r < rows; r++) {
    const mean = stats[2 * r], rstd = stats[2 * r + 1];
    let a = 0, bs = 0;
    for (let j = 0; j < c; j++) {
      const dn = dy[r * c + j] * w[j], xhat = (x[r * c + j] - mean) * rstd;
      a += dn;
      bs += dn * xhat;
      dw[j] += dy[r * c + j] * xhat;
      db[j] += dy[r * c + j];
    }
    a /= c;
    bs /= c;
    for (let j = 0; j < c; j++) {
      const xhat = (x[r * c + j] - mean) * rstd;
      dx[r * c + j] += (dy[r * c + j] * w[j] - a - xhat * bs) * rstd;
    }
  }
  return { dx, dw, db };
}
