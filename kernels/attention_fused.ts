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
 * Row blocks: the training kernels give each invocation R consecutive rows (queries in the forward and the query
 * backward, keys in the key backward), so each key (or query) row loaded from storage serves R rows. On llvmpipe a
 * storage load is a loop over the SIMD lanes, so loads, not arithmetic, set the time, and R divides them (R = 1 is
 * the one-row kernel). Each row's arithmetic is the one-row kernel's, in the same order, so every R gives the same
 * bits (attention_test.ts checks it): a row skips the keys it cannot see with a branch, not with a mask in the sums.
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
  let tb = g.x * R; let h = g.y; let b = g.z;
  if (tb >= p.t) { return; }
  let rs = 3u * p.c;
  let row0 = b * p.t * rs + h * N; // q of (b, position 0, head h)
  let stat = (b * p.heads + h) * p.t; // lse / D of (b, h, position 0)
`;

/**
 * The opening of a training-attention kernel: head size, R rows per invocation, one invocation per (block of R
 * positions, head h, sequence b); `tb` is the block's first position, and row r is at `t_r = min(tb + r, T - 1)`
 * (a block's rows past the end repeat the last one and write nothing).
 */
function entry(l: HeadLayout, rows: number): string {
  return /* wgsl */ `
const N: u32 = ${l.n}u;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {${PRELUDE}
  ${range(rows).map((r) => `let t${r} = min(tb + ${r}u, p.t - 1u);`).join("\n  ")}`;
}

/** Term i of a head row as the local `name{r}_{i}` (row r of a block). */
const at = (name: string, r: number) => (i: number) => `${name}${r}_${i}`;

/** Statements per row r of a block, joined at `pad`. */
const perRow = (rows: number, f: (r: number) => string, pad = "\n  ") => range(rows).map(f).join(pad);

/** The names one step of the online softmax reads and updates (see {@link softmaxStep}). */
interface SoftmaxNames {
  /** Term i of the (scaled) query, of the key and of the value. */
  q: (i: number) => string;
  key: (i: number) => string;
  value: (i: number) => string;
  /** The running max, the running sum and term i of the weighted values. */
  m: string;
  l: string;
  a: (i: number) => string;
}

/**
 * One key of the online softmax: the score, then the running sums rescaled when the maximum grows. The training
 * forward (per row of a block) and the decode step both generate it here, so their arithmetic is the same to the bit.
 */
function softmaxStep(l: HeadLayout, n: SoftmaxNames, pad: string): string {
  return [
    `let sc = ${dots(l, n.q, n.key)};`,
    `let mn = max(${n.m}, sc);`,
    `let corr = exp(${n.m} - mn);`,
    `let e = exp(sc - mn);`,
    `${n.l} = ${n.l} * corr + e;`,
    ...range(l.n).map((i) => `${n.a(i)} = ${n.a(i)} * corr + e * ${n.value(i)};`),
    `${n.m} = mn;`,
  ].join(pad);
}

/**
 * The loop over the keys 0..t_{R-1} of a block of query rows: each key row is loaded once (`k0_i`, `v0_i`) and
 * `rowStep(r)` uses it for row r.
 */
function keyLoop(l: HeadLayout, rows: number, rowStep: (r: number) => string): string {
  return /* wgsl */ `for (var s = 0u; s <= t${rows - 1}; s++) {
    let ko = row0 + s * rs + p.c;
    ${perTerm(l, (i) => `let k0_${i} = qkv[ko + ${i}u];`, "\n    ")}
    ${perTerm(l, (i) => `let v0_${i} = qkv[ko + p.c + ${i}u];`, "\n    ")}
    ${perRow(rows, rowStep, "\n    ")}
  }`;
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
    ${softmaxStep(l, { q: (i) => `q${i}`, key: o.key, value: o.value, m: "m", l: "l", a: (i) => `a${i}` }, "\n    ")}
  }
  let inv = 1.0 / l;
  let yo = ${o.yRow};
  ${perTerm(l, (i) => `y[yo + ${i}u] = a${i} * inv;`)}`;
}

/**
 * Forward: y rows and lse of R queries. Buffers qkv (read), y (rw), lse (rw); params t, c, heads, scale. Per row,
 * the arithmetic of {@link attendWgsl}: q scaled first, the online softmax over keys 0..t_r ascending, y = a / l.
 */
export function forwardWgsl(l: HeadLayout, rows = 1): string {
  const rowStep = (r: number) =>
    /* wgsl */ `if (s <= t${r}) {
      ${
      softmaxStep(
        l,
        { q: at("q", r), key: at("k", 0), value: at("v", 0), m: `m${r}`, l: `l${r}`, a: at("a", r) },
        "\n      ",
      )
    }
    }`;
  const store = (r: number) =>
    /* wgsl */ `if (tb + ${r}u < p.t) {
    let inv = 1.0 / l${r};
    let yo = (b * p.t + t${r}) * p.c + h * N;
    ${perTerm(l, (i) => `y[yo + ${i}u] = a${r}_${i} * inv;`, "\n    ")}
    lse[stat + t${r}] = m${r} + log(l${r});
  }`;
  return /* wgsl */ `const R: u32 = ${rows}u;${entry(l, rows)}
  ${perRow(rows, (r) => perTerm(l, (i) => `let q${r}_${i} = qkv[row0 + t${r} * rs + ${i}u] * p.scale;`))}
  ${perRow(rows, (r) => `var m${r} = -3.0e38;\n  var l${r} = 0.0;`)}
  ${perRow(rows, (r) => perTerm(l, (i) => `var a${r}_${i} = ${l.ty}(0.0);`))}
  ${keyLoop(l, rows, rowStep)}
  ${perRow(rows, store)}
}`;
}

/**
 * Backward, query side: dq of R queries, and D_t = dy_t · y_t (= Σ_s P·dP) for the key side. Buffers qkv, y, dy,
 * lse (read), dqkv (rw, the q part), dstat (rw); params t, c, heads, scale.
 */
export function backwardQueryWgsl(l: HeadLayout, rows = 1): string {
  const setup = (r: number) =>
    /* wgsl */ `let qo${r} = row0 + t${r} * rs;
  let yo${r} = (b * p.t + t${r}) * p.c + h * N;
  ${perTerm(l, (i) => `let q${r}_${i} = qkv[qo${r} + ${i}u] * p.scale;`)}
  ${perTerm(l, (i) => `let dy${r}_${i} = dy[yo${r} + ${i}u];`)}
  let dd${r} = ${dots(l, at("dy", r), (i) => `y[yo${r} + ${i}u]`)};
  let lt${r} = lse[stat + t${r}];
  ${perTerm(l, (i) => `var g${r}_${i} = ${l.ty}(0.0);`)}`;
  const rowStep = (r: number) =>
    /* wgsl */ `if (s <= t${r}) {
      let pr = exp(${dots(l, at("q", r), at("k", 0))} - lt${r});
      let ds = pr * (${dots(l, at("dy", r), at("v", 0))} - dd${r});
      ${perTerm(l, (i) => `g${r}_${i} += ds * k0_${i};`, "\n      ")}
    }`;
  const store = (r: number) =>
    /* wgsl */ `if (tb + ${r}u < p.t) {
    ${perTerm(l, (i) => `dqkv[qo${r} + ${i}u] = g${r}_${i} * p.scale;`, "\n    ")}
    dstat[stat + t${r}] = dd${r};
  }`;
  return /* wgsl */ `const R: u32 = ${rows}u;${entry(l, rows)}
  ${perRow(rows, setup)}
  ${keyLoop(l, rows, rowStep)}
  ${perRow(rows, store)}
}`;
}

/**
 * Backward, key side: dk and dv of R keys (the block's positions are keys here), each summing over the queries that
 * see it (q ≥ its position) in ascending order. Buffers qkv, dy, lse, dstat (read), dqkv (rw, the k and v parts).
 */
export function backwardKeyWgsl(l: HeadLayout, rows = 1): string {
  const setup = (r: number) =>
    /* wgsl */ `let ko${r} = row0 + t${r} * rs + p.c; // key row t${r}
  ${perTerm(l, (i) => `let k${r}_${i} = qkv[ko${r} + ${i}u];`)}
  ${perTerm(l, (i) => `let v${r}_${i} = qkv[ko${r} + p.c + ${i}u];`)}
  ${perTerm(l, (i) => `var gk${r}_${i} = ${l.ty}(0.0);`)}
  ${perTerm(l, (i) => `var gv${r}_${i} = ${l.ty}(0.0);`)}`;
  const rowStep = (r: number) =>
    /* wgsl */ `if (q >= t${r}) {
      let pr = exp(${dots(l, at("qq", 0), at("k", r))} - lq);
      let ds = pr * (${dots(l, at("dy", 0), at("v", r))} - dq);
      ${perTerm(l, (i) => `gv${r}_${i} += pr * dy0_${i};`, "\n      ")}
      ${perTerm(l, (i) => `gk${r}_${i} += ds * qq0_${i};`, "\n      ")}
    }`;
  const store = (r: number) =>
    /* wgsl */ `if (tb + ${r}u < p.t) {
    ${perTerm(l, (i) => `dqkv[ko${r} + ${i}u] = gk${r}_${i};`, "\n    ")}
    ${perTerm(l, (i) => `dqkv[ko${r} + p.c + ${i}u] = gv${r}_${i};`, "\n    ")}
  }`;
  return /* wgsl */ `const R: u32 = ${rows}u;${entry(l, rows)}
  ${perRow(rows, setup)}
  for (var q = tb; q < p.t; q++) {
    let qo = row0 + q * rs;
    let yo = (b * p.t + q) * p.c + h * N;
    ${perTerm(l, (i) => `let qq0_${i} = qkv[qo + ${i}u] * p.scale;`, "\n    ")}
    ${perTerm(l, (i) => `let dy0_${i} = dy[yo + ${i}u];`, "\n    ")}
    let lq = lse[stat + q];
    let dq = dstat[stat + q];
    ${perRow(rows, rowStep, "\n    ")}
  }
  ${perRow(rows, store)}
}`;
}
