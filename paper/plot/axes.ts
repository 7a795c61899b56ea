/**
 * Axes, grid lines and legends shared by the line and bar charts, drawn with d3-axis and restyled to the figures'
 * font (d3's own `font-family="sans-serif"` is removed so everything inherits DejaVu Sans from the root).
 * @module
 */
import { type Axis, axisLeft, type NumberValue } from "d3";
import { textWidth } from "./font.ts";
import { type G, GRID, INK, MUTED, PALETTE, SIZE } from "./svg.ts";

/** Draws an axis into `g` and strips d3's own font attributes. */
export function drawAxis<D extends NumberValue | string>(g: G, axis: Axis<D>): void {
  g.call(axis as unknown as (s: G) => void);
  g.attr("font-family", null).attr("font-size", SIZE.tick).attr("fill", null);
  g.selectAll("text").attr("fill", INK);
  g.selectAll("line,path").attr("stroke", MUTED);
}

/** A left value axis with light horizontal grid lines across `width`. */
export function yAxisWithGrid(
  g: G,
  y: (v: number) => number,
  ticks: number[],
  width: number,
  fmt: (v: number) => string,
) {
  const grid = g.append("g");
  for (const t of ticks) {
    grid.append("line").attr("x1", 0).attr("x2", width).attr("y1", y(t)).attr("y2", y(t)).attr("stroke", GRID);
  }
  const axis = g.append("g") as G;
  drawAxis(axis, axisLeft(y as never).tickValues(ticks).tickFormat((v) => fmt(Number(v))).tickSizeOuter(0));
}

/** Bottom axis at `height`. */
export function xAxisAt<D extends NumberValue | string>(g: G, height: number, axis: Axis<D>): void {
  drawAxis(g.append("g").attr("transform", `translate(0,${height})`) as G, axis);
}

/** The width a left axis needs for these tick labels. */
export function tickLabelWidth(labels: string[]): number {
  return Math.max(0, ...labels.map((l) => textWidth(l, SIZE.tick))) + 10;
}

/** Axis titles: `x` centred under the plot, `y` rotated beside it. */
export function axisTitles(g: G, plotW: number, plotH: number, left: number, bottom: number, x?: string, y?: string) {
  if (x) {
    g.append("text").attr("x", plotW / 2).attr("y", plotH + bottom - 4).attr("text-anchor", "middle")
      .attr("font-size", SIZE.label).text(x);
  }
  if (y) {
    g.append("text").attr("transform", `translate(${-left + SIZE.label},${plotH / 2}) rotate(-90)`)
      .attr("text-anchor", "middle").attr("font-size", SIZE.label).text(y);
  }
}

/** Width and height a horizontal legend of these names needs, laid out in rows no wider than `maxWidth`. */
export function legendLayout(names: string[], maxWidth: number): { x: number; y: number }[] {
  const pos: { x: number; y: number }[] = [];
  let x = 0, y = 0;
  for (const n of names) {
    const w = 22 + textWidth(n, SIZE.tick) + 16;
    if (x > 0 && x + w > maxWidth) [x, y] = [0, y + SIZE.tick + 8];
    pos.push({ x, y });
    x += w;
  }
  return pos;
}

/** Draws a legend of coloured swatches (lines or boxes) at the positions of {@link legendLayout}. */
export function drawLegend(g: G, names: string[], maxWidth: number, kind: "line" | "box", colors = PALETTE): number {
  const pos = legendLayout(names, maxWidth);
  names.forEach((n, i) => {
    const { x, y } = pos[i], c = colors[i % colors.length];
    if (kind === "line") {
      g.append("line").attr("x1", x).attr("x2", x + 16).attr("y1", y + 6).attr("y2", y + 6).attr("stroke", c)
        .attr("stroke-width", 2.5);
    } else g.append("rect").attr("x", x + 2).attr("y", y).attr("width", 12).attr("height", 12).attr("fill", c);
    g.append("text").attr("x", x + 22).attr("y", y + 10).attr("font-size", SIZE.tick).text(n);
  });
  return names.length ? pos[pos.length - 1].y + SIZE.tick + 4 : 0;
}
