/**
 * Grouped bar charts: one group per category (a prompt, a method, a testbed), one coloured bar per series inside
 * it, with optional error bars (the spread over seeds) and value labels. Negative values hang below zero.
 * @module
 */
import { axisBottom, format, scaleBand, scaleLinear } from "d3";
import { axisTitles, drawLegend, legendLayout, tickLabelWidth, xAxisAt, yAxisWithGrid } from "./axes.ts";
import { type Figure, frame, type FrameText, INK, MUTED, newGroup, PALETTE, serializeInner, SIZE } from "./svg.ts";

/** Options of {@link groupedBars}. */
export interface GroupedBarsOptions extends FrameText {
  /** Categories along x. */
  groups: string[];
  /** Bars inside each group (legend entries). */
  series: string[];
  /** values[group][series]; a non-finite value leaves a gap. */
  values: number[][];
  /** Half-widths of error bars, errors[group][series] (e.g. one standard deviation over seeds). */
  errors?: number[][];
  yLabel?: string;
  xLabel?: string;
  yDomain?: [number, number];
  /** d3-format specifier for ticks and value labels (default "~g"). */
  yFormat?: string;
  /** Print each value above its bar (default false). */
  valueLabels?: boolean;
  /** Plot area in pixels (default: 480 wide or wider for many bars, 260 high). */
  width?: number;
  height?: number;
}

function check(o: GroupedBarsOptions): void {
  if (o.groups.length === 0 || o.series.length === 0) {
    throw new RangeError(
      `Grouped bars need at least one group and one series; got ${o.groups.length} and ${o.series.length}`,
    );
  }
  for (const [name, m] of [["values", o.values], ["errors", o.errors]] as const) {
    if (m && (m.length !== o.groups.length || m.some((r) => r.length !== o.series.length))) {
      throw new RangeError(
        `Grouped bars ${name} must be ${o.groups.length} groups of ${o.series.length}; got ${m.length} groups of ` +
          `[${m.map((r) => r.length).join(", ")}]`,
      );
    }
  }
  if (o.errors?.flat().some((e) => e < 0)) throw new RangeError("Grouped bars errors are half-widths and must be >= 0");
  if (o.yDomain && !(o.yDomain[0] < o.yDomain[1])) {
    throw new RangeError(`Grouped bars yDomain must be [low, high] with low < high; got [${o.yDomain.join(", ")}]`);
  }
}

/**
 * Grouped bars of `values[group][series]` with optional error bars.
 *
 * @example
 * ```ts
 * const fig = groupedBars({
 *   title: "Mass on uncovered responses", groups: ["x1", "x2"], series: ["π_ref", "DPO", "PPO"],
 *   values: [[0.1, 0.4, 0.05], [0.1, 0.3, 0.04]], errors: [[0, 0.05, 0.01], [0, 0.04, 0.01]], yLabel: "probability",
 * });
 * ```
 */
export function groupedBars(o: GroupedBarsOptions): Figure {
  check(o);
  const nBars = o.groups.length * o.series.length;
  const W = o.width ?? Math.max(480, nBars * 18 + o.groups.length * 16), H = o.height ?? 260;
  const ext: number[] = [0];
  o.values.forEach((row, gi) =>
    row.forEach((v, si) => {
      if (!Number.isFinite(v)) return;
      const e = o.errors?.[gi][si] ?? 0;
      ext.push(v - e, v + e);
    })
  );
  const y = scaleLinear().domain(o.yDomain ?? [Math.min(...ext), Math.max(...ext)]).range([H, 0]);
  if (!o.yDomain) y.nice(6);
  if (!(y.domain()[1] > y.domain()[0])) y.domain([0, 1]);
  const fmt = format(o.yFormat ?? "~g");
  const yTicks = y.ticks(6);
  const x0 = scaleBand().domain(o.groups).range([0, W]).paddingInner(0.2).paddingOuter(0.1);
  const x1 = scaleBand().domain(o.series).range([0, x0.bandwidth()]).padding(0.06);
  const left = tickLabelWidth(yTicks.map(fmt)) + (o.yLabel ? SIZE.label + 10 : 0);
  const bottom = SIZE.tick + 14 + (o.xLabel ? SIZE.label + 8 : 0);
  const pos = legendLayout(o.series, W);
  const legendH = o.series.length > 1 ? pos[pos.length - 1].y + SIZE.tick + 14 : 0;
  const g = newGroup();
  if (legendH) drawLegend(g.append("g").attr("transform", `translate(${left},0)`), o.series, W, "box");
  const plot = g.append("g").attr("transform", `translate(${left},${legendH})`);
  yAxisWithGrid(plot, y, yTicks, W, fmt);
  const zero = y(Math.min(Math.max(0, y.domain()[0]), y.domain()[1]));
  o.values.forEach((row, gi) =>
    row.forEach((v, si) => {
      if (!Number.isFinite(v)) return;
      const bx = x0(o.groups[gi])! + x1(o.series[si])!, bw = x1.bandwidth();
      plot.append("rect").attr("class", "bar").attr("x", bx).attr("y", Math.min(y(v), zero)).attr("width", bw)
        .attr("height", Math.abs(zero - y(v))).attr("fill", PALETTE[si % PALETTE.length]);
      const e = o.errors?.[gi][si] ?? 0;
      if (e > 0) {
        const cx = bx + bw / 2, w = Math.min(bw / 3, 5);
        plot.append("path").attr("class", "error").attr(
          "d",
          `M${cx - w},${y(v + e)}H${cx + w}M${cx},${y(v + e)}V${y(v - e)}M${cx - w},${y(v - e)}H${cx + w}`,
        )
          .attr("stroke", INK).attr("stroke-width", 1.2).attr("fill", "none");
      }
      if (o.valueLabels) {
        const top = v >= 0 ? y(v + e) - 3 : y(v - e) + SIZE.small + 2;
        plot.append("text").attr("x", bx + bw / 2).attr("y", top).attr("text-anchor", "middle")
          .attr("font-size", SIZE.small).attr("fill", MUTED).text(fmt(v));
      }
    })
  );
  plot.append("line").attr("x1", 0).attr("x2", W).attr("y1", zero).attr("y2", zero).attr("stroke", MUTED);
  xAxisAt(plot, H, axisBottom(x0).tickSize(0).tickPadding(6));
  plot.selectAll(".domain").remove();
  axisTitles(plot, W, H, left, bottom, o.xLabel, o.yLabel);
  return frame(serializeInner(g), Math.ceil(left + W + 8), Math.ceil(legendH + H + bottom), o);
}
