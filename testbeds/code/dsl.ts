/**
 * The code testbed's language: integer-list programs in the spirit of DeepCoder's DSL (Balog et al., ICLR 2017;
 * TESTBEDS.md §1), one token per keyword, variable and number so that a problem and its program fit the `xs`
 * context.
 *
 * ## Grammar
 *
 * ```
 * program   := statement (";" statement)*              at most MAX_STATEMENTS statements
 * statement := FUNCTION argument*                      the arity and argument kinds of FUNCTION (table below)
 * argument  := variable | lambda
 * variable  := "x"                                     the input list
 *            | "a" | "b" | … | "h"                     the result of statement 1, 2, … (only earlier ones)
 * lambda    := "(+1)" | "(-1)" | "(*2)" | "(/2)" | "(*-1)" | "(^2)" | "(*3)" | "(/3)" | "(*4)" | "(/4)"   (f)
 *            | "(>0)" | "(<0)" | "(even)" | "(odd)"                                                      (p)
 *            | "(+)" | "(-)" | "(*)" | "(min)" | "(max)"                                                 (op)
 * ```
 * Tokens are separated by whitespace. The program's output is the value of its last statement.
 *
 * ## Semantics (int = integer in [−VMAX, VMAX], list = list of ints)
 *
 * | function | arguments | result |
 * | --- | --- | --- |
 * | HEAD, LAST | list | first, last element; error on an empty list |
 * | MINIMUM, MAXIMUM | list | least, greatest element; error on an empty list |
 * | SUM | list | the sum (0 for an empty list) |
 * | ACCESS | int n, list | element n (0-based); error unless 0 ≤ n < length |
 * | TAKE, DROP | int n, list | the first n elements / all but the first n, n clamped to [0, length] |
 * | REVERSE, SORT | list | reversed / ascending |
 * | MAP | f, list | f applied to each element |
 * | FILTER, COUNT | p, list | the elements satisfying p / how many do |
 * | ZIPWITH | op, list, list | op on aligned pairs, as long as the shorter list |
 * | SCANL1 | op, list | running fold: y0 = x0, yi = op(y(i−1), xi) |
 *
 * Division is floor division (DeepCoder's, Python's `//`): (/2) of −3 is −2. Any value outside [−VMAX, VMAX] is a
 * runtime error, as DeepCoder's null. Argument kinds and types are checked before running (a program that reads a
 * later variable, gives a lambda where a list is expected or has the wrong arity is a syntax error, the testbed's
 * compile error). Each statement costs one step plus the length of each list it reads (SORT n·⌈log2 n⌉); a run that
 * exceeds its step limit stops with `step_limit`, as a judge's time limit.
 *
 * Nothing here throws on a program: {@link parseProgram} and {@link runProgram} return structured results.
 *
 * @example
 * ```ts
 * const p = parseProgram("FILTER (>0) x ; MAP (*2) a ; SUM b");
 * if (p.ok) runProgram(p.program, [3, -1, 4]); // { ok: true, value: 14, steps: 10 }
 * parseProgram("SUM y"); // { ok: false, error: "token 2 'y': expected a list variable" }
 * ```
 * @module
 */

/** Largest absolute value of any int (inputs, intermediates, outputs). */
export const VMAX = 99;
/** Most statements in a program (variables a … h). */
export const MAX_STATEMENTS = 8;
/** Default step limit of a run. */
export const STEP_LIMIT = 200;

/** A runtime value. */
export type Value = number | number[];
/** Static type of a variable. */
export type Type = "int" | "list";
/** Kind of an argument slot. */
export type Slot = Type | "f" | "p" | "op";

/** The unary functions (f), predicates (p) and binary operators (op) by token. */
export const LAMBDAS = {
  f: {
    "(+1)": (v: number) => v + 1,
    "(-1)": (v: number) => v - 1,
    "(*2)": (v: number) => v * 2,
    "(/2)": (v: number) => Math.floor(v / 2),
    "(*-1)": (v: number) => -v,
    "(^2)": (v: number) => v * v,
    "(*3)": (v: number) => v * 3,
    "(/3)": (v: number) => Math.floor(v / 3),
    "(*4)": (v: number) => v * 4,
    "(/4)": (v: number) => Math.floor(v / 4),
  },
  p: {
    "(>0)": (v: number) => v > 0,
    "(<0)": (v: number) => v < 0,
    "(even)": (v: number) => v % 2 === 0,
    "(odd)": (v: number) => v % 2 !== 0,
  },
  op: {
    "(+)": (a: number, b: number) => a + b,
    "(-)": (a: number, b: number) => a - b,
    "(*)": (a: number, b: number) => a * b,
    "(min)": (a: number, b: number) => Math.min(a, b),
    "(max)": (a: number, b: number) => Math.max(a, b),
  },
} as const;

/** Each function's argument slots and result type. */
export const FUNCTIONS: Readonly<Record<string, { args: readonly Slot[]; returns: Type }>> = {
  HEAD: { args: ["list"], returns: "int" },
  LAST: { args: ["list"], returns: "int" },
  MINIMUM: { args: ["list"], returns: "int" },
  MAXIMUM: { args: ["list"], returns: "int" },
  SUM: { args: ["list"], returns: "int" },
  ACCESS: { args: ["int", "list"], returns: "int" },
  TAKE: { args: ["int", "list"], returns: "list" },
  DROP: { args: ["int", "list"], returns: "list" },
  REVERSE: { args: ["list"], returns: "list" },
  SORT: { args: ["list"], returns: "list" },
  MAP: { args: ["f", "list"], returns: "list" },
  FILTER: { args: ["p", "list"], returns: "list" },
  COUNT: { args: ["p", "list"], returns: "int" },
  ZIPWITH: { args: ["op", "list", "list"], returns: "list" },
  SCANL1: { args: ["op", "list"], returns: "list" },
};

/** Variable tokens: the input, then one per statement. */
export const VARIABLES = ["x", "a", "b", "c", "d", "e", "f", "g", "h"] as const;

/** An argument: a variable (0 = the input x, i = statement i's result) or a lambda token. */
export type Arg = { var: number } | { lambda: string };
/** One statement: a function and its arguments. */
export interface Statement {
  fn: string;
  args: Arg[];
}
/** A parsed, type-checked program with each statement's result type. */
export interface Program {
  statements: Statement[];
  types: Type[];
}

/** What {@link parseProgram} returns. */
export type ParseResult = { ok: true; program: Program } | { ok: false; error: string };
/** What {@link runProgram} returns. */
export type RunResult =
  | { ok: true; value: Value; steps: number }
  | { ok: false; kind: "runtime_error" | "step_limit"; error: string; steps: number };

const SLOT_OF_LAMBDA = new Map<string, Slot>(
  (["f", "p", "op"] as const).flatMap((k) => Object.keys(LAMBDAS[k]).map((t) => [t, k] as [string, Slot])),
);

/** Parses and type-checks `text`; never throws. */
export function parseProgram(text: string): ParseResult {
  if (typeof text !== "string") return { ok: false, error: "program is not a string" };
  const tokens = text.trim() === "" ? [] : text.trim().split(/\s+/);
  if (tokens.length === 0) return { ok: false, error: "empty program" };
  const statements: Statement[] = [], types: Type[] = ["list"];
  let i = 0;
  const fail = (what: string) => ({ ok: false as const, error: `token ${i + 1} '${tokens[i] ?? "end"}': ${what}` });
  while (true) {
    if (statements.length === MAX_STATEMENTS) return fail(`more than ${MAX_STATEMENTS} statements`);
    const fn = tokens[i], spec = Object.hasOwn(FUNCTIONS, fn) ? FUNCTIONS[fn] : undefined;
    if (!spec) return fail("expected a function name");
    i++;
    const args: Arg[] = [];
    for (const slot of spec.args) {
      const t = tokens[i];
      if (slot === "int" || slot === "list") {
        const v = VARIABLES.indexOf(t as typeof VARIABLES[number]);
        if (v < 0 || v >= types.length || types[v] !== slot) {
          return fail(`expected ${slot === "int" ? "an" : "a"} ${slot} variable`);
        }
        args.push({ var: v });
      } else {
        if (SLOT_OF_LAMBDA.get(t) !== slot) return fail(`expected a lambda of kind ${slot}`);
        args.push({ lambda: t });
      }
      i++;
    }
    statements.push({ fn, args });
    types.push(spec.returns);
    if (i === tokens.length) break;
    if (tokens[i] !== ";") return fail("expected ';' or the end");
    i++;
  }
  return { ok: true, program: { statements, types: types.slice(1) } };
}

/** Runs `program` on the input list; never throws. */
export function runProgram(program: Program, input: readonly number[], stepLimit = STEP_LIMIT): RunResult {
  const env: Value[] = [[...input]];
  let steps = 0;
  const err = (kind: "runtime_error" | "step_limit", error: string) => ({ ok: false as const, kind, error, steps });
  for (let s = 0; s < program.statements.length; s++) {
    const { fn, args } = program.statements[s];
    const vals = args.map((a) => ("var" in a ? env[a.var] : a.lambda));
    const lists = vals.filter((v): v is number[] => Array.isArray(v));
    steps += 1 +
      lists.reduce((n, l) => n + (fn === "SORT" ? l.length * Math.ceil(Math.log2(l.length + 1)) : l.length), 0);
    if (steps > stepLimit) return err("step_limit", `statement ${s + 1}: over ${stepLimit} steps`);
    const out = apply(fn, vals);
    if (typeof out === "string") return err("runtime_error", `statement ${s + 1} (${fn}): ${out}`);
    const bad = typeof out === "number"
      ? (Math.abs(out) > VMAX ? out : undefined)
      : out.find((v) => Math.abs(v) > VMAX);
    if (bad !== undefined) return err("runtime_error", `statement ${s + 1} (${fn}): value ${bad} outside ±${VMAX}`);
    env.push(out);
  }
  return { ok: true, value: env[env.length - 1], steps };
}

/** One function on checked arguments; a string is a runtime error's message. */
function apply(fn: string, v: (Value | string)[]): Value | string {
  const l = v[v.length - 1] as number[];
  switch (fn) {
    case "HEAD":
      return l.length ? l[0] : "empty list";
    case "LAST":
      return l.length ? l[l.length - 1] : "empty list";
    case "MINIMUM":
      return l.length ? Math.min(...l) : "empty list";
    case "MAXIMUM":
      return l.length ? Math.max(...l) : "empty list";
    case "SUM":
      return l.reduce((a, b) => a + b, 0);
    case "ACCESS": {
      const n = v[0] as number;
      return n >= 0 && n < l.length ? l[n] : `index ${n} outside a list of ${l.length}`;
    }
    case "TAKE":
      return l.slice(0, clamp(v[0] as number, l.length));
    case "DROP":
      return l.slice(clamp(v[0] as number, l.length));
    case "REVERSE":
      return [...l].reverse();
    case "SORT":
      return [...l].sort((a, b) => a - b);
    case "MAP":
      return l.map(LAMBDAS.f[v[0] as keyof typeof LAMBDAS.f]);
    case "FILTER":
      return l.filter(LAMBDAS.p[v[0] as keyof typeof LAMBDAS.p]);
    case "COUNT":
      return l.filter(LAMBDAS.p[v[0] as keyof typeof LAMBDAS.p]).length;
    case "ZIPWITH": {
      const op = LAMBDAS.op[v[0] as keyof typeof LAMBDAS.op], a = v[1] as number[];
      return Array.from({ length: Math.min(a.length, l.length) }, (_, i) => op(a[i], l[i]));
    }
    case "SCANL1": {
      const op = LAMBDAS.op[v[0] as keyof typeof LAMBDAS.op], out: number[] = [];
      l.forEach((x, i) => out.push(i === 0 ? x : op(out[i - 1], x)));
      return out;
    }
  }
  return `unknown function ${fn}`;
}

const clamp = (n: number, len: number) => Math.max(0, Math.min(n, len));

/** The canonical text of a program (tokens joined by single spaces). */
export function formatProgram(program: Program): string {
  return program.statements.map((s) =>
    [s.fn, ...s.args.map((a) => ("var" in a ? VARIABLES[a.var] : a.lambda))].join(" ")
  ).join(" ; ");
}

/** A value as prompt text: an int as itself, a list as its elements (empty: nothing). */
export function formatValue(v: Value): string {
  return typeof v === "number" ? String(v) : v.join(" ");
}

/** Whether two values are equal (same type and elements). */
export function sameValue(a: Value, b: Value): boolean {
  if (typeof a === "number" || typeof b === "number") return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Every word of the language and of its prompts (the tokenizer's vocabulary, specials excluded). */
export function dslWords(): string[] {
  const numbers = Array.from({ length: 2 * VMAX + 1 }, (_, i) => String(i - VMAX));
  const lambdas = (["f", "p", "op"] as const).flatMap((k) => Object.keys(LAMBDAS[k]));
  return [...Object.keys(FUNCTIONS), ...lambdas, ...VARIABLES, ";", "in", "->", "=", ...numbers];
}
