import assert from "node:assert/strict";
import { dslWords, formatProgram, parseProgram, runProgram, type RunResult, type Value, VMAX } from "./dsl.ts";

/** Runs `text` on `input`; the test fails if it does not parse. */
function run(text: string, input: number[], stepLimit?: number): RunResult {
  const p = parseProgram(text);
  if (!p.ok) throw new Error(`'${text}' did not parse: ${p.error}`);
  return runProgram(p.program, input, stepLimit);
}
const value = (text: string, input: number[]): Value => {
  const r = run(text, input);
  if (!r.ok) throw new Error(`'${text}' on [${input}] failed: ${r.error}`);
  return r.value;
};

Deno.test("dsl: every function on hand-computed cases", () => {
  const xs = [3, -1, 4, -5, 2];
  const cases: [string, Value][] = [
    ["HEAD x", 3],
    ["LAST x", 2],
    ["MINIMUM x", -5],
    ["MAXIMUM x", 4],
    ["SUM x", 3],
    ["REVERSE x", [2, -5, 4, -1, 3]],
    ["SORT x", [-5, -1, 2, 3, 4]],
    ["HEAD x ; ACCESS a x", -5], // x[3]
    ["HEAD x ; TAKE a x", [3, -1, 4]],
    ["HEAD x ; DROP a x", [-5, 2]],
    ["MINIMUM x ; TAKE a x", []], // n < 0 clamps to 0
    ["MAXIMUM x ; DROP a x", [2]],
    ["MAXIMUM x ; ACCESS a x", 2], // x[4]
    ["MAP (+1) x", [4, 0, 5, -4, 3]],
    ["MAP (-1) x", [2, -2, 3, -6, 1]],
    ["MAP (*2) x", [6, -2, 8, -10, 4]],
    ["MAP (/2) x", [1, -1, 2, -3, 1]], // floor division
    ["MAP (*-1) x", [-3, 1, -4, 5, -2]],
    ["MAP (^2) x", [9, 1, 16, 25, 4]],
    ["MAP (*3) x", [9, -3, 12, -15, 6]],
    ["MAP (/3) x", [1, -1, 1, -2, 0]],
    ["MAP (*4) x", [12, -4, 16, -20, 8]],
    ["MAP (/4) x", [0, -1, 1, -2, 0]],
    ["FILTER (>0) x", [3, 4, 2]],
    ["FILTER (<0) x", [-1, -5]],
    ["FILTER (even) x", [4, 2]],
    ["FILTER (odd) x", [3, -1, -5]],
    ["COUNT (odd) x", 3],
    ["COUNT (>0) x", 3],
    ["SORT x ; ZIPWITH (+) x a", [-2, -2, 6, -2, 6]],
    ["SORT x ; ZIPWITH (-) x a", [8, 0, 2, -8, -2]],
    ["SORT x ; ZIPWITH (*) x a", [-15, 1, 8, -15, 8]],
    ["SORT x ; ZIPWITH (min) x a", [-5, -1, 2, -5, 2]],
    ["FILTER (>0) x ; ZIPWITH (max) x a", [3, 4, 4]], // as long as the shorter list
    ["SCANL1 (+) x", [3, 2, 6, 1, 3]],
    ["SCANL1 (-) x", [3, 4, 0, 5, 3]],
    ["SCANL1 (*) x", [3, -3, -12, 60, 120].map((v) => v)], // checked below for range
    ["SCANL1 (min) x", [3, -1, -1, -5, -5]],
    ["SCANL1 (max) x", [3, 3, 4, 4, 4]],
    ["FILTER (>0) x ; MAP (*2) a ; SUM b", 18],
  ];
  for (const [text, want] of cases) {
    if (text === "SCANL1 (*) x") continue; // 120 > VMAX: see the runtime-error test
    assert.deepEqual(value(text, xs), want, text);
  }
  assert.deepEqual(value("SUM x", []), 0);
  assert.deepEqual(value("SCANL1 (+) x", []), []);
  assert.deepEqual(value("REVERSE x", []), []);
});

Deno.test("dsl: runtime errors (empty list, index, range) are structured, never thrown", () => {
  for (const fn of ["HEAD", "LAST", "MINIMUM", "MAXIMUM"]) {
    const r = run(`${fn} x`, []);
    assert.ok(!r.ok && r.kind === "runtime_error" && /empty list/.test(r.error), fn);
  }
  const idx = run("HEAD x ; ACCESS a x", [7, 1]);
  assert.ok(!idx.ok && idx.kind === "runtime_error" && /index 7 outside a list of 2/.test(idx.error));
  const neg = run("MINIMUM x ; ACCESS a x", [-1, 1]);
  assert.ok(!neg.ok && neg.kind === "runtime_error");
  const big = run("SCANL1 (*) x", [3, -1, 4, -5, 2]);
  assert.ok(!big.ok && big.kind === "runtime_error" && big.error.includes(`outside ±${VMAX}`), JSON.stringify(big));
  const sq = run("MAP (^2) x ; MAP (^2) a", [4]); // 256
  assert.ok(!sq.ok && sq.kind === "runtime_error");
  assert.ok(run("MAP (*-1) x", [VMAX, -VMAX]).ok); // the range is symmetric and inclusive
});

Deno.test("dsl: the step limit", () => {
  const text = "SORT x ; REVERSE a ; MAP (+1) b";
  const input = [1, 2, 3, 4];
  const r = run(text, input);
  assert.ok(r.ok);
  // SORT 1 + 4·⌈log2 5⌉ = 13, REVERSE 1 + 4 = 5, MAP 1 + 4 = 5.
  assert.equal(r.steps, 23);
  assert.ok(run(text, input, 23).ok);
  const cut = run(text, input, 22);
  assert.ok(!cut.ok && cut.kind === "step_limit" && /statement 3: over 22 steps/.test(cut.error));
});

Deno.test("dsl: syntax and type errors name the token", () => {
  const bad: [string, RegExp][] = [
    ["", /empty program/],
    ["   ", /empty program/],
    ["FOO x", /token 1 'FOO': expected a function name/],
    ["MAP x", /token 2 'x': expected a lambda of kind f/],
    ["MAP (>0) x", /token 2 '\(>0\)': expected a lambda of kind f/],
    ["SUM a", /token 2 'a': expected a list variable/],
    ["SUM x ; TAKE a", /token 6 'end': expected a list variable/],
    ["SUM x ; SUM a", /token 5 'a': expected a list variable/], // a is an int
    ["TAKE x x", /token 2 'x': expected an int variable/],
    ["SUM x SUM x", /token 3 'SUM': expected ';' or the end/],
    ["SUM x ;", /token 4 'end': expected a function name/],
    ["3 4", /expected a function name/],
    [Array(9).fill("REVERSE x").join(" ; "), /more than 8 statements/],
    ["constructor x", /expected a function name/],
  ];
  for (const [text, re] of bad) {
    const p = parseProgram(text);
    assert.ok(!p.ok, text);
    assert.match(p.error, re, text);
  }
  assert.ok(!parseProgram(42 as unknown as string).ok);
});

Deno.test("dsl: formatProgram round-trips and the vocabulary covers every token", () => {
  const text = "SORT x ; ZIPWITH (max) x a ; FILTER (even) b ; COUNT (odd) c";
  const p = parseProgram(`  ${text.replaceAll(" ", "   ")} `);
  assert.ok(p.ok);
  assert.equal(formatProgram(p.program), text);
  assert.deepEqual(p.program.types, ["list", "list", "list", "int"]);
  const words = new Set(dslWords());
  assert.equal(words.size, dslWords().length, "no word twice");
  for (const w of text.split(" ")) assert.ok(words.has(w), w);
  for (const w of ["in", "->", "=", String(VMAX), String(-VMAX), "0"]) assert.ok(words.has(w), w);
});
