/**
 * WGSL generator of the shared-memory tiled matmul family, the classic GPU kernel: a 16 x 16 workgroup computes a
 * BM x BN output tile; for each BK-wide slice of k it stages op(A) [BM, BK] and op(B) [BK, BN] in workgroup memory
 * (each global value read once per tile instead of once per output), then every invocation accumulates a TM x TN
 * block of registers from the staged slices.
 *
 * Why this family exists: on real GPUs global memory is far slower than workgroup memory and registers, so reuse
 * through staged tiles is what makes a matmul fast. On llvmpipe it is slow (see matmul_regblock.ts).
 *
 * Layout choices: the form (transA, transB) is read at run time, so one kernel serves all forms; the staging loads
 * are ordered so that consecutive invocations read consecutive addresses of the stored operand (coalesced for the
 * plain and the transposed layout alike); staged slices are stored [kk][row] and [kk][col]; invocation (x, y) owns
 * rows y + 16·i and columns x + 16·j, so neighbouring invocations read neighbouring words of `bs` (no bank
 * conflicts) and the same word of `as_` (a broadcast).
 *
 * Tile sizes are kept small (BM·BK and BN·BK of 256) because WebGPU zero-initialises workgroup memory, and wgpu's
 * GL path writes that initialisation out element by element: llvmpipe's compile time grows steeply with it (about
 * 1 s for 256 floats, 9 s for 1024, 50 s for 2048, measured here).
 *
 * Determinism: out-of-range elements are staged as 0 but never accumulated: the inner loop runs to the true end of
 * k (`kLen`), so each output takes exactly one `fma` per k, k ascending, like every other variant.
 * @module
 */

/** What a tiled kernel is specialised for. */
export interface TiledSpec {
  /** Output tile rows and columns per workgroup (multiples of 16). */
  bm: number;
  bn: number;
  /** k slice staged per step. */
  bk: number;
}

/** Invocations per workgroup side. */
export const TILE_WG = 16;

/** The WGSL body (after the generated bindings) of a tiled kernel; same contract as the register block's. */
export function tiledWgsl({ bm, bn, bk }: TiledSpec): string {
  const wg = TILE_WG;
  if (bm % wg || bn % wg || bk < 1) {
    throw new RangeError(`Tiled matmul: tile ${bm}x${bn}x${bk} does not fit ${wg}x${wg}`);
  }
  const tm = bm / wg, tn = bn / wg;
  return /* wgsl */ `
var<workgroup> as_: array<f32, ${bm * bk}>;
var<workgroup> bs: array<f32, ${bn * bk}>;
@compute @workgroup_size(${wg}, ${wg}, 1)
fn main(@builtin(local_invocation_id) l: vec3u, @builtin(workgroup_id) w: vec3u) {
  let rowT = w.y * ${bm}u;
  let colT = w.x * ${bn}u;
  let t = l.y * ${wg}u + l.x;
  let aBase = w.z * p.strideA;
  let bBase = w.z * p.strideB;
  let oBase = w.z * p.m * p.n;
  // op(A)[r, k] = a[aBase + r·sAr + k·sAk] and op(B)[k, c] = b[bBase + k·sBk + c·sBc].
  let tA = p.transA == 1u;
  let tB = p.transB == 1u;
  let sAr = select(p.k, 1u, tA);
  let sAk = select(1u, p.m, tA);
  let sBk = select(p.n, 1u, tB);
  let sBc = select(1u, p.k, tB);
  var acc: array<f32, ${tm * tn}>;
  for (var k0 = 0u; k0 < p.k; k0 += ${bk}u) {
    // Stage op(A)[rowT.., k0..] into as_[kk][r]: the stored operand's contiguous index varies fastest with e.
    for (var e = t; e < ${bm * bk}u; e += ${wg * wg}u) {
      let r = select(e / ${bk}u, e % ${bm}u, tA);
      let kk = select(e % ${bk}u, e / ${bm}u, tA);
      let gr = rowT + r;
      let gk = k0 + kk;
      var v = 0.0;
      if (gr < p.m && gk < p.k) { v = a[aBase + gr * sAr + gk * sAk]; }
      as_[kk * ${bm}u + r] = v;
    }
    for (var e = t; e < ${bn * bk}u; e += ${wg * wg}u) {
      let c = select(e % ${bn}u, e / ${bk}u, tB);
      let kk = select(e / ${bn}u, e % ${bk}u, tB);
      let gc = colT + c;
      let gk = k0 + kk;
      var v = 0.0;
      if (gc < p.n && gk < p.k) { v = b[bBase + gk * sBk + gc * sBc]; }
      bs[kk * ${bn}u + c] = v;
    }
    workgroupBarrier();
    let kLen = min(${bk}u, p.k - k0);
    for (var kk = 0u; kk < kLen; kk++) {
      var av: array<f32, ${tm}>;
      var bv: array<f32, ${tn}>;
      for (var i = 0u; i < ${tm}u; i++) { av[i] = as_[kk * ${bm}u + l.y + i * ${wg}u]; }
      for (var j = 0u; j < ${tn}u; j++) { bv[j] = bs[kk * ${bn}u + l.x + j * ${wg}u]; }
      for (var i = 0u; i < ${tm}u; i++) {
        for (var j = 0u; j < ${tn}u; j++) { acc[i * ${tn}u + j] = fma(av[i], bv[j], acc[i * ${tn}u + j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${tm}u; i++) {
    let row = rowT + l.y + i * ${wg}u;
    for (var j = 0u; j < ${tn}u; j++) {
      let col = colT + l.x + j * ${wg}u;
      if (row < p.m && col < p.n) {
        let o = oBase + row * p.n + col;
        out[o] = finish(acc[i * ${tn}u + j], col, o);
      }
    }
  }
}`;
}
