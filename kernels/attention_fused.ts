/**
 * WGSL generators of fused causal attention (as FlashAttention computes it, without the tiling): one invocation per
 * query row runs the scores, the causal mask, an online softmax and the weighted sum of values in one loop over
 * the visible keys, reading q, k and v straight out of the QKV projection [B, T, 3C] and writing y [B, T, C] with
 * the heads concatenated. Nothing of size T² is stored: the forward saves the row's log-sum-exp, and the backward
 * recomputes each probability from it.
 *
 * Why fused: on llvmpipe a batched matmul over B·H tiny [T, hd] problems runs at 1-2 GFLOP/s (measured for
 * 64 x [64 x 64 x 16]), and a split/softmax/merge around it adds five dispatches per layer; this loop does the
 * same arithmetic with 2·hd/4 vec4 loads per (query, key) pair. The code is specialised per head size (hd/4 vec4
 * registers, or hd scalars when hd % 4 != 0), so q, the accumulators and the gradients live in registers.
 *
 * Determinism: every sum runs over keys (or queries) in ascending order in one invocation; no atomics.
 * @module
 */

/** How the generated code reads a head's row: `n` terms of type `ty` (vec4 when hd % 4 == 0). */
export interface HeadLayout {
  /** Terms per head row: hd/4 vec4s or hd scalars. */
  n: number;
  /** WGSL type of a term. */
  ty: "vec4<f32>" | "f32";
}

/** The layout for head size `hd`. */
export function headLayout(hd: number): HeadLayout {
  return hd % 4 === 0 ? { n: hd / 4, ty: "vec4<f32>" } : { n: hd, ty: "f32" };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** One line of WGSL per term i of a head row, joined at the indentation `pad` (a newline and spaces). */
export function perTerm(l: HeadLayout, line: (i: number) => string, pad = "\n  "): string {
  return range(l.n).map(line).join(pad);
}

/** Σ_i dot(a_i, b_i) as one fixed-order WGSL expression. */
function dots(l: HeadLayout, a: (i: number) => string, b: (i: number) => string): string {
  const dot = (i: number) => (l.ty === "f32" ? `${a(i)} * ${b(i)}` : `dot(${a(i)}, ${b(i)})`);
  return range(l.n).map(dot).join(" + ");
}

/**
 * Shared preamble: row strides and offsets. qkv rows are 3·C terms wide (C in terms, i.e. d/4 for vec4); a head's
 * q, k and v sit at h·n, C + h·n and 2C + h·n of its row.
 */
const PRELUDE = /* wgsl */ `
  let t = g.x; let h = g.y; let b = g.z;
  if (t >= p.t) { return; }
  let rs = 3u * p.c;
  let row0 = b * p.t * rs + h * N; // q of (b, position 0, head h)
  let stat = (b * p.heads + h) * p.t; // lse / D of (b, h, position 0)
`;

/** The opening of a training-attention kernel: head size, one invocation per (position t, head h, sequence b). */
function entry(l: HeadLayout): string {
  return /* wgsl */ `
const N: u32 = ${l.n}u;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {${PRELUDE}`;
}

/** Where {@link attendWgsl} finds a query's keys and values and puts its output. */
export interface AttendSource {
  /** The last visible key position (the loop variable `s` runs 0..last in ascending order). */
  last: string;
  /** Offset of key row s, in terms (its value row is read through `value`). */
  keyRow: string;
  /** Term i of the key and of the value at offset `ko`. */
  key: (i: number) => string;
  value: (i: number) => string;
  /** Offset of the query's output row in y. */
  yRow: string;
}

/**
 * The attention of one query row: q (term i at `qkv[qo + i]`) scaled first, an online softmax over the visible keys
 * in ascending order (running max m and sum l, the weighted values in registers a_i), then y = a / l. The training
 * forward and the decode step (kernels/attention_decode.ts) both generate it here, so a decode step's output equals
 * the full forward's bit for bit: same scaling, dot order, rescaling and division. Leaves m and l for the caller.
 */
export function attendWgsl(l: HeadLayout, o: AttendSource): string {
  return /* wgsl */ `
  ${perTerm(l, (i) => `let q${i} = qkv[qo + ${i}u] * p.scale;`)}
  var m = -3.0e38;
  var l = 0.0;
  ${perTerm(l, (i) => `var a${i} = ${l.ty}(0.0);`)}
  for (var s = 0u; s <= ${o.last}; s++) {
    let ko = ${o.keyRow};
    let sc = ${dots(l, (i) => `q${i}`, o.key)};
    // Online softmax: rescale the running sums when the maximum grows.
    let mn = max(m, sc);
    let corr = exp(m - mn);
    let e = exp(sc - mn);
    l = l * corr + e;
    ${perTerm(l, (i) => `a${i} = a${i} * corr + e * ${o.value(i)};`, "\n    ")}
    m = mn;
  }
  let inv = 1.0 / l;
  let yo = ${o.yRow};
  ${perTerm(l, (i) => `y[yo + ${i}u] = a${i} * inv;`)}`;
}

/** Forward: y row and lse of query t. Buffers qkv (read), y (rw), lse (rw); params t, c, heads, scale. */
export function forwardWgsl(l: HeadLayout): string {
  const attend = attendWgsl(l, {
    last: "t",
    keyRow: "row0 + s * rs + p.c",
    key: (i) => `qkv[ko + ${i}u]`,
    value: (i) => `qkv[ko + p.c + ${i}u]`,
    yRow: "(b * p.t + t) * p.c + h * N",
  });
  return /* wgsl */ `${entry(l)}
  let qo = row0 + t * rs;${attend}
  lse[stat + t] = m + log(l);
}`;
}

/**
 * Backward, query side: dq of query t, and D_t = dy_t · y_t (= Σ_s P·dP) for the key side. Buffers qkv, y, dy,
 * lse (read), dqkv (rw, the q part), dstat (rw); params t, c, heads, scale.
 */
export function backwardQueryWgsl(l: HeadLayout): string {
  return /* wgsl */ `${entry(l)}
  let qo = row0 + t * rs;
  let yo = (b * p.t + t) * p.c + h * N;
  ${perTerm(l, (i) => `let q${i} = qkv[qo + ${i}u] * p.scale;`)}
  ${perTerm(l, (i) => `let dy${i} = dy[yo + ${i}u];`)}
  let dd = ${dots(l, (i) => `dy${i}`, (i) => `y[yo + ${i}u]`)};
  let lt = lse[stat + t];
  ${perTerm(l, (i) => `var g${i} = ${l.ty}(0.0);`)}
  for (var s = 0u; s <= t; s++) {
    let ko = row0 + s * rs + p.c;
    let pr = exp(${dots(l, (i) => `q${i}`, (i) => `qkv[ko + ${i}u]`)} - lt);
    let ds = pr * (${dots(l, (i) => `dy${i}`, (i) => `qkv[ko + p.c + ${i}u]`)} - dd);
    ${perTerm(l, (i) => `g${i} += ds * qkv[ko + ${i}u];`, "\n    ")}
  }
  ${perTerm(l, (i) => `dqkv[qo + ${i}u] = g${i} * p.scale;`)}
  dstat[stat + t] = dd;
}`;
}

/**
 * Backward, key side: dk and dv of key s (invocation index t is the key here), summing over the queries that see
 * it (t ≥ s) in ascending order. Buffers qkv, dy, lse, dstat (read), dqkv (rw, the k and v parts); same params.
 */
export function backwardKeyWgsl(l: HeadLayout): string {
  return /* wgsl */ `${entry(l)}
  let ko = row0 + t * rs + p.c; // key row s = t
  ${perTerm(l, (i) => `let k${i} = qkv[ko + ${i}u];`)}
  ${perTerm(l, (i) => `let v${i} = qkv[ko + p.c + ${i}u];`)}
  ${perTerm(l, (i) => `var gk${i} = ${l.ty}(0.0);`)}
  ${perTerm(l, (i) => `var gv${i} = ${l.ty}(0.0);`)}
  for (var q = t; q < p.t; q++) {
    let qo = row0 + q * rs;
    let yo = (b * p.t + q) * p.c + h * N;
    ${perTerm(l, (i) => `let qq${i} = qkv[qo + ${i}u] * p.scale;`, "\n    ")}
    ${perTerm(l, (i) => `let dy${i} = dy[yo + ${i}u];`, "\n    ")}
    let pr = exp(${dots(l, (i) => `qq${i}`, (i) => `k${i}`)} - lse[stat + q]);
    let ds = pr * (${dots(l, (i) => `dy${i}`, (i) => `v${i}`)} - dstat[stat + q]);
    ${perTerm(l, (i) => `gv${i} += pr * dy${i};`, "\n    ")}
    ${perTerm(l, (i) => `gk${i} += ds * qq${i};`, "\n    ")}
  }
  ${perTerm(l, (i) => `dqkv[ko + ${i}u] = gk${i};`)}
  ${perTerm(l, (i) => `dqkv[ko + p.c + ${i}u] = gv${i};`)}
}`;
}
