/**
 * The plain-TypeScript peer of the matmul benchmark: what a reasonable CPU loop in the same runtime achieves, one
 * thread, no SIMD (V8 does not vectorise it).
 *
 * A transposed operand is first copied into the plain layout (counted in the time, as a library would), then the
 * product runs row by row in i-k-j order over blocks of k and j (the innermost loop streams a row of B and a row of
 * the output, contiguous in memory; a 64 x 256 block of B stays in the L1/L2 cache while rows of A pass over it).
 * @module
 */

import type { TuneShape } from "../../kernels/autotune.ts";

/** A matmul problem (batch 1 and no transpose by default): the shapes the GPU side tunes and times. */
export type PeerProblem = TuneShape;

const KB = 64, NB = 256;

/** `src` [rows, cols] transposed into a new [cols, rows] array. */
function transpose(src: Float32Array, rows: number, cols: number, off: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = src[off + r * cols + c];
  return t;
}

/**
 * out[b] = op(A[b]) · op(B[b]) for every batch item; `a`, `b`, `out` are dense, batch-major (a 2-D B is broadcast
 * when `b` holds one matrix).
 */
export function matmulTs(a: Float32Array, b: Float32Array, out: Float32Array, p: PeerProblem): void {
  const { m, n, k } = p, batch = p.batch ?? 1;
  const bBatched = b.length >= batch * k * n && batch > 1;
  for (let bt = 0; bt < batch; bt++) {
    const A = p.transA ? transpose(a, k, m, bt * m * k) : a.subarray(bt * m * k, (bt + 1) * m * k); // [m, k]
    const bo = bBatched ? bt * k * n : 0;
    const B = p.transB ? transpose(b, n, k, bo) : b.subarray(bo, bo + k * n); // [k, n]
    const O = out.subarray(bt * m * n, (bt + 1) * m * n); // [m, n]
    O.fill(0);
    for (let j0 = 0; j0 < n; j0 += NB) {
      const j1 = Math.min(n, j0 + NB);
      for (let k0 = 0; k0 < k; k0 += KB) {
        const k1 = Math.min(k, k0 + KB);
        for (let i = 0; i < m; i++) {
          const oi = i * n;
          for (let kk = k0; kk < k1; kk++) {
            const av = A[i * k + kk], bk = kk * n;
            for (let j = j0; j < j1; j++) O[oi + j] += av * B[bk + j];
          }
        }
      }
    }
  }
}
