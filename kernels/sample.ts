/**
 * Categorical sampling of one token per row of logits [R, V] on the GPU, stateless and reproducible: row r draws
 * one uniform u = value `counter + r` of the counter-based stream (k0, k1) (kernels/rng.ts), so the same key and
 * counter give bitwise the same tokens, and the CPU reference {@link sampleCpu} draws the identical token from the
 * identical u.
 *
 * The distribution a row is drawn from, in the order HF's logits warpers (and ReaLHF's generator, PAPER.md §9.5)
 * apply them:
 * 1. forbidden tokens removed: `forbidToken` (one id, every row; the transformer sampler forbids EOS before
 *    min_new_tokens, §9.5) and a per-row `mask` (u32 [R, V], nonzero = forbidden);
 * 2. temperature: q ∝ exp(z / T); T = 0 (or `greedy`) is argmax, ties to the lowest index;
 * 3. top-k (0 = off): keep the k tokens ranked first (larger logit first, ties to the lower index);
 * 4. top-p (1 = off): among those, renormalised, keep the smallest rank-ordered prefix whose mass reaches p, i.e.
 *    token j is kept iff the mass ranked strictly before it is < p (so the first token is always kept).
 * Then j is drawn by inverse CDF over the kept tokens in index order: the first j whose cumulative weight exceeds
 * u · Σ kept weights.
 *
 * Outputs per row:
 * - `ids` (u32): the sampled token; V when every token is forbidden (then both log-probs are NaN);
 * - `behaviourLogp`: log-probability of the sampled id under the distribution it was drawn from (after forbidding,
 *   temperature, top-k and top-p; 0 for greedy, a point mass);
 * - `logp`: log-probability under the plain softmax of the logits at temperature 1, with no mask and no truncation,
 *   i.e. what the training forward pass (kernels/token_head.ts) computes. PPO's π_old uses this one, so the ratio
 *   ρ = π_θ/π_old compares like with like. (ReaLHF instead keeps a logits mask of the tokens top-k/top-p removed and
 *   applies it in training and reference forward passes, PAPER.md §9.2; with the paper's T = 1 and no truncation
 *   the two agree exactly.)
 *
 * One invocation per row scans its row with no workgroup barriers (a barrier costs 0.2-0.5 ms per workgroup on
 * llvmpipe, see reduce.ts). Top-k/top-p select tokens in rank order by repeated scans, O(V · kept) per row; with
 * neither active the cost is O(V). Every sum runs in a fixed order, so results are bitwise reproducible.
 *
 * @example
 * ```ts
 * const rng = new Rng(seed).split("rollout");
 * // logits [B, V] of the last position; ids u32 [B], behaviourLogp [B], logp [B]
 * sample(enc, logits, { ids, behaviourLogp, logp }, { key: rng, counter: step * B, topP: 0.9, forbidToken: eos });
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, kernel } from "./kernel.ts";
import { type Rng, RNG_WGSL, streamU32, u32ToUnit } from "./rng.ts";
import type { Tensor } from "./tensor.ts";

/** Options of {@link sample}. */
export interface SampleOptions {
  /** The stream's key: an {@link Rng} (its k0, k1; its counter is not used or advanced) or [k0, k1]. */
  key: Rng | readonly [number, number];
  /** Row r draws value `counter + r` of the stream; give each step its own range (e.g. step · rows). */
  counter: number;
  /** Temperature T >= 0 (default 1, the paper's); 0 means greedy. */
  temperature?: number;
  /** Argmax instead of sampling (ties to the lowest index); default false. */
  greedy?: boolean;
  /** Keep only the k best-ranked tokens; 0 (default) keeps all. */
  topK?: number;
  /** Nucleus mass p in (0, 1]; 1 (default) keeps all. */
  topP?: number;
  /** A token id forbidden in every row (e.g. EOS before min_new_tokens). */
  forbidToken?: number;
  /** u32 [R, V]: nonzero marks a token forbidden in that row. */
  mask?: Tensor;
}

/** GPU outputs of {@link sample}, one value per row. */
export interface SampleOutputs {
  /** Sampled ids, u32 [R]. */
  ids: Tensor;
  /** log q(id) under the distribution sampled from (forbidding, temperature, top-k, top-p). [R] */
  behaviourLogp: Tensor;
  /** log softmax(logits)[id] at temperature 1 with no mask or truncation. [R] */
  logp: Tensor;
}

const WG = 64;
const NONE = 0xffffffff;

const sampleK = kernel({
  name: "sample_rows",
  buffers: { logits: "read", mask: "read:u32", ids: "rw:u32", blogp: "rw", logp: "rw" },
  params: {
    rows: "u32",
    v: "u32",
    greedy: "u32",
    temperature: "f32",
    top_k: "u32",
    top_p: "f32",
    forbid: "u32",
    has_mask: "u32",
    k0: "u32",
    k1: "u32",
    counter: "u32",
  },
  code: FLAT_ID_WGSL + RNG_WGSL + /* wgsl */ `
fn nan_f32() -> f32 { return bitcast<f32>(0x7fc00000u + (p.v & 0u)); }
fn allowed(r: u32, j: u32) -> bool {
  if (j == p.forbid) { return false; }
  return p.has_mask == 0u || mask[r * p.v + j] == 0u;
}
// Whether token a (logit za) is ranked before token b: the larger logit first, ties to the lower index.
fn before(za: f32, a: u32, zb: f32, b: u32) -> bool { return za > zb || (za == zb && a < b); }
// The best-ranked allowed token ranked after prev (any token when prev == NONE).
fn next_ranked(r: u32, base: u32, prev: u32) -> u32 {
  var best = ${NONE}u;
  var zb = 0.0;
  var zp = 0.0;
  if (prev != ${NONE}u) { zp = logits[base + prev]; }
  for (var j = 0u; j < p.v; j++) {
    if (!allowed(r, j)) { continue; }
    let z = logits[base + j];
    if (prev != ${NONE}u && !before(zp, prev, z, j)) { continue; }
    if (best == ${NONE}u || before(z, j, zb, best)) { best = j; zb = z; }
  }
  return best;
}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let r = flat_id(g, nw, ${WG}u);
  if (r >= p.rows) { return; }
  let base = r * p.v;
  // Untruncated log-softmax at T = 1 (what the training forward pass computes).
  var m_all = logits[base];
  for (var j = 1u; j < p.v; j++) { m_all = max(m_all, logits[base + j]); }
  var s_all = 0.0;
  for (var j = 0u; j < p.v; j++) { s_all += exp(logits[base + j] - m_all); }
  let lse_all = m_all + log(s_all);
  // Allowed tokens: count and argmax (ties to the lowest index).
  var top = ${NONE}u;
  var zmax = 0.0;
  var n_allowed = 0u;
  for (var j = 0u; j < p.v; j++) {
    if (!allowed(r, j)) { continue; }
    n_allowed++;
    let z = logits[base + j];
    if (top == ${NONE}u || z > zmax) { top = j; zmax = z; }
  }
  if (top == ${NONE}u) { ids[r] = p.v; blogp[r] = nan_f32(); logp[r] = nan_f32(); return; }
  if (p.greedy == 1u) { ids[r] = top; blogp[r] = 0.0; logp[r] = logits[base + top] - lse_all; return; }
  let inv_t = 1.0 / p.temperature;
  // The last kept token in rank order; NONE keeps every allowed token.
  var last = ${NONE}u;
  var k = n_allowed;
  if (p.top_k > 0u && p.top_k < n_allowed) { k = p.top_k; }
  if (k < n_allowed || p.top_p < 1.0) {
    // Mass of the top-k set (top-p renormalises within it): rank order when truncated, else index order.
    var wk = 0.0;
    if (k < n_allowed) {
      var j = ${NONE}u;
      for (var i = 0u; i < k; i++) { j = next_ranked(r, base, j); wk += exp((logits[base + j] - zmax) * inv_t); }
      last = j;
    } else {
      for (var j = 0u; j < p.v; j++) { if (allowed(r, j)) { wk += exp((logits[base + j] - zmax) * inv_t); } }
    }
    if (p.top_p < 1.0) {
      let bound = p.top_p * wk;
      var cum = 0.0;
      var j = ${NONE}u;
      for (var i = 0u; i < k; i++) {
        if (cum >= bound) { break; }
        j = next_ranked(r, base, j);
        cum += exp((logits[base + j] - zmax) * inv_t);
      }
      last = j;
    }
  }
  // Inverse CDF over the kept tokens in index order.
  var zl = 0.0;
  if (last != ${NONE}u) { zl = logits[base + last]; }
  var total = 0.0;
  for (var j = 0u; j < p.v; j++) {
    if (!allowed(r, j)) { continue; }
    let z = logits[base + j];
    if (last != ${NONE}u && before(zl, last, z, j)) { continue; }
    total += exp((z - zmax) * inv_t);
  }
  let u = rng_unit(p.k0, p.k1, p.counter + r);
  let goal = u * total;
  var cum = 0.0;
  var pick = ${NONE}u;
  var w_pick = 0.0;
  for (var j = 0u; j < p.v; j++) {
    if (!allowed(r, j)) { continue; }
    let z = logits[base + j];
    if (last != ${NONE}u && before(zl, last, z, j)) { continue; }
    let w = exp((z - zmax) * inv_t);
    cum += w;
    pick = j;
    w_pick = w;
    if (cum > goal) { break; }
  }
  ids[r] = pick;
  blogp[r] = log(w_pick) - log(total);
  logp[r] = logits[base + pick] - lse_all;
}`,
});

interface Resolved {
  greedy: boolean;
  temperature: number;
  topK: number;
  topP: number;
  forbid: number;
  k0: number;
  k1: number;
  counter: number;
}

function resolve(rows: number, v: number, o: SampleOptions): Resolved {
  const t = o.temperature ?? 1;
  if (!(Number.isFinite(t) && t >= 0)) throw new RangeError(`Sample: temperature must be finite and >= 0, got ${t}`);
  const topK = o.topK ?? 0, topP = o.topP ?? 1;
  if (!(Number.isInteger(topK) && topK >= 0)) {
    throw new RangeError(`Sample: topK must be an integer >= 0 (0 = off), got ${topK}`);
  }
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`Sample: topP must be in (0, 1] (1 = off), got ${topP}`);
  const forbid = o.forbidToken ?? NONE;
  if (o.forbidToken !== undefined && !(Number.isInteger(forbid) && forbid >= 0 && forbid < v)) {
    throw new RangeError(`Sample: forbidToken must be an integer id in [0, ${v}), got ${o.forbidToken}`);
  }
  const [k0, k1] = Array.isArray(o.key) ? o.key as readonly [number, number] : [(o.key as Rng).k0, (o.key as Rng).k1];
  for (const [name, k] of [["k0", k0], ["k1", k1]] as const) {
    if (!(Number.isInteger(k) && k >= 0 && k <= NONE)) {
      throw new RangeError(`Sample: key ${name} must be a u32, got ${k}`);
    }
  }
  const c = o.counter;
  if (!(Number.isInteger(c) && c >= 0 && c + rows <= 2 ** 32)) {
    throw new RangeError(
      `Sample: counter must be an integer >= 0 with counter + rows <= 2^32, got ${c} (rows ${rows})`,
    );
  }
  return { greedy: (o.greedy ?? false) || t === 0, temperature: t, topK, topP, forbid, k0, k1, counter: c };
}

/** Rows and V of logits [..., V]; an error names the operand. */
function rowsOf(logits: Tensor): [number, number] {
  if (logits.dtype !== "f32") {
    throw new TypeError(`Sample: logits ('${logits.label}') must be f32, got ${logits.dtype}`);
  }
  const v = logits.shape[logits.shape.length - 1] ?? 0;
  if (logits.shape.length < 2 || v === 0) {
    throw new RangeError(`Sample: logits ('${logits.label}') must be [R, V] with V >= 1, got [${logits.shape}]`);
  }
  return [logits.size / v, v];
}

/**
 * Records the sampling of one token per row of `logits` ([R, V], or [..., V]) into `enc`. See the module doc for the
 * distribution and the outputs.
 */
export function sample(enc: StepEncoder, logits: Tensor, out: SampleOutputs, options: SampleOptions): void {
  const [rows, v] = rowsOf(logits);
  const o = resolve(rows, v, options);
  const want = (name: string, t: Tensor, dtype: string) => {
    if (t.dtype !== dtype) throw new TypeError(`Sample: ${name} ('${t.label}') must be ${dtype}, got ${t.dtype}`);
    if (t.size !== rows) {
      throw new RangeError(`Sample: ${name} ('${t.label}' [${t.shape}]) must hold ${rows} values, one per row`);
    }
  };
  want("ids", out.ids, "u32");
  want("behaviourLogp", out.behaviourLogp, "f32");
  want("logp", out.logp, "f32");
  const mask = options.mask;
  if (mask) {
    if (mask.dtype !== "u32") throw new TypeError(`Sample: mask ('${mask.label}') must be u32, got ${mask.dtype}`);
    if (mask.size !== logits.size) {
      throw new RangeError(
        `Sample: mask ('${mask.label}' [${mask.shape}]) must have the logits' shape [${logits.shape}]`,
      );
    }
  }
  enc.dispatch(sampleK, {
    logits,
    mask: mask ?? enc.gpu.dummy("u32"),
    ids: out.ids,
    blogp: out.behaviourLogp,
    logp: out.logp,
  }, {
    rows,
    v,
    greedy: o.greedy ? 1 : 0,
    temperature: o.greedy ? 1 : o.temperature,
    top_k: o.topK,
    top_p: o.topP,
    forbid: o.forbid,
    has_mask: mask ? 1 : 0,
    k0: o.k0,
    k1: o.k1,
    counter: o.counter,
  }, grid1d(rows, WG));
}

/** Options of {@link sampleCpu}: those of {@link sample}, with the mask as a CPU array. */
export type SampleCpuOptions = Omit<SampleOptions, "mask"> & { mask?: ArrayLike<number> };

/** What {@link sampleCpu} returns, per row. */
export interface SampleCpuResult {
  ids: Uint32Array;
  behaviourLogp: Float64Array;
  logp: Float64Array;
  /**
   * How close the row came to another outcome: the smallest distance, relative to the mass compared, between a
   * quantity and the bound it was compared with (u · total vs. a cumulative weight, and the top-p mass vs. p).
   * Float32 rounding on the GPU can flip a decision only where this is tiny (~1e-6); Infinity for greedy rows.
   */
  margin: Float64Array;
}

/** CPU reference of {@link sample} in float64: the same ranking, truncation and inverse CDF on the same u. */
export function sampleCpu(logits: ArrayLike<number>, v: number, options: SampleCpuOptions): SampleCpuResult {
  const rows = logits.length / v;
  const o = resolve(rows, v, options as SampleOptions);
  const ids = new Uint32Array(rows), behaviourLogp = new Float64Array(rows), logp = new Float64Array(rows);
  const margin = new Float64Array(rows).fill(Infinity);
  for (let r = 0; r < rows; r++) {
    const z = (j: number) => logits[r * v + j];
    const ok = (j: number) => j !== o.forbid && !(options.mask && options.mask[r * v + j] !== 0);
    let mAll = -Infinity, sAll = 0;
    for (let j = 0; j < v; j++) mAll = Math.max(mAll, z(j));
    for (let j = 0; j < v; j++) sAll += Math.exp(z(j) - mAll);
    const lseAll = mAll + Math.log(sAll);
    // Rank order: larger logit first, ties to the lower index.
    const order = [...Array(v).keys()].filter(ok).sort((a, b) => z(b) - z(a) || a - b);
    if (order.length === 0) {
      [ids[r], behaviourLogp[r], logp[r]] = [v, NaN, NaN];
      continue;
    }
    if (o.greedy) {
      [ids[r], behaviourLogp[r], logp[r]] = [order[0], 0, z(order[0]) - lseAll];
      continue;
    }
    const w = (j: number) => Math.exp((z(j) - z(order[0])) / o.temperature);
    let kept = order.slice(0, o.topK > 0 ? Math.min(o.topK, order.length) : order.length);
    if (o.topP < 1) {
      const bound = o.topP * kept.reduce((s, j) => s + w(j), 0);
      let cum = 0, n = 0;
      for (const j of kept) {
        margin[r] = Math.min(margin[r], Math.abs(cum - bound) / bound);
        if (cum >= bound) break;
        cum += w(j);
        n++;
      }
      kept = kept.slice(0, n);
    }
    const keptSet = new Set(kept);
    const idx = [...Array(v).keys()].filter((j) => keptSet.has(j)); // index order
    const total = idx.reduce((s, j) => s + w(j), 0);
    const target = u32ToUnit(streamU32(o.k0, o.k1, o.counter + r)) * total;
    let cum = 0, pick = idx[idx.length - 1];
    for (const j of idx) {
      cum += w(j);
      margin[r] = Math.min(margin[r], Math.abs(cum - target) / total);
      if (cum > target) {
        pick = j;
        break;
      }
    }
    [ids[r], behaviourLogp[r], logp[r]] = [pick, Math.log(w(pick) / total), z(pick) - lseAll];
  }
  return { ids, behaviourLogp, logp, margin };
}
