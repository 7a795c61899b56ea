import assert from "node:assert/strict";
import {
  escapeCell,
  fmtNumber,
  fmtPercent,
  fmtSigned,
  fmtSpread,
  markdownTable,
  spread,
  tableDocument,
} from "./tables.ts";

Deno.test("markdownTable escapes | and newlines so a cell cannot split its row", () => {
  const md = markdownTable(["method", "note"], [["PPO | tuned", "line one\nline two"], ["DPO", null]], {
    align: ["left", "right"],
  });
  assert.equal(
    md,
    "| method | note |\n| :--- | ---: |\n| PPO \\| tuned | line one<br>line two |\n| DPO | n/a |\n",
  );
  // Every row still has exactly as many unescaped separators as the header.
  for (const line of md.trim().split("\n")) assert.equal(line.replace(/\\\|/g, "").split("|").length, 4);
  assert.equal(escapeCell("a|b|c"), "a\\|b\\|c");
});

Deno.test("markdownTable rejects ragged rows and a wrong align length", () => {
  assert.throws(() => markdownTable(["a", "b"], [["1"]]), /row 0 has 1 cells but the header has 2/);
  assert.throws(() => markdownTable(["a"], [], { align: ["left", "right"] }), /align has 2 entries/);
  assert.throws(() => markdownTable([], []), RangeError);
});

Deno.test("number formats: fixed digits, signs, percentages, missing values", () => {
  assert.equal(fmtNumber(0.12345, 3), "0.123");
  assert.equal(fmtNumber(-0.0001, 2), "0.00");
  assert.equal(fmtNumber(NaN), "n/a");
  assert.equal(fmtNumber(null), "n/a");
  assert.equal(fmtSigned(1.689), "+1.69");
  assert.equal(fmtSigned(-2.62), "-2.62");
  assert.equal(fmtSigned(0), "0.00");
  assert.equal(fmtPercent(0.554), "55.4%");
  assert.equal(fmtPercent(undefined), "n/a");
});

Deno.test("spread: mean, sample standard deviation, extremes; non-finite values are an error", () => {
  const s = spread([1, 2, 3, 6]);
  assert.equal(s.mean, 3);
  assert.ok(Math.abs(s.sd - Math.sqrt(14 / 3)) < 1e-12);
  assert.deepEqual([s.min, s.max, s.n], [1, 6, 4]);
  assert.equal(spread([5]).sd, 0);
  assert.equal(fmtSpread(spread([0.2, 0.3, 0.25])), "0.25 ± 0.05 (n=3)");
  assert.equal(fmtSpread(spread([0.2, 0.3, 0.25]), 1, { percent: true }), "25.0% ± 5.0% (n=3)");
  assert.equal(fmtSpread(spread([0.5])), "0.50 (n=1)");
  assert.throws(() => spread([1, NaN]), /non-finite value NaN at index 1/);
  assert.throws(() => spread([]), RangeError);
});

Deno.test("tableDocument: heading, table, caption and provenance", () => {
  const doc = tableDocument("Table 2 | ours", "| a |\n| :--- |\n| 1 |\n", "Caption.", "made by `x` at commit c on cpu");
  assert.equal(
    doc,
    "### Table 2 \\| ours\n\n| a |\n| :--- |\n| 1 |\n\nCaption.\n\n<sub>made by `x` at commit c on cpu</sub>\n",
  );
});
