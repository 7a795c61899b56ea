/**
 * One seeded, splittable, counter-based RNG shared by the CPU and the GPU.
 *
 * A stream is a 64-bit key (two u32 words); its n-th value is a pure function of (key, n), so the GPU can draw
 * value n of a stream without any state, and the CPU reference draws the identical value. Streams are derived by
 * name (`rng.split("init")`), so adding a new consumer never shifts the numbers an existing one sees.
 *
 * The mixing function is `lowbias32` from Chris Wellons' hash-prospector (a bijection on u32 with low bias);
 * value(key, n) = lowbias32(lowbias32(n ^ k0) ^ k1), again a bijection in n for a fixed key.
 *
 * @example
 * ```ts
 * const rng = new Rng(1234);
 * const init = rng.split("init");
 * const w = Float32Array.from({ length: 4 }, () => init.normal() * 0.02);
 * ```
 * @module
 */

/** lowbias32: a 32-bit integer hash (bijective). */
export function hash32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The n-th u32 of the stream keyed by (k0, k1). Mirrors `rng_u32` in {@link RNG_WGSL}. */
export function streamU32(k0: number, k1: number, n: number): number {
  return hash32(hash32((n ^ k0) >>> 0) ^ k1);
}

/** Maps a u32 to a float in [0, 1) with 24 random bits (exactly representable in f32). */
export function u32ToUnit(u: number): number {
  return (u >>> 8) / 16777216;
}

/** FNV-1a over the UTF-16 code units of a string, for naming streams. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A stream of random numbers: a key and a counter. */
export class Rng {
  /** First key word. */
  readonly k0: number;
  /** Second key word. */
  readonly k1: number;
  /** Index of the next value this stream hands out. */
  counter = 0;

  /** A root stream from a seed (any integer), or an explicit key. */
  constructor(seed: number | readonly [number, number]) {
    if (typeof seed === "number") {
      if (!Number.isInteger(seed)) throw new TypeError(`Seed must be an integer, got ${seed}`);
      this.k0 = hash32((seed >>> 0) ^ 0x9e3779b9);
      this.k1 = hash32(Math.floor(seed / 4294967296) ^ 0x85ebca6b ^ this.k0);
    } else {
      this.k0 = seed[0] >>> 0;
      this.k1 = seed[1] >>> 0;
    }
  }

  /** An independent child stream named `name` (a string or an index). Does not advance this stream. */
  split(name: string | number): Rng {
    const h = typeof name === "number" ? hash32(name ^ 0x27d4eb2f) : hashString(name);
    return new Rng([hash32(this.k0 ^ h), hash32(this.k1 ^ hash32(h ^ 0x165667b1))]);
  }

  /** The next u32. */
  u32(): number {
    return streamU32(this.k0, this.k1, this.counter++);
  }

  /** A float uniform in [0, 1). */
  uniform(): number {
    return u32ToUnit(this.u32());
  }

  /** A standard normal draw (Box-Muller on two uniforms; the first is nudged off zero). */
  normal(): number {
    const u1 = (this.u32() >>> 8) / 16777216 + 1 / 33554432;
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** An integer uniform in [0, n). */
  int(n: number): number {
    if (!(n > 0) || !Number.isInteger(n)) throw new RangeError(`Rng.int needs a positive integer, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Shuffles `xs` in place (Fisher-Yates) and returns it. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }

  /** A Float32Array of `n` normal draws times `std`. */
  normals(n: number, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * std;
    return out;
  }
}

/**
 * WGSL twin of {@link streamU32} and {@link u32ToUnit}: paste into a kernel to draw value `n` of stream (k0, k1).
 */
export const RNG_WGSL = /* wgsl */ `
fn rng_hash(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u; x *= 0x7feb352du; x ^= x >> 15u; x *= 0x846ca68bu; x ^= x >> 16u;
  return x;
}
fn rng_u32(k0: u32, k1: u32, n: u32) -> u32 { return rng_hash(rng_hash(n ^ k0) ^ k1); }
fn rng_unit(k0: u32, k1: u32, n: u32) -> f32 { return f32(rng_u32(k0, k1, n) >> 8u) / 16777216.0; }
`;
