import assert from "node:assert/strict";
import { Rng } from "../../kernels/rng.ts";
import { dslWords, formatProgram } from "./dsl.ts";
import { ALL_FUNCTIONS, mutants, randomInput, randomProgram } from "./generate.ts";
import { judgeProgram, OUTCOMES, type TestCase } from "./judge.ts";

const tests: TestCase[] = [{ input: [1, 2], output: [2, 4] }, { input: [-3], output: [-6] }, {
  input: [],
  output: [],
}];

Deno.test("judge: every outcome kind", () => {
  assert.deepEqual(judgeProgram("MAP (*2) x", tests), { outcome: "passed", passed: 3, total: 3 });
  const wrong = judgeProgram("MAP (+1) x", tests);
  assert.equal(wrong.outcome, "wrong_answer");
  assert.equal(wrong.passed, 1); // the empty list
  assert.match(wrong.detail!, /test 1: expected '2 4', got '2 3'/);
  const syntax = judgeProgram("MAP x", tests);
  assert.deepEqual([syntax.outcome, syntax.passed], ["syntax_error", 0]);
  const runtime = judgeProgram("HEAD x", [{ input: [], output: 0 }]);
  assert.deepEqual([runtime.outcome, runtime.passed], ["runtime_error", 0]);
  const slow = judgeProgram("SORT x ; SORT a", [{ input: [1, 2, 3, 4], output: [1, 2, 3, 4] }], 10);
  assert.equal(slow.outcome, "step_limit");
  // An int is not a one-element list.
  assert.equal(judgeProgram("SUM x", [{ input: [5], output: [5] }]).outcome, "wrong_answer");
  // The first failing test decides the kind; later passes still count.
  const mixed = judgeProgram("HEAD x", [{ input: [], output: 1 }, { input: [2], output: 3 }, {
    input: [4],
    output: 4,
  }]);
  assert.deepEqual([mixed.outcome, mixed.passed], ["runtime_error", 1]);
});

Deno.test("judge: thousands of random token strings and random programs never throw", () => {
  const rng = new Rng(7), words = [...dslWords(), "<eos>", "", "x;", "((", "MAP(+1)"];
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));
  for (let i = 0; i < 4000; i++) {
    const len = rng.int(20);
    // Random strings over the vocabulary, biased towards keywords so some parse.
    const text = Array.from({ length: len }, () => words[rng.int(words.length)]).join(" ");
    const v = judgeProgram(text, tests, 50);
    counts[v.outcome]++;
    assert.ok(OUTCOMES.includes(v.outcome));
  }
  for (let i = 0; i < 3000; i++) {
    const p = randomProgram(rng, { statements: [1, 8], functions: ALL_FUNCTIONS });
    if (!p) continue;
    const cases = Array.from({ length: 4 }, () => ({ input: randomInput(rng, [0, 12], 99), output: 0 }));
    for (const q of [p, ...mutants(p).slice(0, 3)]) {
      const v = judgeProgram(formatProgram(q), cases, 1 + rng.int(100));
      counts[v.outcome]++;
    }
  }
  // Every kind occurs, so the fuzzing reached each path.
  for (const o of ["wrong_answer", "syntax_error", "runtime_error", "step_limit"]) {
    assert.ok(counts[o] > 0, `${o}: ${JSON.stringify(counts)}`);
  }
});
