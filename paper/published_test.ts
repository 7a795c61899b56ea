import assert from "node:assert/strict";
import {
  PUBLISHED_TABLES,
  publishedMarkdown,
  publishedTable,
  publishedValue,
  SYNTHETIC_UNCOVERED,
} from "./published.ts";

Deno.test("published tables: every table of the paper, each row as wide as its columns, each with a source", () => {
  const ids = PUBLISHED_TABLES.map((t) => t.id);
  assert.deepEqual(ids, ["table1", "figure1", ...Array.from({ length: 13 }, (_, i) => `table${i + 2}`)]);
  for (const t of PUBLISHED_TABLES) {
    assert.match(t.source, /^(Table \d+|Figure 1) \(.*PAPER\.md §\d/, `${t.id} source`);
    for (const r of t.rows) {
      assert.equal(r.key.length, t.keyColumns.length, `${t.id} ${r.key} key`);
      assert.equal(r.values.length, t.columns.length, `${t.id} ${r.key} values`);
      assert.equal(r.printed.length, t.columns.length, `${t.id} ${r.key} printed`);
    }
  }
});

Deno.test("published values: spot checks against the paper's text, and its own cross-references", () => {
  assert.equal(publishedValue("table2", "DPO", "S.R."), 55.4);
  assert.equal(publishedValue("table8", ["Code Llama 34B", "PPO"], "Test Set 10@1k"), 22.4);
  assert.equal(publishedValue("table8", ["AlphaCode 41B", "+ clustering"], "Test Set 10@1k"), 16.4);
  assert.deepEqual([SYNTHETIC_UNCOVERED.before, SYNTHETIC_UNCOVERED.after], [0.11, 0.23]);
  assert.equal(publishedValue("table6", "Beaver", "ΔHelp."), null);
  // PAPER.md §6.2: Table 6's Llama-2 DPO / DPO-Iter / PPO rows repeat Table 2's rows.
  for (const col of ["ΔHelp.", "Harm.", "S.R."]) {
    assert.equal(
      publishedValue("table6", ["Llama 2 7B", "DPO"], col),
      publishedValue("table2", "DPO + filter dual-safe", col),
    );
    assert.equal(
      publishedValue("table6", ["Llama 2 7B", "DPO-Iter"], col),
      publishedValue("table2", "DPO Iter.4", col),
    );
    assert.equal(publishedValue("table6", ["Llama 2 7B", "PPO"], col), publishedValue("table2", "PPO", col));
    assert.equal(
      publishedValue("table10", ["DPO", "Llama2-7B-SFT (Safe)"], col),
      publishedValue("table2", "DPO + SFT (Safe)", col),
    );
  }
  // PAPER.md §5.3: Table 3's last row is Table 7's 34B PPO row; §7: Table 11's 15.1% is the problem-weighted mean of
  // Table 7's 13B PPO row over APPS's 1000/3000/1000 test problems.
  assert.equal(
    publishedValue("table3", "+ Ref.EMA", "APPS Inter. pass@5"),
    publishedValue("table7", ["Code Llama 34B", "PPO"], "Inter."),
  );
  const [i, m, c] = ["Intro.", "Inter.", "Comp."].map((k) => publishedValue("table7", ["Code Llama 13B", "PPO"], k)!);
  assert.equal(
    Math.round(((i + 3 * m + c) / 5) * 10) / 10,
    publishedValue("table11", "APPS, Codellama-13B — PPO", "β = 0.1 (default)"),
  );
});

Deno.test("published lookups: an unknown table, row or column is an error that lists what exists", () => {
  assert.throws(() => publishedTable("table99"), /No published table 'table99'; known: table1, figure1, table2/);
  assert.throws(() => publishedValue("table2", "DPO Iter.9", "S.R."), /row 'DPO Iter.9' matches 0 rows.*DPO Iter.4/);
  assert.throws(() => publishedValue("table7", "PPO", "Intro."), /matches 3 rows/);
  assert.throws(() => publishedValue("table2", "DPO", "SR"), /no column 'SR'; columns: ΔHelp., Harm., S.R./);
});

Deno.test("publishedMarkdown prints cells as the paper does, with arrows, % and n/a", () => {
  const md = publishedMarkdown(publishedTable("table2"));
  assert.match(md, /^\| Method \| ΔHelp\. ↑ \| Harm\. ↓ \| S\.R\. ↑ \|/);
  assert.match(md, /\| SFT \(Alpaca\) \| -2\.62 \| 1\.50 \| 41\.6% \|/);
  assert.match(publishedMarkdown(publishedTable("table6")), /\| Llama 1 7B \| PPO \| \+0\.66 \| -10\.22 \| 98\.6% \|/);
  assert.match(publishedMarkdown(publishedTable("table11")), /\| HH-RLHF, Llama-7B — DPO \| N\/A \| 0\.609 \|/);
  assert.match(md, /_Paper, Table 2 \(§4\.3; PAPER\.md §4\.2\):_/);
});
