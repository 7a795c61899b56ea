/**
 * Random programs, inputs and near-miss mutants for the code testbed's problem generator (problems.ts).
 *
 * - {@link randomProgram}: a typed random pipeline of a given shape, every intermediate result used later (no dead
 *   statements), the two lists of a ZIPWITH distinct.
 * - {@link mutants}: every program one edit away (a function swapped for one of the same signature, a lambda for
 *   another of its kind, a variable for another of its type, a statement bypassed, the last one dropped, ZIPWITH's
 *   lists swapped): the "plausible incorrect solutions" of CodeContests' stand-in and the neighbours that hidden
 *   tests must tell apart.
 * - {@link fingerprint}: a program's outputs on fixed probe inputs, the semantic identity used to keep problems
 *   distinct across splits and to reject redundant programs ({@link isMinimal}).
 *
 * @example
 * ```ts
 * const p = randomProgram(rng, { statements: [2, 3], functions: ALL_FUNCTIONS });
 * if (p) mutants(p).map(formatProgram); // ["LAST a ; …", …]
 * ```
 * @module
 */
import type { Rng } from "../../kernels/rng.ts";
import { type Arg, FUNCTIONS, LAMBDAS, type Program, runProgram, type Statement, type Type } from "./dsl.ts";
import { formatProgram, formatValue } from "./dsl.ts";

/** Functions of the introductory tier: one list in, the pipeline steps a beginner writes. */
export const COMMON_FUNCTIONS = [
  "HEAD",
  "LAST",
  "MINIMUM",
  "MAXIMUM",
  "SUM",
  "REVERSE",
  "SORT",
  "MAP",
  "FILTER",
  "COUNT",
] as const;
/** Functions that take an index or combine two lists: what makes a problem harder. */
export const RARE_FUNCTIONS = ["ACCESS", "TAKE", "DROP", "ZIPWITH", "SCANL1"] as const;
/** Every function. */
export const ALL_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS);

/** What {@link randomProgram} draws. */
export interface ProgramShape {
  /** Least and most statements (inclusive). */
  statements: readonly [number, number];
  /** Functions allowed. */
  functions: readonly string[];
  /** When given, at least one statement uses one of these. */
  requireOneOf?: readonly string[];
}

/** A random program of `shape`, or undefined when this draw fails its constraints (the caller redraws). */
export function randomProgram(rng: Rng, shape: ProgramShape): Program | undefined {
  const [lo, hi] = shape.statements;
  const n = lo + rng.int(hi - lo + 1);
  const required = shape.requireOneOf ? rng.int(n) : -1;
  const types: Type[] = ["list"], used = new Set<number>(), statements: Statement[] = [];
  for (let s = 0; s < n; s++) {
    const pool = s === required ? shape.requireOneOf! : shape.functions;
    const fit = pool.filter((f) => FUNCTIONS[f].args.every((a) => a !== "int" || types.includes("int")));
    // Results only a later statement can consume need a list-returning or int-consuming successor: keep it simple by
    // asking the last statement for any type and the others for a type some function can read (both are).
    if (fit.length === 0) return undefined;
    const fn = fit[rng.int(fit.length)];
    const args: Arg[] = [];
    for (const slot of FUNCTIONS[fn].args) {
      if (slot === "int" || slot === "list") {
        const vars = types.flatMap((t, v) => (t === slot && !args.some((a) => "var" in a && a.var === v) ? [v] : []));
        if (vars.length === 0) return undefined;
        const fresh = vars.filter((v) => v > 0 && !used.has(v));
        const v = fresh.length > 0 && rng.uniform() < 0.85 ? fresh[fresh.length - 1] : vars[rng.int(vars.length)];
        used.add(v);
        args.push({ var: v });
      } else {
        const names = Object.keys(LAMBDAS[slot]);
        args.push({ lambda: names[rng.int(names.length)] });
      }
    }
    statements.push({ fn, args });
    types.push(FUNCTIONS[fn].returns);
  }
  for (let v = 1; v < n; v++) if (!used.has(v)) return undefined;
  return { statements, types: types.slice(1) };
}

/** A random input list: length in [lo, hi], values uniform in [−maxAbs, maxAbs]. */
export function randomInput(rng: Rng, [lo, hi]: readonly [number, number], maxAbs: number): number[] {
  const len = lo + rng.int(hi - lo + 1);
  return Array.from({ length: len }, () => rng.int(2 * maxAbs + 1) - maxAbs);
}

/** The program's outputs on `probes` ("!" for an error), one string. */
export function fingerprint(program: Program, probes: readonly number[][], stepLimit: number): string {
  return probes.map((input) => {
    const r = runProgram(program, input, stepLimit);
    return r.ok ? (typeof r.value === "number" ? `=${r.value}` : `[${formatValue(r.value)}]`) : "!";
  }).join("|");
}

/** `program` without statement `s`: its uses read `replacement` instead (a variable of the same type it read). */
function bypass(program: Program, s: number, replacement: number): Program {
  const v = s + 1; // the variable statement s defines
  const remap = (a: Arg): Arg => ("var" in a ? { var: a.var === v ? replacement : a.var > v ? a.var - 1 : a.var } : a);
  const statements = program.statements.filter((_, i) => i !== s).map((st) => ({ ...st, args: st.args.map(remap) }));
  return { statements, types: program.types.filter((_, i) => i !== s) };
}

/** Bypasses of statement s: one per variable it reads of its own result type. */
function bypasses(program: Program, s: number): Program[] {
  const st = program.statements[s], type = program.types[s];
  const typeOf = (v: number): Type => (v === 0 ? "list" : program.types[v - 1]);
  return st.args.flatMap((a) => ("var" in a && typeOf(a.var) === type ? [bypass(program, s, a.var)] : []));
}

/** Whether no statement can be bypassed (or the last dropped) without changing the outputs on `probes`. */
export function isMinimal(program: Program, probes: readonly number[][], stepLimit: number): boolean {
  const own = fingerprint(program, probes, stepLimit);
  const n = program.statements.length;
  const shorter = program.statements.flatMap((_, s) => bypasses(program, s));
  if (n > 1) shorter.push({ statements: program.statements.slice(0, -1), types: program.types.slice(0, -1) });
  return shorter.every((p) => fingerprint(p, probes, stepLimit) !== own);
}

/** Every program one edit away from `program` (see the module doc), distinct and different from it in text. */
export function mutants(program: Program): Program[] {
  const out = new Map<string, Program>(), own = formatProgram(program);
  const add = (p: Program) => {
    const t = formatProgram(p);
    if (t !== own && !out.has(t)) out.set(t, p);
  };
  const typeOf = (v: number): Type => (v === 0 ? "list" : program.types[v - 1]);
  const withStatement = (s: number, st: Statement): Program => ({
    statements: program.statements.map((x, i) => (i === s ? st : x)),
    types: program.types,
  });
  program.statements.forEach((st, s) => {
    const spec = FUNCTIONS[st.fn];
    for (const [fn, other] of Object.entries(FUNCTIONS)) {
      if (fn !== st.fn && other.returns === spec.returns && other.args.join() === spec.args.join()) {
        add(withStatement(s, { fn, args: st.args }));
      }
    }
    st.args.forEach((a, j) => {
      const replace = (b: Arg) => add(withStatement(s, { fn: st.fn, args: st.args.map((x, k) => (k === j ? b : x)) }));
      if ("lambda" in a) {
        const slot = spec.args[j] as "f" | "p" | "op";
        for (const l of Object.keys(LAMBDAS[slot])) if (l !== a.lambda) replace({ lambda: l });
      } else for (let v = 0; v <= s; v++) if (v !== a.var && typeOf(v) === typeOf(a.var)) replace({ var: v });
    });
    if (st.fn === "ZIPWITH") add(withStatement(s, { fn: st.fn, args: [st.args[0], st.args[2], st.args[1]] }));
    bypasses(program, s).forEach(add);
  });
  if (program.statements.length > 1) {
    add({ statements: program.statements.slice(0, -1), types: program.types.slice(0, -1) });
  }
  return [...out.values()];
}
