/**
 * WGSL generator of the register-block matmul family: each invocation computes an RM x RN block of outputs in
 * scalar registers, reading its operands straight from storage buffers (no workgroup memory, no barriers).
 *
 * Why this family exists: on Mesa's llvmpipe (the CPU adapter) every storage or workgroup load is compiled into a
 * loop over the 8 SIMD lanes with an exec-mask test, a bounds check and an insert per lane (gallivm
 * `emit_load_mem`), so one load costs tens of instructions while one fma costs one. The levers are reuse (a block
 * does RM·RN fmas per RM + RN loaded values) and vec4 loads (the lane loop is paid once per four values).
 *
 * Load modes, per operand: `s` reads scalars through run-time strides, so one compiled kernel serves every form;
 * `k4` reads 4 consecutive k of a row (A plain, or B transposed, with K % 4 == 0); `x4` reads 4 consecutive rows
 * of A (A transposed, M % 4 == 0) or columns of B (B plain, N % 4 == 0). A kernel is compiled per block size and
 * pair of modes; llvmpipe needs from 0.3 s (4 x 4) to several seconds (16 x 16) per kernel, cached on disk by Mesa.
 *
 * The k loop is fully unrolled over the block (one named scalar per accumulator), so nothing is indexed at run
 * time. Determinism: each accumulator starts at 0 and takes exactly one `fma` per k, k ascending, and the epilogue
 * is the shared `finish` (matmul_epilogue.ts), so every variant produces the same bits as the naive kernel.
 * @module
 */

/** How an operand is loaded (see the module doc). */
export type LoadMode = "s" | "k4" | "x4";

/**
 * What a kernel's epilogue is specialised for, or "general". A specialised kernel writes each full block straight
 * from its accumulators, unrolled, with the arithmetic of matmul_epilogue.ts's `finish` for these settings fixed
 * at compile time: v = act(fma(alpha, acc, bias or 0)), then fma(beta, out, v) when accumulating. Blocks at the
 * matrix edge, and "general" kernels, run `finish` per output in a loop (its private array and per-output calls
 * cost about a third of a 4096 x 128 x 128 product). Both paths compute the same expression, so the same bits.
 */
export type Epilogue = "general" | { bias: boolean; act: "none" | "relu" | "gelu"; accumulate: boolean };

/** A short tag naming an epilogue in kernel names: "" for general, else e.g. "_eb-g-" (bias, gelu). */
export function epilogueTag(e: Epilogue): string {
  if (e === "general") return "";
  return `_e${e.bias ? "b" : "-"}${e.act === "none" ? "-" : e.act[0]}${e.accumulate ? "a" : "-"}`;
}

/** What a register-block kernel is specialised for. */
export interface RegBlockSpec {
  /** Output rows and columns per invocation. */
  rm: number;
  rn: number;
  /** Workgroup size (x over column blocks, y over row blocks). */
  wgx: number;
  wgy: number;
  /** Load mode of A and of B. */
  va: LoadMode;
  vb: LoadMode;
  /** The epilogue (default general). */
  epilogue?: Epilogue;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The WGSL body (after the generated bindings) of a register-block kernel. Expects `finish` and the params of
 * matmul_epilogue.ts, and buffers `a`, `b` (`vec4<f32>` in a vec4 mode), `bias`, `out`.
 */
export function regBlockWgsl(s: RegBlockSpec): string {
  const { rm, rn, va, vb } = s;
  if (va === "x4" && rm % 4 !== 0 || vb === "x4" && rn % 4 !== 0) {
    throw new RangeError(`Register block ${rm}x${rn}: x4 loads need a multiple of 4 rows/columns`);
  }
  const kStep = va === "k4" || vb === "k4" ? 4 : 1;
  const pre: string[] = []; // before the k loop
  const outer: string[] = []; // once per k step
  const inner: string[][] = range(kStep).map(() => []); // once per k in the step
  // Clamped row and column indices: loads of a partial block stay in bounds; the epilogue skips those outputs.
  for (const r of range(rm)) pre.push(`let ri${r} = min(r0 + ${r}u, p.m - 1u);`);
  for (const c of range(rn)) pre.push(`let ci${c} = min(c0 + ${c}u, p.n - 1u);`);
  // aval(r, kk) / bval(c, kk): the WGSL expression of op(A)[r0 + r, k + kk] and op(B)[k + kk, c0 + c].
  let aval: (r: number, kk: number) => string;
  let bval: (c: number, kk: number) => string;
  if (va === "k4") {
    // A [M, K] plain: row r is contiguous over k.
    for (const r of range(rm)) pre.push(`let ar${r} = (aBase + ri${r} * p.k) / 4u;`);
    for (const r of range(rm)) outer.push(`let a${r} = a[ar${r} + k / 4u];`);
    aval = (r, kk) => `a${r}[${kk}]`;
  } else if (va === "x4") {
    // A stored [K, M]: op(A)[r, k] = A[k, r], so the block's rows are contiguous within one stored row.
    for (const j of range(rm / 4)) pre.push(`let aq${j} = min(r0 / 4u + ${j}u, p.m / 4u - 1u);`);
    for (const kk of range(kStep)) {
      inner[kk].push(`let ak${kk} = (aBase + (k + ${kk}u) * p.m) / 4u;`);
      for (const j of range(rm / 4)) inner[kk].push(`let a${j}_${kk} = a[ak${kk} + aq${j}];`);
    }
    aval = (r, kk) => `a${Math.floor(r / 4)}_${kk}[${r % 4}]`;
  } else {
    // op(A)[r, k] = A[aBase + r·sAr + k·sAk], strides from the form.
    pre.push(`let sAr = select(p.k, 1u, p.transA == 1u);`, `let sAk = select(1u, p.m, p.transA == 1u);`);
    for (const r of range(rm)) pre.push(`let ar${r} = aBase + ri${r} * sAr;`);
    for (const kk of range(kStep)) {
      inner[kk].push(`let ka${kk} = (k + ${kk}u) * sAk;`);
      for (const r of range(rm)) inner[kk].push(`let a${r}_${kk} = a[ar${r} + ka${kk}];`);
    }
    aval = (r, kk) => `a${r}_${kk}`;
  }
  if (vb === "k4") {
    // B stored [N, K]: op(B)[k, c] = B[c, k], so column c of op(B) is contiguous over k.
    for (const c of range(rn)) pre.push(`let bc${c} = (bBase + ci${c} * p.k) / 4u;`);
    for (const c of range(rn)) outer.push(`let b${c} = b[bc${c} + k / 4u];`);
    bval = (c, kk) => `b${c}[${kk}]`;
  } else if (vb === "x4") {
    // B [K, N] plain: the block's columns are contiguous within one row.
    for (const j of range(rn / 4)) pre.push(`let bq${j} = min(c0 / 4u + ${j}u, p.n / 4u - 1u);`);
    for (const kk of range(kStep)) {
      inner[kk].push(`let bk${kk} = (bBase + (k + ${kk}u) * p.n) / 4u;`);
      for (const j of range(rn / 4)) inner[kk].push(`let b${j}_${kk} = b[bk${kk} + bq${j}];`);
    }
    bval = (c, kk) => `b${Math.floor(c / 4)}_${kk}[${c % 4}]`;
  } else {
    // op(B)[k, c] = B[bBase + k·sBk + c·sBc].
    pre.push(`let sBk = select(p.n, 1u, p.transB == 1u);`, `let sBc = select(1u, p.k, p.transB == 1u);`);
    for (const c of range(rn)) pre.push(`let bc${c} = bBase + ci${c} * sBc;`);
    for (const kk of range(kStep)) {
      inner[kk].push(`let kb${kk} = (k + ${kk}u) * sBk;`);
      for (const c of range(rn)) inner[kk].push(`let b${c}_${kk} = b[bc${c} + kb${kk}];`);
    }
    bval = (c, kk) => `b${c}_${kk}`;
  }
  // One fma per (output, k), k ascending: the order every variant shares.
  for (const kk of range(kStep)) {
    for (const r of range(rm)) {
      for (const c of range(rn)) inner[kk].push(`acc${r}_${c} = fma(${aval(r, kk)}, ${bval(c, kk)}, acc${r}_${c});`);
    }
  }
  const accs = range(rm).flatMap((r) => range(rn).map((c) => `acc${r}_${c}`));
  const ind = (lines: string[], n: number) => lines.map((l) => " ".repeat(n) + l).join("\n");
  // A full block's outputs written straight from the registers (the measured cost of the general loop, with its
  // private array and one `finish` per output, is about a third of a 4096 x 128 x 128 product).
  const epi = s.epilogue ?? "general";
  const direct: string[] = [];
  if (epi !== "general") {
    for (const c of range(rn)) direct.push(`let bv${c} = ${epi.bias ? `bias[c0 + ${c}u]` : "0.0"};`);
    const act = (x: string) => (epi.act === "gelu" ? `gelu(${x})` : epi.act === "relu" ? `max(${x}, 0.0)` : x);
    for (const r of range(rm)) {
      direct.push(`let o${r} = oBase + (r0 + ${r}u) * p.n + c0;`);
      for (const c of range(rn)) {
        const v = act(`fma(p.alpha, acc${r}_${c}, bv${c})`), o = `o${r} + ${c}u`;
        direct.push(`out[${o}] = ${epi.accumulate ? `fma(p.beta, out[${o}], ${v})` : v};`);
      }
    }
  }
  const general = /* wgsl */ `var accs = array<f32, ${rm * rn}>(${accs.join(", ")});
  for (var i = 0u; i < ${rm * rn}u; i++) {
    let row = r0 + i / ${rn}u;
    let col = c0 + i % ${rn}u;
    if (row < p.m && col < p.n) {
      let o = oBase + row * p.n + col;
      out[o] = finish(accs[i], col, o);
    }
  }`;
  const epilogue = epi === "general" ? general : /* wgsl */ `if (r0 + ${rm}u <= p.m && c0 + ${rn}u <= p.n) {
${ind(direct, 4)}
    return;
  }
  ${general}`;
  // The epilogue loops over a private copy of the block: unrolled, its RM·RN inlined copies of `finish` (each with
  // per-lane load and store loops on llvmpipe) took most of the compile time.
  return /* wgsl */ `
@compute @workgroup_size(${s.wgx}, ${s.wgy}, 1)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let r0 = g.y * ${rm}u;
  let c0 = g.x * ${rn}u;
  if (r0 >= p.m || c0 >= p.n) { return; }
  let aBase = g.z * p.strideA;
  let bBase = g.z * p.strideB;
  let oBase = g.z * p.m * p.n;
${ind(pre, 2)}
${ind(accs.map((x) => `var ${x} = 0.0;`), 2)}
  for (var k = 0u; k < p.k; k += ${kStep}u) {
${ind(outer, 4)}
${ind(inner.flat(), 4)}
  }
  ${epilogue}
}`;
}
