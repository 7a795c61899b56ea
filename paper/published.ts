/**
 * The paper's published numbers (Xu et al., ICML 2024), transcribed from the project's digest
 * (/work/shared/PAPER.md, which gives each table's layout and caption), typed, each with its source, so a report
 * section can put the paper's number beside ours. Percentages are kept as the paper prints them (41.6 means 41.6%,
 * column unit "%"); "-" and "N/A" cells are `null`. Nothing here is ever used to tune a run.
 * @module
 */
import { markdownTable } from "./tables.ts";

import { type PublishedRow, type PublishedTable, TABLES_BENCHMARKS, TABLES_STUDY } from "./published_tables.ts";

export type { PublishedColumn, PublishedRow, PublishedTable } from "./published_tables.ts";

/** The probability DPO gives the red-circled uncovered cells of Figure 1 (§4.2 text): 0.11 under π_ref, 0.23 after. */
export const SYNTHETIC_UNCOVERED = {
  before: 0.11,
  after: 0.23,
  source: "Figure 1 (§4.2 text; PAPER.md §3.5)",
} as const;

/** Every published table, in paper order. */
export const PUBLISHED_TABLES: readonly PublishedTable[] = [...TABLES_STUDY, ...TABLES_BENCHMARKS];

/** A published table by id ("table1" ... "table14", "figure1"); an unknown id is an error listing the known ones. */
export function publishedTable(id: string): PublishedTable {
  const t = PUBLISHED_TABLES.find((t) => t.id === id);
  if (!t) throw new RangeError(`No published table '${id}'; known: ${PUBLISHED_TABLES.map((t) => t.id).join(", ")}`);
  return t;
}

/**
 * One published number, by table id, row key (the label cells, or the last one alone when it is unique) and
 * column name. A key or column that is not in the table is an error naming what exists, so a typo cannot pass.
 *
 * @example
 * ```ts
 * publishedValue("table2", "DPO", "S.R.");              // 55.4 (percent)
 * publishedValue("table7", ["Code Llama 13B", "PPO"], "Intro."); // 36.4
 * ```
 */
export function publishedValue(id: string, key: string | string[], column: string): number | null {
  const t = publishedTable(id);
  const want = Array.isArray(key) ? key : [key];
  const rows = t.rows.filter((r) => want.every((k, i) => r.key[r.key.length - want.length + i] === k));
  if (rows.length !== 1) {
    const known = t.rows.map((r) => r.key.join(" / ")).join("; ");
    throw new RangeError(
      `${t.id}: row '${want.join(" / ")}' matches ${rows.length} rows (it must match one); rows: ${known}`,
    );
  }
  const c = t.columns.findIndex((c) => c.name === column);
  if (c < 0) {
    throw new RangeError(`${t.id}: no column '${column}'; columns: ${t.columns.map((c) => c.name).join(", ")}`);
  }
  return rows[0].values[c];
}

/** A published cell as the paper prints it, with "%" on percentage columns. */
export function fmtPublished(t: PublishedTable, row: PublishedRow, col: number): string {
  const p = row.printed[col];
  return row.values[col] !== null && t.columns[col].unit === "%" ? `${p}%` : p;
}

/** The published table as Markdown, with its source and caption. */
export function publishedMarkdown(t: PublishedTable): string {
  const header = [
    ...t.keyColumns,
    ...t.columns.map((c) => c.name + (c.better === "higher" ? " ↑" : c.better ? " ↓" : "")),
  ];
  const rows = t.rows.map((r) => [...r.key, ...r.printed.map((_, i) => fmtPublished(t, r, i))]);
  const align = header.map((_, i) => (i < t.keyColumns.length ? "left" : "right") as "left" | "right");
  const notes = (t.notes ?? []).map((n) => `\n_Note:_ ${n}`).join("\n");
  return `${markdownTable(header, rows, { align })}\n_Paper, ${t.source}:_ ${t.caption}\n${notes}`;
}
