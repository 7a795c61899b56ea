/**
 * Scatter charts: one colour per group, one dot per point (e.g. per seed), a larger ring at each group's mean, and
 * optional dashed reference points (the paper's numbers are on another scale, so references are ours: a baseline).
 * @module
 */
import { axisBottom, format, scaleLinear } from "d3";
import { axisTitles, drawLegend, legendLayout, tickLabelWidth, xAxisAt, yAxisWithGrid } from "./axes.ts";
import { type Figure, frame, type FrameText, MUTED, newGroup, PALETTE, serializeInner, SIZE } from "./svg.ts";

/** One group of points. */
export interface ScatterGroup {
  name: string;
  x: number[];
  y: number[];
}

/** Options of {@link scatterChart}. */
export interface ScatterOptions extends FrameText {
  groups: ScatterGroup[];
  xLabel?: string;
  yLabel?: string;
  xFormat?: string;
  yFormat?: string;
  /** Marked points drawn as a muted cross with a label (e.g. a baseline model). */
  references?: { x: number; y: number; label: string }[];
  width?: number;
  height?: number;
}

/**
 * A scatter chart (see the module doc).
 *
 * @example
 * ```ts
 * const fig = scatterChart({ title: "S.R. against ΔHelp.", xLabel: "ΔHelp.", yLabel: "S.R.",
 *   groups: [{ name: "PPO", x: [0.1, 0.2, 0.15], y: [0.9, 0.95, 0.97] }] });
 * ```
 */
export function scatterChart(o: ScatterOptions): Figure {
  if (o.groups.length === 0) throw new RangeError("Scatter chart needs at least one group; got none");
  for (const g of o.groups) {
    if (g.x.length !== g.y.length) {
      throw new RangeError(`Scatter group '${g.name}': x has ${g.x.length} values but y has ${g.y.length}`);
    }
  }
  const W = o.width ?? 480, H = o.height ?? 300;
  const refs = o.references ?? [];
  const xs = [...o.groups.flatMap((g) => g.x), ...refs.map((r) => r.x)].filter(Number.isFinite);
  const ys = [...o.groups.flatMap((g) => g.y), ...refs.map((r) => r.y)].filter(Number.isFinite);
  const dom = (v: number[]): [number, number] => {
    if (v.length === 0) return [0, 1];
    const [a, b] = [Math.min(...v), Math.max(...v)];
    return a < b ? [a, b] : [a - 1, a + 1];
  };
  const x = scaleLinear().domain(dom(xs)).range([0, W]).nice(6);
  const y = scaleLinear().domain(dom(ys)).range([H, 0]).nice(6);
  const xFmt = format(o.xFormat ?? "~g"), yFmt = format(o.yFormat ?? "~g");
  const yTicks = y.ticks(6);
  const left = tickLabelWidth(yTicks.map(yFmt)) + (o.yLabel ? SIZE.label + 10 : 0);
  const bottom = SIZE.tick + 14 + (o.xLabel ? SIZE.label + 8 : 0);
  const names = o.groups.map((g) => g.name);
  const legendPos = legendLayout(names, W);
  const legendH = legendPos[legendPos.length - 1].y + SIZE.tick + 14;
  const g = newGroup();
  drawLegend(g.append("g").attr("transform", `translate(${left},0)`), names, W, "box");
  const plot = g.append("g").attr("transform", `translate(${left},${legendH})`);
  yAxisWithGrid(plot, y, yTicks, W, yFmt);
  xAxisAt(plot, H, axisBottom(x).ticks(6).tickFormat((v) => xFmt(Number(v))).tickSizeOuter(0));
  axisTitles(plot, W, H, left, bottom, o.xLabel, o.yLabel);
  for (const r of refs) {
    const [cx, cy] = [x(r.x), y(r.y)];
    plot.append("path").attr("d", `M${cx - 5},${cy - 5}L${cx + 5},${cy + 5}M${cx - 5},${cy + 5}L${cx + 5},${cy - 5}`)
      .attr("stroke", MUTED).attr("stroke-width", 2);
    const right = cx > 0.8 * W; // near the right edge the label goes to the left of its mark
    plot.append("text").attr("x", right ? cx - 8 : cx + 8).attr("y", cy + 4).attr(
      "text-anchor",
      right ? "end" : "start",
    )
      .attr("font-size", SIZE.small).attr("fill", MUTED).text(r.label);
  }
  o.groups.forEach((grp, k) => {
    const c = PALETTE[k % PALETTE.length];
    const ok = grp.x.map((_, i) => i).filter((i) => Number.isFinite(grp.x[i]) && Number.isFinite(grp.y[i]));
    for (const i of ok) {
      plot.append("circle").attr("class", "point").attr("cx", x(grp.x[i]).toFixed(2)).attr("cy", y(grp.y[i]).toFixed(2))
        .attr("r", 3.5).attr("fill", c).attr("fill-opacity", 0.75);
    }
    if (ok.length > 1) {
      const mx = ok.reduce((a, i) => a + grp.x[i], 0) / ok.length,
        my = ok.reduce((a, i) => a + grp.y[i], 0) / ok.length;
      plot.append("circle").attr("class", "mean").attr("cx", x(mx).toFixed(2)).attr("cy", y(my).toFixed(2)).attr("r", 7)
        .attr("fill", "none").attr("stroke", c).attr("stroke-width", 2);
    }
  });
  return frame(serializeInner(g), Math.ceil(left + W + 8), Math.ceil(legendH + H + bottom), o);
}
