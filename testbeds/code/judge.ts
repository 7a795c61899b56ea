/**
 * The code testbed's judge: runs a program's text against test cases and returns a structured verdict, like an
 * online judge (APPS, CodeContests): the program is parsed once (a syntax or type error fails every test), then run
 * on each test with a step limit, and its output compared with the expected one.
 *
 * The verdict's outcome is `passed` when every test passes, else the kind of the first failing test in order
 * (wrong answer, runtime error, step limit), as a judge that reports the first failure; `passed` counts every test
 * that passes. A sample's outcome kinds are what the report breaks down per method (the paper's DPO "outputs many
 * meaningless code snippets", §6.4).
 *
 * @example
 * ```ts
 * const tests = [{ input: [1, 2], output: [2, 4] }, { input: [-3], output: [-6] }];
 * judgeProgram("MAP (*2) x", tests);   // { outcome: "passed", passed: 2, total: 2 }
 * judgeProgram("MAP (+1) x", tests);   // { outcome: "wrong_answer", passed: 0, total: 2, detail: "test 1: …" }
 * judgeProgram("MAP x", tests);        // { outcome: "syntax_error", passed: 0, total: 2, detail: "token 2 …" }
 * ```
 * @module
 */
import { formatValue, parseProgram, type Program, runProgram, sameValue, STEP_LIMIT, type Value } from "./dsl.ts";

/** The kinds of verdict, in report order. */
export const OUTCOMES = ["passed", "wrong_answer", "syntax_error", "runtime_error", "step_limit"] as const;
/** A verdict's kind. */
export type Outcome = typeof OUTCOMES[number];

/** One input/output example. */
export interface TestCase {
  input: number[];
  output: Value;
}

/** A judge's verdict on one program. */
export interface Verdict {
  outcome: Outcome;
  /** Tests passed, of `total`. */
  passed: number;
  total: number;
  /** Why the first failing test failed (absent when passed). */
  detail?: string;
}

/** Judges a program (text, or already parsed) on `tests`; never throws. */
export function judgeProgram(
  program: string | Program,
  tests: readonly TestCase[],
  stepLimit = STEP_LIMIT,
): Verdict {
  const total = tests.length;
  let parsed: Program;
  if (typeof program === "string") {
    const p = parseProgram(program);
    if (!p.ok) return { outcome: "syntax_error", passed: 0, total, detail: p.error };
    parsed = p.program;
  } else parsed = program;
  let passed = 0, first: { outcome: Outcome; detail: string } | undefined;
  tests.forEach((t, i) => {
    const r = runProgram(parsed, t.input, stepLimit);
    if (r.ok && sameValue(r.value, t.output)) passed++;
    else if (!first) {
      first = r.ok
        ? {
          outcome: "wrong_answer",
          detail: `test ${i + 1}: expected '${formatValue(t.output)}', got '${formatValue(r.value)}'`,
        }
        : { outcome: r.kind, detail: `test ${i + 1}: ${r.error}` };
    }
  });
  return first ? { ...first, passed, total } : { outcome: "passed", passed, total };
}
