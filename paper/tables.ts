/**
 * Markdown tables and the number formats the report uses: every cell escaped (`|` and newlines), missing values
 * written as "n/a", and a mean with its spread over seeds written as "mean ± sd (n=3)".
 * @module
 */

/** A table cell: text, a number (written with `String`), or a missing value (`null`/`undefined`, "n/a"). */
export type Cell = string | number | null | undefined;
/** Column alignment. */
export type Align = "left" | "right" | "center";

/** Escapes one cell: `|` becomes `\|` (so it cannot split the row) and newlines become `<br>`. */
export function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, "<br>").trim();
}

function cellText(c: Cell): string {
  if (c === null || c === undefined || (typeof c === "number" && Number.isNaN(c))) return "n/a";
  return escapeCell(String(c));
}

/**
 * A GitHub-flavoured Markdown table. Every row must have as many cells as the header.
 *
 * @example
 * ```ts
 * markdownTable(["method", "S.R."], [["DPO", fmtPercent(0.554)], ["PPO | tuned", "99.5%"]],
 *   { align: ["left", "right"] });
 * // | method | S.R. |
 * // | :--- | ---: |
 * // | DPO | 55.4% |
 * // | PPO \| tuned | 99.5% |
 * ```
 */
export function markdownTable(header: string[], rows: Cell[][], opts: { align?: Align[] } = {}): string {
  if (header.length === 0) throw new RangeError("A Markdown table needs at least one column; got an empty header");
  rows.forEach((r, i) => {
    if (r.length !== header.length) {
      throw new RangeError(`Markdown table row ${i} has ${r.length} cells but the header has ${header.length}`);
    }
  });
  if (opts.align && opts.align.length !== header.length) {
    throw new RangeError(`Markdown table align has ${opts.align.length} entries but the header has ${header.length}`);
  }
  const rule = header.map((_, i) => {
    const a = opts.align?.[i] ?? "left";
    return a === "right" ? "---:" : a === "center" ? ":---:" : ":---";
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header.map(cellText)), line(rule), ...rows.map((r) => line(r.map(cellText)))].join("\n") + "\n";
}

/** A number with `digits` decimals ("n/a" when missing or not finite). */
export function fmtNumber(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** A number with an explicit sign, as the paper's ΔHelp. columns ("+1.69", "-2.62"). */
export function fmtSigned(x: number | null | undefined, digits = 2): string {
  const s = fmtNumber(x, digits);
  return s !== "n/a" && !s.startsWith("-") && Number(s) !== 0 ? `+${s}` : s;
}

/** A fraction as a percentage: 0.554 becomes "55.4%". */
export function fmtPercent(fraction: number | null | undefined, digits = 1): string {
  const s = fmtNumber(fraction === null || fraction === undefined ? fraction : fraction * 100, digits);
  return s === "n/a" ? s : `${s}%`;
}

/** Mean, sample standard deviation (n - 1; 0 for one value), extremes and count of a set of per-seed results. */
export interface Spread {
  mean: number;
  sd: number;
  min: number;
  max: number;
  n: number;
}

/** The {@link Spread} of `values` (non-finite values are an error: a seed that failed must be reported, not hidden). */
export function spread(values: number[]): Spread {
  if (values.length === 0) throw new RangeError("Spread needs at least one value; got none");
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new RangeError(`Spread got a non-finite value ${values[bad]} at index ${bad}`);
  // Fixed order (left to right), so the same inputs always give the same digits.
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const sd = values.length > 1 ? Math.sqrt(ss / (values.length - 1)) : 0;
  return { mean, sd, min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** "mean ± sd (n=N)", with `percent` writing fractions as percentages. */
export function fmtSpread(s: Spread, digits = 2, opts: { percent?: boolean } = {}): string {
  const f = (x: number) => (opts.percent ? fmtPercent(x, digits) : fmtNumber(x, digits));
  return s.n > 1 ? `${f(s.mean)} ± ${f(s.sd)} (n=${s.n})` : `${f(s.mean)} (n=1)`;
}

/** A table file's content: a heading, the table, its caption and its provenance line. */
export function tableDocument(title: string, table: string, caption?: string, provenance?: string): string {
  const parts = [`### ${escapeCell(title)}`, "", table.trimEnd()];
  if (caption) parts.push("", caption.trim());
  if (provenance) parts.push("", `<sub>${provenance.trim()}</sub>`);
  return parts.join("\n") + "\n";
}
