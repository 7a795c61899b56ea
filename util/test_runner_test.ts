import assert from "node:assert/strict";
import { testOutcome } from "./test_runner.ts";

const passed = "a_test.ts => x ... ok (1ms)\n\nok | 292 passed | 0 failed (1m59s)\n\n";
const failedRun = "a_test.ts => x ... FAILED (1ms)\n\nFAILED | 291 passed | 1 failed (1m59s)\n\n";

Deno.test("test runner: a clean exit passes through, any failing status stays failing", () => {
  assert.deepEqual(testOutcome(passed, 0, null), { code: 0 });
  assert.deepEqual(testOutcome(failedRun, 1, null), { code: 1 });
  assert.deepEqual(testOutcome(passed, 1, null), { code: 1 }); // e.g. a type error after the summary
});

Deno.test("test runner: SIGABRT after a passing summary is the exit-time EGL race, reported and passed", () => {
  const o = testOutcome(passed, 134, "SIGABRT");
  assert.equal(o.code, 0);
  assert.match(o.note!, /all 292 tests passed; Deno then aborted while exiting/);
  // Colours as Deno prints them without NO_COLOR.
  const coloured = "\x1b[0m\x1b[32mok\x1b[0m | 5 passed | 0 failed \x1b[0m\x1b[38;5;245m(13s)\x1b[0m\n";
  assert.equal(testOutcome(coloured, 134, "SIGABRT").code, 0);
  assert.equal(testOutcome("ok | 5 passed (3 steps) | 0 failed (13s)\n", 134, "SIGABRT").code, 0);
});

Deno.test("test runner: an abort before the summary, after a failing one, or with output after it fails", () => {
  assert.equal(testOutcome("a_test.ts => x ... ok (1ms)\n", 134, "SIGABRT").code, 134);
  assert.equal(testOutcome(failedRun, 134, "SIGABRT").code, 134);
  assert.equal(testOutcome(passed + "b_test.ts => y ... \n", 134, "SIGABRT").code, 134);
  assert.equal(testOutcome(passed, 139, "SIGSEGV").code, 139);
  assert.equal(testOutcome(passed, 0, "SIGKILL").code, 1);
});
