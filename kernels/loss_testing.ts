/**
 * Test helpers for the loss kernels: central finite differences in float64, random 0/1 response masks in the
 * shared [B, T] layout (prompt, response run, padding), and float64 → f32 rounding of CPU data.
 * @module
 */
import { Rng } from "./rng.ts";

/**
 * Central-difference gradient of `f` at `x` (float64), for the coordinates in `only` (all by default).
 * Coordinates not in `only` are left 0.
 */
export function fdGrad(
  f: (x: Float64Array) => number,
  x: ArrayLike<number>,
  h = 1e-6,
  only?: (i: number) => boolean,
): Float64Array {
  const xs = Float64Array.from(x);
  const g = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    if (only && !only(i)) continue;
    const x0 = xs[i];
    xs[i] = x0 + h;
    const fp = f(xs);
    xs[i] = x0 - h;
    const fm = f(xs);
    xs[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/**
 * A [B, T] mask in the shared convention: row b has a prompt of random length, then a contiguous response run of
 * random length (possibly 0 when `allowEmpty`), then padding. Returns the mask and each row's last masked index
 * (−1 if none).
 */
export function responseMask(seed: number, B: number, T: number, allowEmpty = false): {
  mask: Float32Array;
  last: Int32Array;
} {
  const rng = new Rng(seed);
  const mask = new Float32Array(B * T), last = new Int32Array(B).fill(-1);
  for (let b = 0; b < B; b++) {
    const start = Math.floor(rng.uniform() * Math.max(1, T / 2));
    const maxLen = T - start;
    let len = Math.floor(rng.uniform() * (maxLen + 1));
    if (!allowEmpty && len === 0) len = Math.min(1, maxLen);
    for (let t = start; t < start + len; t++) mask[b * T + t] = 1;
    if (len > 0) last[b] = start + len - 1;
  }
  return { mask, last };
}

/** Values rounded to f32, as the GPU holds them. */
export function f32(a: ArrayLike<number>): Float32Array {
  return Float32Array.from(a);
}

/** A [n] 0/1 vector with roughly `p` ones. */
export function bernoulli(seed: number, n: number, p = 0.5): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => (rng.uniform() < p ? 1 : 0));
}
