/**
 * Matmul autotune: times the candidate variants on the problems a run will use, once per adapter and shape class,
 * and remembers the fastest in memory (per `Gpu`) and on disk (`.cache/matmul_autotune/<adapter>.json`, git-ignored).
 *
 * Timing needs queue round trips, so tuning is an explicit async step at setup (`await tuneMatmul(gpu, shapes)`);
 * `matmul()` stays synchronous and only looks the choice up. Because every variant gives bitwise identical results
 * (see matmul.ts), a choice that differs from one machine or run to the next changes speed, never numbers.
 *
 * @example
 * ```ts
 * const gpu = await getGpu();
 * await tuneMatmul(gpu, [{ m: 2048, n: 192, k: 64 }, { m: 2048, n: 64, k: 192, transB: true }]);
 * // later: matmul(enc, x, w, y) uses the tuned variant for its shape class
 * ```
 * @module
 */
import type { Gpu } from "./gpu.ts";
import type { StepEncoder } from "./encoder.ts";
import { dispatchVariant, type MatmulShape, VARIANT_NAMES, type VariantInfo, variantInfo } from "./matmul_variants.ts";
import { Rng } from "./rng.ts";

/** A problem to tune for (the batch defaults to 1; a batched product broadcasts nothing). */
export interface TuneShape {
  m: number;
  n: number;
  k: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
}

/** Options of {@link tuneMatmul}. */
export interface TuneOptions {
  /** Candidates (default: per adapter, see {@link defaultTuneCandidates}). */
  variants?: readonly string[];
  /** Timing rounds after the warm-up and the pruning round (default 3; each candidate's fastest dispatch counts). */
  reps?: number;
  /** Re-time classes that already have a choice. */
  force?: boolean;
  /** Directory of the disk cache, or null for none (default `.cache/matmul_autotune` at the repository root). */
  cacheDir?: string | null;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** One tuned shape class. */
export interface TuneChoice {
  variant: string;
  /** Fastest time of each candidate in ms; a candidate dropped after its warm-up has its warm-up time. */
  ms: Record<string, number>;
  /** How the times were taken. */
  timing: "gpu-timestamps" | "wall-clock";
  /** The problem the class was timed on. */
  shape: Required<TuneShape>;
}

const CACHE_VERSION = 1;
const choices = new WeakMap<Gpu, Map<string, TuneChoice>>();

const bucket = (x: number) => x <= 16 ? "16" : x <= 64 ? "64" : x <= 256 ? "256" : x <= 1024 ? "1k" : "big";

/**
 * The shape class a choice applies to: the form, size buckets of batch, M, N and K, and which extents are
 * divisible by 4 (which decides the vec4 loads).
 */
export function matmulShapeClass(s: MatmulShape, transA: boolean, transB: boolean): string {
  const div4 = `${s.m % 4 ? "" : "m"}${s.n % 4 ? "" : "n"}${s.k % 4 ? "" : "k"}`;
  return `${transA ? "t" : "n"}${transB ? "t" : "n"}|b${bucket(s.batch)}|${bucket(s.m)}x${bucket(s.n)}x${bucket(s.k)}|${
    div4 || "-"
  }`;
}

/** The tuned variant for this problem on `gpu`, if its class was tuned (or loaded from disk). */
export function tunedMatmulVariant(gpu: Gpu, s: MatmulShape, transA: boolean, transB: boolean): string | undefined {
  return choices.get(gpu)?.get(matmulShapeClass(s, transA, transB))?.variant;
}

/** Every choice recorded for `gpu`, by shape class. */
export function matmulTuningTable(gpu: Gpu): ReadonlyMap<string, TuneChoice> {
  return choices.get(gpu) ?? new Map();
}

/** Forgets the in-memory choices of `gpu` (the disk cache is left alone). */
export function clearMatmulTuning(gpu: Gpu): void {
  choices.delete(gpu);
}

/**
 * Candidates per adapter. On fallback (CPU) adapters the register blocks only: tiles run 10-30x slower on llvmpipe
 * (see `deno task bench`) and would only lengthen the tuning. On GPUs the tiles plus two register blocks, which
 * some GPUs (unified-memory ones, say) run well.
 */
export function defaultTuneCandidates(gpu: Gpu): string[] {
  const fam = (f: string) => VARIANT_NAMES.filter((n) => variantInfo(n).family === f);
  // The scalar-only rb8x8 is left out: rb8x8v4 runs the same scalar code where vec4 does not apply.
  const register = fam("register").filter((n) => variantInfo(n).vec4);
  return gpu.info.isFallbackAdapter ? register : [...fam("tiled"), "rb8x8v4", "rb16x16v4"];
}

/** The disk cache file of `gpu`'s adapter. */
export function matmulTuneCacheFile(gpu: Gpu, dir = defaultCacheDir()): string {
  const i = gpu.info;
  const key = `${i.description}-${i.vendor}-${i.device}-${i.backend}`.toLowerCase().replace(/[^a-z0-9.]+/g, "_");
  return `${dir}/${key.slice(0, 120)}.json`;
}

function defaultCacheDir(): string {
  return new URL("../.cache/matmul_autotune", import.meta.url).pathname;
}

/** Loads the disk cache of `gpu`'s adapter into memory; returns how many classes it held (0 when absent). */
export function loadMatmulTuning(gpu: Gpu, dir: string | null = defaultCacheDir()): number {
  if (dir === null) return 0;
  let text: string;
  try {
    text = Deno.readTextFileSync(matmulTuneCacheFile(gpu, dir));
  } catch {
    return 0; // absent or unreadable: tune afresh
  }
  const data = JSON.parse(text) as { version: number; choices: Record<string, TuneChoice> };
  if (data.version !== CACHE_VERSION) return 0;
  const table = choices.get(gpu) ?? new Map<string, TuneChoice>();
  let n = 0;
  for (const [cls, c] of Object.entries(data.choices)) {
    // A variant renamed or removed since the cache was written is ignored, not trusted.
    if (VARIANT_NAMES.includes(c.variant)) {
      table.set(cls, c);
      n++;
    }
  }
  choices.set(gpu, table);
  return n;
}

function saveMatmulTuning(gpu: Gpu, dir: string): void {
  const file = matmulTuneCacheFile(gpu, dir);
  Deno.mkdirSync(dir, { recursive: true });
  const data = {
    version: CACHE_VERSION,
    adapter: gpu.info.description,
    choices: Object.fromEntries(matmulTuningTable(gpu)),
  };
  // Write then rename, so a killed process never leaves a torn cache.
  Deno.writeTextFileSync(`${file}.tmp`, JSON.stringify(data, null, 1));
  Deno.renameSync(`${file}.tmp`, file);
}

/**
 * One timing round: `per` dispatches of each candidate, interleaved, so that every candidate sees the same
 * conditions (on a shared machine, load comes and goes). Returns each candidate's fastest dispatch in ms: from GPU
 * timestamps when the adapter has them (one submit for the round), else wall clock over one synced submit per
 * candidate (divided by `per`).
 */
async function timeRound(
  gpu: Gpu,
  candidates: readonly VariantInfo[],
  per: number,
  record: (enc: StepEncoder, v: VariantInfo) => void,
): Promise<Record<string, number>> {
  const ms: Record<string, number> = {};
  if (gpu.hasTimestamps) {
    const enc = gpu.encoder("autotune", { profile: true });
    for (let i = 0; i < per; i++) for (const v of candidates) record(enc, v);
    await enc.submit();
    enc.timings.forEach((t, j) => {
      const name = candidates[j % candidates.length].name;
      ms[name] = Math.min(ms[name] ?? Infinity, t.ms);
    });
    return ms;
  }
  for (const v of candidates) {
    const t0 = performance.now();
    const enc = gpu.encoder("autotune");
    for (let i = 0; i < per; i++) record(enc, v);
    await enc.submit();
    await gpu.sync();
    ms[v.name] = (performance.now() - t0) / per;
  }
  return ms;
}

/**
 * Times every candidate on one problem (random operands): all are compiled and run once together, untimed; a
 * first round drops those over 4x the best; `reps` interleaved rounds time the rest. Returns ms per candidate.
 */
async function timeCandidates(
  gpu: Gpu,
  s: MatmulShape,
  transA: boolean,
  transB: boolean,
  candidates: readonly VariantInfo[],
  reps: number,
): Promise<Record<string, number>> {
  const { batch, m, n, k } = s;
  const rng = new Rng(7);
  const fill = (len: number) => Float32Array.from({ length: len }, () => 2 * rng.uniform() - 1);
  const a = gpu.fromArray(fill(batch * m * k), undefined, undefined, "tune A"); // [batch, m, k] or transposed
  const b = gpu.fromArray(fill(batch * k * n), undefined, undefined, "tune B"); // [batch, k, n] or transposed
  const out = gpu.tensor([batch * m * n], "f32", "tune out"); // [batch, m, n]
  const params = { m, n, k, strideA: s.strideA, strideB: s.strideB, transA: +transA, transB: +transB };
  const args = { a, b, out, bias: gpu.dummy(), params: { ...params, hasBias: 0, act: 0, alpha: 1, beta: 0 } };
  const record = (enc: StepEncoder, v: VariantInfo) => dispatchVariant(enc, v, s, args);
  // Compile first (llvmpipe takes up to seconds per kernel; Mesa keeps them on disk after that).
  const warm = gpu.encoder("autotune warm-up");
  for (const v of candidates) record(warm, v);
  await warm.submit();
  await gpu.sync();
  const ms = await timeRound(gpu, candidates, 1, record);
  const first = Math.min(...Object.values(ms));
  const kept = candidates.filter((c) => ms[c.name] <= 4 * first);
  for (let r = 0; r < reps; r++) {
    for (const [name, t] of Object.entries(await timeRound(gpu, kept, 2, record))) ms[name] = Math.min(ms[name], t);
  }
  [a, b, out].forEach((t) => t.destroy());
  return ms;
}

/**
 * Tunes every shape class among `shapes` that has no choice yet (all of them with `force`), records the fastest
 * variant in memory and on disk, and returns the choices by class. All candidates are first compiled and run once
 * together (untimed); then each is timed once, and those over 4x the best are dropped before `reps` rounds that
 * time the rest, interleaved (see `timeRound`); each candidate's fastest dispatch counts.
 */
export async function tuneMatmul(
  gpu: Gpu,
  shapes: readonly TuneShape[],
  options: TuneOptions = {},
): Promise<Map<string, TuneChoice>> {
  const { reps = 3, force = false, log = () => {} } = options;
  const dir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const candidates = (options.variants ?? defaultTuneCandidates(gpu)).map((v) => variantInfo(v));
  if (!Number.isInteger(reps) || reps < 1) {
    throw new RangeError(`tuneMatmul: reps must be an integer >= 1, got ${reps}`);
  }
  if (!choices.has(gpu)) loadMatmulTuning(gpu, dir);
  const table = choices.get(gpu) ?? new Map<string, TuneChoice>();
  choices.set(gpu, table);
  const result = new Map<string, TuneChoice>();
  for (const t of shapes) {
    const shape: Required<TuneShape> = { batch: 1, transA: false, transB: false, ...t };
    const { batch, m, n, k, transA, transB } = shape;
    for (const [name, v] of Object.entries({ m, n, k, batch })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`tuneMatmul: ${name} must be an integer >= 1, got ${v}`);
    }
    const s: MatmulShape = { batch, m, n, k, strideA: batch > 1 ? m * k : 0, strideB: batch > 1 ? k * n : 0 };
    const cls = matmulShapeClass(s, transA, transB);
    const known = table.get(cls);
    if (known && !force) {
      result.set(cls, known);
      continue;
    }
    const ms = await timeCandidates(gpu, s, transA, transB, candidates, reps);
    const timing: TuneChoice["timing"] = gpu.hasTimestamps ? "gpu-timestamps" : "wall-clock";
    const variant = Object.entries(ms).sort((x, y) => x[1] - y[1])[0][0];
    const choice: TuneChoice = { variant, ms, timing, shape };
    table.set(cls, choice);
    result.set(cls, choice);
    log(`autotune ${cls}: ${variant} (${ms[variant].toFixed(3)} ms; ${timing})`);
  }
  if (dir !== null && result.size > 0) saveMatmulTuning(gpu, dir);
  return result;
}
