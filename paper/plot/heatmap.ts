/**
 * Heat-maps: a grid of coloured cells with value labels, optional circled cells (Figure 1 of the paper circles
 * the (prompt, response) cells that the preference data does not cover, §4.2), and a colour bar.
 * @module
 */
import {
  color as d3color,
  extent,
  format,
  interpolateBlues,
  interpolateGreens,
  interpolateGreys,
  interpolateMagma,
  interpolateOranges,
  interpolatePurples,
  interpolateRdBu,
  interpolateReds,
  interpolateViridis,
  scaleSequential,
} from "d3";
import { textWidth } from "./font.ts";
import { type Figure, frame, type FrameText, INK, newGroup, serializeInner, SIZE } from "./svg.ts";

/** Colour schemes (d3-scale-chromatic); `rdbu` is diverging and centred on 0 unless a domain is given. */
export const SCHEMES = {
  blues: interpolateBlues,
  greens: interpolateGreens,
  oranges: interpolateOranges,
  reds: interpolateReds,
  purples: interpolatePurples,
  greys: interpolateGreys,
  viridis: interpolateViridis,
  magma: interpolateMagma,
  rdbu: interpolateRdBu,
} as const;
/** A name from {@link SCHEMES}. */
export type ColorScheme = keyof typeof SCHEMES;

/** A cell to circle, e.g. an uncovered (prompt, response) pair. */
export interface HeatmapMark {
  row: number;
  col: number;
  /** Circle colour (default red, as the paper's red circles). */
  color?: string;
}

/** Options of {@link heatmap}. */
export interface HeatmapOptions extends FrameText {
  /** Row labels, top to bottom. */
  rows: string[];
  /** Column labels, left to right. */
  cols: string[];
  /** values[row][col]; a non-finite value is drawn as an empty grey cell. */
  values: number[][];
  /** Axis titles. */
  rowTitle?: string;
  colTitle?: string;
  marked?: HeatmapMark[];
  scheme?: ColorScheme;
  /** Colour domain [low, high]; default the values' range (symmetric about 0 for `rdbu`). */
  domain?: [number, number];
  /** Write each value in its cell (default true), with this d3-format specifier (default ".2f"). */
  labels?: boolean;
  format?: string;
  /** Cell side in pixels (default 34). */
  cell?: number;
  /** Draw the colour bar (default true). */
  legend?: boolean;
}

function check(o: HeatmapOptions): void {
  if (o.rows.length === 0 || o.cols.length === 0) {
    throw new RangeError(`Heat-map needs at least one row and one column; got ${o.rows.length} x ${o.cols.length}`);
  }
  if (o.values.length !== o.rows.length || o.values.some((r) => r.length !== o.cols.length)) {
    const got = o.values.map((r) => r.length).join(", ");
    throw new RangeError(
      `Heat-map values must be ${o.rows.length} rows of ${o.cols.length}; got ${o.values.length} rows of [${got}]`,
    );
  }
  for (const [i, m] of (o.marked ?? []).entries()) {
    if (
      !(Number.isInteger(m.row) && m.row >= 0 && m.row < o.rows.length) || !(Number.isInteger(m.col) &&
        m.col >= 0 && m.col < o.cols.length)
    ) {
      throw new RangeError(
        `Heat-map marked[${i}] = (${m.row}, ${m.col}) is outside the ${o.rows.length} x ${o.cols.length} grid`,
      );
    }
  }
  if (o.domain && !(o.domain[0] < o.domain[1])) {
    throw new RangeError(`Heat-map domain must be [low, high] with low < high; got [${o.domain.join(", ")}]`);
  }
  if (o.cell !== undefined && !(o.cell >= 8)) throw new RangeError(`Heat-map cell must be >= 8 pixels; got ${o.cell}`);
}

/** Whether white text reads better than dark text on this fill (relative luminance below one half). */
function isDark(fill: string): boolean {
  const c = d3color(fill)?.rgb();
  return c ? (0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b) / 255 < 0.5 : false;
}

/**
 * A heat-map of `values[row][col]`.
 *
 * @example
 * ```ts
 * const fig = heatmap({
 *   title: "π_DPO", rows: ["x1", "x2"], cols: ["y1", "y2"], values: [[0.7, 0.3], [0.2, 0.8]],
 *   marked: [{ row: 0, col: 1 }], scheme: "blues", rowTitle: "prompt", colTitle: "response",
 * });
 * await saveFigure("paper/figures", "example", fig);
 * ```
 */
export function heatmap(o: HeatmapOptions): Figure {
  check(o);
  const cell = o.cell ?? 34;
  const finite = o.values.flat().filter(Number.isFinite);
  let [lo, hi] = o.domain ?? (finite.length ? (extent(finite) as [number, number]) : [0, 1]);
  if (!o.domain && o.scheme === "rdbu") [lo, hi] = [-Math.max(-lo, hi), Math.max(-lo, hi)];
  if (!(hi > lo)) [lo, hi] = lo === 0 ? [-1, 1] : [lo - Math.abs(lo), lo + Math.abs(lo)]; // constant: mid colour
  const scale = scaleSequential(SCHEMES[o.scheme ?? "blues"]).domain([lo, hi]).clamp(true);
  const fmt = format(o.format ?? ".2f");
  // Value labels shrink (down to 7 px) when the widest one would not fit its cell.
  const widest = Math.max(...o.values.flat().map((v) => textWidth(Number.isFinite(v) ? fmt(v) : "–", SIZE.small)));
  const labelSize = Math.max(7, Math.min(SIZE.small, (SIZE.small * (cell - 4)) / widest));
  const rowLabelW = Math.max(...o.rows.map((r) => textWidth(r, SIZE.tick)));
  const rowTitleW = o.rowTitle ? SIZE.label + 8 : 0;
  const left = rowTitleW + rowLabelW + 8;
  const gridW = cell * o.cols.length, gridH = cell * o.rows.length;
  const g = newGroup();
  const grid = g.append("g").attr("transform", `translate(${left},0)`);
  o.values.forEach((row, r) =>
    row.forEach((v, c) => {
      const fill = Number.isFinite(v) ? scale(v) : "#eeeeee";
      grid.append("rect").attr("class", "cell").attr("x", c * cell).attr("y", r * cell).attr("width", cell).attr(
        "height",
        cell,
      )
        .attr("fill", fill).attr("stroke", "#ffffff").attr("stroke-width", 1);
      if (o.labels ?? true) {
        grid.append("text").attr("x", (c + 0.5) * cell).attr("y", (r + 0.5) * cell + labelSize * 0.35)
          .attr("text-anchor", "middle").attr("font-size", labelSize)
          .attr("fill", Number.isFinite(v) && isDark(fill) ? "#ffffff" : INK).text(Number.isFinite(v) ? fmt(v) : "–");
      }
    })
  );
  for (const m of o.marked ?? []) {
    grid.append("circle").attr("class", "mark").attr("cx", (m.col + 0.5) * cell).attr("cy", (m.row + 0.5) * cell).attr(
      "r",
      cell * 0.45,
    )
      .attr("fill", "none").attr("stroke", m.color ?? "#d62728").attr("stroke-width", 2.5);
  }
  o.rows.forEach((r, i) =>
    g.append("text").attr("x", left - 6).attr("y", (i + 0.5) * cell + SIZE.tick * 0.35).attr("text-anchor", "end")
      .attr("font-size", SIZE.tick).text(r)
  );
  o.cols.forEach((c, i) =>
    g.append("text").attr("x", left + (i + 0.5) * cell).attr("y", gridH + SIZE.tick + 4).attr("text-anchor", "middle")
      .attr("font-size", SIZE.tick).text(c)
  );
  let height = gridH + SIZE.tick + 6;
  if (o.colTitle) {
    g.append("text").attr("x", left + gridW / 2).attr("y", height + SIZE.label + 4).attr("text-anchor", "middle")
      .attr("font-size", SIZE.label).text(o.colTitle);
    height += SIZE.label + 8;
  }
  if (o.rowTitle) {
    g.append("text").attr("transform", `translate(${SIZE.label},${gridH / 2}) rotate(-90)`)
      .attr("text-anchor", "middle").attr("font-size", SIZE.label).text(o.rowTitle);
  }
  let width = left + gridW;
  if (o.legend ?? true) {
    // A colour bar of 48 flat steps (no gradient element, so no ids that could clash when panels are composed).
    const steps = 48, barX = width + 14, barW = 12;
    const bar = g.append("g").attr("transform", `translate(${barX},0)`);
    for (let i = 0; i < steps; i++) {
      bar.append("rect").attr("x", 0).attr("y", (gridH * i) / steps).attr("width", barW)
        .attr("height", gridH / steps + 0.5).attr("fill", scale(hi - ((i + 0.5) / steps) * (hi - lo)));
    }
    const ticks = [hi, (lo + hi) / 2, lo].map((v) => fmt(v));
    ticks.forEach((t, i) =>
      bar.append("text").attr("x", barW + 4).attr(
        "y",
        (gridH * i) / 2 + SIZE.small * (i === 0 ? 0.8 : i === 1 ? 0.35 : 0),
      )
        .attr("font-size", SIZE.small).text(t)
    );
    width = barX + barW + 4 + Math.max(...ticks.map((t) => textWidth(t, SIZE.small)));
  }
  return frame(serializeInner(g), Math.ceil(width), Math.ceil(height), o);
}
