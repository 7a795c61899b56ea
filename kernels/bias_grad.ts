/**
 * Bias gradients: db [N] += Σ_rows dy [R, N], the column sums of a matrix, without float atomics.
 *
 * A 16 x 16 workgroup owns 16 columns; invocation (x, y) sums rows y, y + 16, y + 32, ... of column x (ascending),
 * then invocation (x, 0) adds the 16 partial sums to db in the order y = 0..15. The order never depends on timing,
 * so the result is bitwise reproducible, and the 16 row phases keep enough invocations busy when the bias is short
 * (C = 64 columns) and the rows many (B·T).
 *
 * (Written for the GPT layers; kernels/reduce.ts, planned by another engineer, may offer the same column sum.)
 *
 * @example
 * ```ts
 * biasGrad(enc, dy, grads.view(off, [n])); // dbias [N] += column sums of dy [B·T, N]
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

const TILE = 16;

const colSumK = kernel({
  name: "bias_grad",
  buffers: { dy: "read", db: "rw" },
  params: { rows: "u32", cols: "u32" },
  code: /* wgsl */ `
var<workgroup> part: array<f32, ${TILE * TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let col = wid.x * ${TILE}u + lid.x;
  var acc = 0.0;
  if (col < p.cols) {
    for (var r = lid.y; r < p.rows; r += ${TILE}u) { acc += dy[r * p.cols + col]; }
  }
  part[lid.y * ${TILE}u + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && col < p.cols) {
    var s = db[col];
    for (var k = 0u; k < ${TILE}u; k++) { s += part[k * ${TILE}u + lid.x]; }
    db[col] = s;
  }
}`,
});

/** db [N] += Σ over the rows of dy [..., N] (the gradient of a bias added to every row). */
export function biasGrad(enc: StepEncoder, dy: Tensor, db: Tensor): void {
  const cols = db.size;
  const last = dy.shape[dy.shape.length - 1];
  if (last !== cols) {
    throw new RangeError(`biasGrad: dy ('${dy.label}') is [${dy.shape}] but db ('${db.label}') has ${cols} values`);
  }
  const rows = cols > 0 ? dy.size / cols : 0;
  const groups = Math.ceil(cols / TILE);
  if (groups > 65535) throw new RangeError(`biasGrad: ${cols} columns is more than ${65535 * TILE}`);
  enc.dispatch(colSumK, { dy, db }, { rows, cols }, [groups, 1, 1]);
}

/** CPU reference of {@link biasGrad} in float64: returns db + column sums of dy. */
export function biasGradCpu(dy: ArrayLike<number>, db: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(db), n = db.length;
  for (let i = 0; i < dy.length; i++) out[i % n] += dy[i];
  return out;
}
