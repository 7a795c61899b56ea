/**
 * Reductions, all deterministic (a fixed order that depends only on the shape; no atomics):
 * - over the last dimension of x [rows, cols] (any leading dims are rows): {@link rowSum}, {@link rowMean},
 *   {@link rowMax}, {@link rowLogSumExp}, each with an optional mask of x's shape;
 * - over the rows: {@link colSum} (x [rows, cols] -> [cols], the bias gradient);
 * - over a whole tensor to one value: {@link sum}, {@link mean}, {@link sumSquares} (the global gradient norm),
 *   {@link maskedMean} (a token-level loss: Σ x·m / max(Σ m, 1)).
 *
 * How: a row is cut into S interleaved segments (segment s holds columns s, s+S, s+2S, ..., so neighbouring threads
 * read neighbouring addresses); one thread folds each segment in column order into a state (a running sum, or a
 * running max with its sum of exponentials for logsumexp), and the next pass folds a row's S states in order, until
 * one state per row is left. S is a power of two chosen from the shape alone, so the order of every addition is
 * fixed. There is no workgroup tree: on llvmpipe a workgroup barrier costs about 0.2-0.5 ms per workgroup (measured:
 * a tree reduction of [100000, 7] took 240-370 ms, the barrier-free passes 30 ms), and a fixed partition plus a few
 * small passes is just as deterministic.
 *
 * A mask is a weight (0/1 for token masks). Elements where it is 0 are skipped, never multiplied, so NaN or ±inf in
 * padding cannot leak into a result. A sequence log-probability (DPO, PAPER.md §8 item 2: the sum of token
 * log-probs over response tokens only) is `rowSum(enc, tokenLogp, seqLogp, { mask: responseMask })`.
 *
 * @example
 * ```ts
 * rowLogSumExp(enc, logits, lse);                 // lse [B·T] from logits [B·T, V]
 * rowSum(enc, tokenLogp, seqLogp, { mask });      // seqLogp [B] from [B, T]
 * colSum(enc, dy, dBias);                         // dBias [C] from dy [B, T, C]
 * sumSquares(enc, grads, sq);                     // sq [1] = Σ g²
 * maskedMean(enc, tokenLoss, mask, loss);         // loss [1]
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { OpKernel } from "./elementwise.ts";
import type { Gpu } from "./gpu.ts";
import { FLAT_ID_WGSL, grid1d } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

/**
 * Fewest elements a segment folds, and the thread count beyond which rows are not cut further. Measured on llvmpipe
 * (2 cores) over thread targets 4096-65536 and minimum segments 16-64: 16384 and 32 were best or near it on every
 * shape tried ([16384, 64], [4096, 512], [256, 4096], [100000, 7], [16, 50000], [1, 4e6]).
 */
const MIN_SEGMENT = 32, TARGET_THREADS = 16384;

/** Segments per row for a pass over [rows, cols]: 1 means the pass finishes the rows. */
export function segmentsPerRow(rows: number, cols: number): number {
  let s = 1;
  while (2 * s * MIN_SEGMENT <= cols && 2 * s * rows <= TARGET_THREADS) s *= 2;
  return s;
}

const scratchOf = new WeakMap<Gpu, Map<string, Tensor>>();

/**
 * A per-device scratch tensor of at least n values, one buffer per slot name (so two slots never share a buffer and
 * can be read and written in one dispatch). Ops that use a slot finish with it before they return.
 */
export function scratch(gpu: Gpu, slot: string, n: number): Tensor {
  let slots = scratchOf.get(gpu);
  if (!slots) scratchOf.set(gpu, slots = new Map());
  let t = slots.get(slot);
  if (!t || t.size < n) {
    // Dispatches already recorded keep the old buffer alive; it is dropped, not destroyed.
    t = gpu.tensor([Math.max(n, 2 * (t?.size ?? 0), 4096)], "f32", `scratch-${slot}`);
    slots.set(slot, t);
  }
  return t.view(0, [n]);
}

type ReduceOp = "sum" | "mean" | "sumsq" | "max" | "logsumexp" | "lseparts";
const OPS: readonly ReduceOp[] = ["sum", "mean", "sumsq", "max", "logsumexp", "lseparts"];

// One pass: thread (row, s) folds elements s, s+S, ... of its row. With stateIn the elements are the (a, b) states
// of the previous pass. States: sum/mean (Σ w·x, Σ w); sumsq (Σ x², -); max (max, -); logsumexp and its parts
// (M, Σ w·exp(x - M)), kept stable by rescaling when M grows. The last pass (last = 1, S = 1) writes the finished
// value of each row.
const reduceK = new OpKernel({
  name: "reduce_rows",
  inputs: ["x", "m"],
  output: "y",
  params: {
    rows: "u32",
    cols: "u32",
    segs: "u32",
    op: "u32",
    hasMask: "u32",
    stateIn: "u32",
    last: "u32",
    count: "f32",
    ninf: "f32",
  },
  code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let id = flat_id(g, nw, 64u);
  if (id >= p.rows * p.segs) { return; }
  let row = id / p.segs;
  let r0 = row * p.cols;
  let extremal = p.op >= 3u;
  var a = select(0.0, p.ninf, extremal);
  var b = 0.0;
  for (var c = id % p.segs; c < p.cols; c += p.segs) {
    var va: f32;
    var vb: f32;
    if (p.stateIn == 1u) {
      va = ld_x(2u * (r0 + c));
      vb = ld_x(2u * (r0 + c) + 1u);
    } else {
      let wt = select(1.0, ld_m(r0 + c), p.hasMask == 1u);
      if (wt == 0.0) { continue; }
      let v = ld_x(r0 + c);
      va = select(select(wt * v, v * v, p.op == 2u), v, extremal);
      vb = wt;
    }
    if (p.op == 3u) {
      a = max(a, va);
    } else if (p.op >= 4u) {
      if (va > a) {
        b = select(b * exp(a - va), 0.0, a == p.ninf) + vb;
        a = va;
      } else if (va != p.ninf) {
        b += vb * exp(va - a);
      }
    } else {
      a += va;
      b += vb;
    }
  }
  if (p.last == 0u) {
    y[2u * id] = a;
    y[2u * id + 1u] = b;
    return;
  }
  if (p.op == 5u) {
    y[2u * row] = a;
    y[2u * row + 1u] = log(b);
    return;
  }
  var v = a;
  if (p.op == 1u) { v = select(a / p.count, a / max(b, 1.0), p.hasMask == 1u); }
  if (p.op == 4u) { v = select(a + log(b), p.ninf, a == p.ninf); }
  y[row] = v;
}`,
});

/** Records the passes that reduce each row of x viewed as [rows, cols] into out [rows]. */
function reduceRows(
  enc: StepEncoder,
  op: ReduceOp,
  x: Tensor,
  mask: Tensor | undefined,
  out: Tensor,
  rows: number,
  cols: number,
): void {
  if (rows === 0) return;
  let src = x, n = cols, level = 0;
  for (;;) {
    const segs = segmentsPerRow(rows, n), final = segs === 1;
    const dst = final ? out : scratch(enc.gpu, `reduce${level % 2}`, 2 * rows * segs); // [rows, segs, 2]
    reduceK.dispatch(enc, { x: src, m: level === 0 && mask ? mask : enc.gpu.dummy(), y: dst }, {
      rows,
      cols: n,
      segs,
      op: OPS.indexOf(op),
      hasMask: mask ? 1 : 0,
      stateIn: level === 0 ? 0 : 1,
      last: final ? 1 : 0,
      count: cols,
      ninf: -Infinity,
    }, grid1d(rows * segs, 64));
    if (final) return;
    [src, n, level] = [dst, segs, level + 1];
  }
}

/** Rows and columns of x viewed as [rows, cols] over its last dimension; throws on an empty last dimension. */
export function rowsCols(fn: string, x: Tensor): { rows: number; cols: number } {
  const cols = x.shape.length > 0 ? x.shape[x.shape.length - 1] : 1;
  if (cols === 0) throw new RangeError(`${fn}: x ('${x.label}' [${x.shape}]) has an empty last dimension`);
  return { rows: x.size / cols, cols };
}

/** Options of the row reductions. */
export interface RowReduceOptions {
  /** Weights of x's shape (0/1 for a token mask). An element whose weight is 0 is skipped. */
  mask?: Tensor;
}

function rowReduce(enc: StepEncoder, op: ReduceOp, x: Tensor, out: Tensor, o: RowReduceOptions): void {
  const fn = `row ${op}`;
  const { rows, cols } = rowsCols(fn, x);
  if (out.size !== rows) {
    throw new RangeError(
      `${fn}: out ('${out.label}' [${out.shape}]) must hold ${rows} values, one per row of [${x.shape}]`,
    );
  }
  if (o.mask && o.mask.size !== x.size) {
    throw new RangeError(`${fn}: mask ('${o.mask.label}' [${o.mask.shape}]) must have x's shape [${x.shape}]`);
  }
  reduceRows(enc, op, x, o.mask, out, rows, cols);
}

/** out[r] = Σ_c x[r, c] (· mask[r, c]). out holds one value per row of x [..., C]. */
export function rowSum(enc: StepEncoder, x: Tensor, out: Tensor, o: RowReduceOptions = {}): void {
  rowReduce(enc, "sum", x, out, o);
}

/** out[r] = Σ_c x[r, c] / C, or with a mask Σ x·m / max(Σ m, 1) (0 for a fully masked row). */
export function rowMean(enc: StepEncoder, x: Tensor, out: Tensor, o: RowReduceOptions = {}): void {
  rowReduce(enc, "mean", x, out, o);
}

/** out[r] = max_c x[r, c] over elements whose mask is nonzero (-inf for a fully masked row). */
export function rowMax(enc: StepEncoder, x: Tensor, out: Tensor, o: RowReduceOptions = {}): void {
  rowReduce(enc, "max", x, out, o);
}

/**
 * out[r] = log Σ_c m[r, c] · exp(x[r, c]), kept as a running max M and Σ m·exp(x − M) (rescaled when M grows), so
 * it neither overflows nor underflows. -inf for a fully masked row.
 */
export function rowLogSumExp(enc: StepEncoder, x: Tensor, out: Tensor, o: RowReduceOptions = {}): void {
  rowReduce(enc, "logsumexp", x, out, o);
}

/**
 * out[r] = (M, log Σ_c exp(x[r, c] − M)) with M the row's max: logsumexp in two parts, for softmax, whose
 * exp((x − M) − log s) keeps full precision where exp(x − lse) would lose it to the rounding of a large lse.
 * out holds [rows, 2].
 */
export function rowLogSumExpParts(enc: StepEncoder, x: Tensor, out: Tensor): void {
  const { rows, cols } = rowsCols("rowLogSumExpParts", x);
  if (out.size !== 2 * rows) {
    throw new RangeError(`rowLogSumExpParts: out ('${out.label}' [${out.shape}]) must hold [${rows}, 2] values`);
  }
  reduceRows(enc, "lseparts", x, undefined, out, rows, cols);
}

function total(enc: StepEncoder, fn: string, op: ReduceOp, x: Tensor, mask: Tensor | undefined, out: Tensor): void {
  if (out.size !== 1) throw new RangeError(`${fn}: out ('${out.label}' [${out.shape}]) must hold 1 value`);
  if (mask && mask.size !== x.size) {
    throw new RangeError(`${fn}: mask ('${mask.label}' [${mask.shape}]) must have x's shape [${x.shape}]`);
  }
  reduceRows(enc, op, x, mask, out, 1, x.size);
}

/** out[0] = Σ x over the whole tensor. */
export function sum(enc: StepEncoder, x: Tensor, out: Tensor): void {
  total(enc, "sum", "sum", x, undefined, out);
}

/** out[0] = Σ x / x.size. */
export function mean(enc: StepEncoder, x: Tensor, out: Tensor): void {
  total(enc, "mean", "mean", x, undefined, out);
}

/** out[0] = Σ x² (the squared global gradient norm when x holds every gradient). */
export function sumSquares(enc: StepEncoder, x: Tensor, out: Tensor): void {
  total(enc, "sumSquares", "sumsq", x, undefined, out);
}

/** out[0] = Σ x·m / max(Σ m, 1): a mean over the tokens a mask selects (0 when it selects none). */
export function maskedMean(enc: StepEncoder, x: Tensor, mask: Tensor, out: Tensor): void {
  total(enc, "maskedMean", "mean", x, mask, out);
}

// ---- Column sums: two passes over a fixed partition of the rows into chunks ----

// y[chunk g, col] (+)= Σ of x[r, col] over the chunk's rows, in row order; 64 columns per workgroup.
const colSumK = new OpKernel({
  name: "col_sum",
  inputs: ["x"],
  output: "y",
  params: { rows: "u32", cols: "u32", chunk: "u32", accumulate: "u32" },
  code: /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) l: vec3u, @builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let col = (w.x + w.z * nw.x) * 64u + l.x;
  if (col >= p.cols) { return; }
  let r0 = w.y * p.chunk;
  let r1 = min(p.rows, r0 + p.chunk);
  var acc = 0.0;
  for (var r = r0; r < r1; r++) { acc += ld_x(r * p.cols + col); }
  let o = w.y * p.cols + col;
  if (p.accumulate == 1u) { acc += y[o]; }
  y[o] = acc;
}`,
});

function colSumPass(enc: StepEncoder, x: Tensor, y: Tensor, rows: number, cols: number, chunk: number, acc: boolean) {
  const groups = Math.ceil(cols / 64), z = Math.ceil(groups / 65535);
  colSumK.dispatch(enc, { x, y }, { rows, cols, chunk, accumulate: acc ? 1 : 0 }, [
    Math.ceil(groups / z),
    Math.ceil(rows / chunk),
    z,
  ]);
}

/**
 * out[c] = Σ_r x[r, c] over every leading dimension of x [..., C] (the bias gradient), or out += that with
 * `accumulate`. Rows are cut into at most 256 chunks of at least 32 rows, summed in row order per chunk, and the
 * chunk partials are then summed in chunk order.
 */
export function colSum(enc: StepEncoder, x: Tensor, out: Tensor, o: { accumulate?: boolean } = {}): void {
  const { rows, cols } = rowsCols("colSum", x);
  if (out.size !== cols) {
    throw new RangeError(`colSum: out ('${out.label}' [${out.shape}]) must hold ${cols} values for x [${x.shape}]`);
  }
  let chunk = Math.max(32, Math.ceil(rows / 256));
  chunk = Math.max(chunk, Math.ceil(rows / Math.max(1, Math.floor((1 << 22) / cols)))); // partials <= 16 MiB
  const chunks = Math.ceil(rows / chunk);
  if (chunks <= 1) return colSumPass(enc, x, out, rows, cols, Math.max(rows, 1), o.accumulate ?? false);
  const part = scratch(enc.gpu, "reduce0", chunks * cols); // [chunks, cols]
  colSumPass(enc, x, part, rows, cols, chunk, false);
  colSumPass(enc, part, out, chunks, cols, chunks, o.accumulate ?? false);
}

// ---- CPU references (float64 accumulation) ----

/** CPU reference of the row reductions: one value per row of x viewed as [rows, cols]. */
export function rowReduceCpu(
  op: "sum" | "mean" | "max" | "logsumexp",
  x: ArrayLike<number>,
  cols: number,
  mask?: ArrayLike<number>,
): Float32Array {
  const rows = x.length / cols, out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity, s = 0, den = 0;
    for (let c = r * cols; c < (r + 1) * cols; c++) if (!mask || mask[c] !== 0) mx = Math.max(mx, x[c]);
    for (let c = r * cols; c < (r + 1) * cols; c++) {
      const wt = mask ? mask[c] : 1;
      if (wt === 0) continue;
      s += wt * (op === "logsumexp" ? Math.exp(x[c] - mx) : x[c]);
      den += wt;
    }
    out[r] = op === "sum"
      ? s
      : op === "mean"
      ? s / (mask ? Math.max(den, 1) : cols)
      : op === "max"
      ? mx
      : mx === -Infinity
      ? -Infinity
      : mx + Math.log(s);
  }
  return out;
}

/** CPU reference of {@link colSum}: Σ over rows of x viewed as [rows, cols], plus `init` when accumulating. */
export function colSumCpu(x: ArrayLike<number>, cols: number, init?: ArrayLike<number>): Float32Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < x.length; i++) out[i % cols] += x[i];
  return Float32Array.from(out, (v, c) => v + (init ? init[c] : 0));
}

/** CPU reference of {@link sum} (and of {@link sumSquares} with `squares`). */
export function sumCpu(x: ArrayLike<number>, squares = false): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += squares ? x[i] * x[i] : x[i];
  return s;
}

/** CPU reference of {@link maskedMean}. */
export function maskedMeanCpu(x: ArrayLike<number>, mask: ArrayLike<number>): number {
  let s = 0, den = 0;
  for (let i = 0; i < x.length; i++) if (mask[i] !== 0) [s, den] = [s + x[i] * mask[i], den + mask[i]];
  return s / Math.max(den, 1);
}
