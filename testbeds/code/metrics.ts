/**
 * The code benchmarks' metrics (PAPER.md §6.3-6.4, TESTBEDS.md §1):
 *
 * - **pass@k** with the unbiased estimator of Chen et al. (2021): from n ≥ k samples of which c are correct,
 *   pass@k = 1 − C(n − c, k) / C(n, k), the chance that k samples drawn without replacement from the n include a
 *   correct one. Computed as a product, 1 − Π_{i = n − c + 1}^{n} (1 − k / i), which never forms a binomial.
 * - **k@n** as in AlphaCode and the paper's Table 8: draw n samples, keep those that pass the public tests (the
 *   examples in the statement), submit up to k of them, solved when a submitted one passes the hidden tests. With f
 *   samples kept, h of them correct, and the k submitted drawn at random from the kept (AlphaCode clusters them; we
 *   do not, as the paper's own rows do not), the chance of solving is 1 − C(f − h, k) / C(f, k) when f > k, and
 *   [h > 0] when all f ≤ k are submitted: the same estimator over the filtered samples.
 * - APPS's average: the paper's "Avg. pass@5" weights the tiers 1 : 3 : 1 (introductory : interview : competition,
 *   the test split's 1000 / 3000 / 1000 problems; PAPER.md §7). {@link tierAverage} weights tier means so.
 *
 * @example
 * ```ts
 * passAtK(10, 3, 5);        // 0.9166...: 5 of 10 samples, 3 of them correct
 * kAtN([{ publicPass: true, hiddenPass: false }, { publicPass: true, hiddenPass: true }], 1); // 0.5
 * ```
 * @module
 */

/** The unbiased pass@k from `n` samples with `c` correct (k ≤ n). */
export function passAtK(n: number, c: number, k: number): number {
  for (const [name, v] of [["n", n], ["c", c], ["k", k]] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`passAtK: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  if (k < 1 || k > n) throw new RangeError(`passAtK: k must be in [1, n = ${n}], got ${k}`);
  if (c > n) throw new RangeError(`passAtK: c (${c}) is more than n (${n})`);
  if (n - c < k) return 1;
  let fail = 1; // C(n − c, k) / C(n, k) = Π_{i = n−c+1}^{n} (1 − k/i)
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}

/** One sample's verdicts for {@link kAtN}. */
export interface FilteredSample {
  /** Passes every public test (the statement's examples). */
  publicPass: boolean;
  /** Passes every hidden test. */
  hiddenPass: boolean;
}

/**
 * The expected k@n of one problem from its n samples: the chance that k samples submitted at random from those
 * passing the public tests include one that passes the hidden tests (see the module doc).
 */
export function kAtN(samples: readonly FilteredSample[], k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`kAtN: k must be a positive integer, got ${k}`);
  const kept = samples.filter((s) => s.publicPass);
  const good = kept.filter((s) => s.hiddenPass).length;
  if (kept.length <= k) return good > 0 ? 1 : 0;
  return passAtK(kept.length, good, k);
}

/** APPS's difficulty tiers, in order, with their weights in the test split (1 : 3 : 1). */
export const TIER_WEIGHTS = { introductory: 1, interview: 3, competition: 1 } as const;

/** The 1 : 3 : 1 weighted mean of per-tier values; a tier absent from `perTier` is an error naming it. */
export function tierAverage(perTier: Readonly<Record<string, number>>): number {
  let sum = 0, weight = 0;
  for (const [tier, w] of Object.entries(TIER_WEIGHTS)) {
    const v = perTier[tier];
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new RangeError(`tierAverage: no value for tier '${tier}' (got ${JSON.stringify(perTier)})`);
    }
    sum += w * v;
    weight += w;
  }
  return sum / weight;
}

/** Mean of `values` grouped by `keys` (same length): { key: mean }. */
export function meanBy(keys: readonly string[], values: readonly number[]): Record<string, number> {
  if (keys.length !== values.length) throw new RangeError(`meanBy: ${keys.length} keys for ${values.length} values`);
  const acc: Record<string, [number, number]> = {};
  keys.forEach((k, i) => {
    const a = acc[k] ??= [0, 0];
    a[0] += values[i];
    a[1]++;
  });
  return Object.fromEntries(Object.entries(acc).map(([k, [s, n]]) => [k, s / n]));
}
