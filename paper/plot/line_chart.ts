/**
 * Line charts with a shaded band for the spread over seeds (e.g. mean ± one standard deviation, or min to max),
 * optionally on a log x axis (batch sizes, β sweeps), with dashed reference lines for the paper's numbers.
 * @module
 */
import { area, axisBottom, format, line, scaleLinear, scaleLog } from "d3";
import { axisTitles, drawLegend, legendLayout, tickLabelWidth, xAxisAt, yAxisWithGrid } from "./axes.ts";
import { type Figure, frame, type FrameText, MUTED, newGroup, PALETTE, serializeInner, SIZE } from "./svg.ts";

/** One line: its mean at each x, and optionally a band from `lo` to `hi`. */
export interface LineSeries {
  name: string;
  x: number[];
  mean: number[];
  lo?: number[];
  hi?: number[];
}

/** Options of {@link lineChart}. */
export interface LineChartOptions extends FrameText {
  series: LineSeries[];
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic x axis (every x must be > 0). */
  logX?: boolean;
  /** Tick positions on x (default: the series' x values when there are at most 10 of them). */
  xTicks?: number[];
  /** y range (default: the data, bands and reference lines, made nice). */
  yDomain?: [number, number];
  /** d3-format specifiers for tick labels (default "~g"). */
  xFormat?: string;
  yFormat?: string;
  /** Dashed horizontal lines, e.g. the paper's published value. */
  references?: { y: number; label: string }[];
  /** Mark each point with a dot (default: when no series has more than 20 points). */
  points?: boolean;
  /** Plot area in pixels (default 480 x 280). */
  width?: number;
  height?: number;
}

function check(o: LineChartOptions): void {
  if (o.series.length === 0) throw new RangeError("Line chart needs at least one series; got none");
  for (const s of o.series) {
    for (const k of ["mean", "lo", "hi"] as const) {
      const arr = s[k];
      if (arr && arr.length !== s.x.length) {
        throw new RangeError(`Line chart series '${s.name}': ${k} has ${arr.length} values but x has ${s.x.length}`);
      }
    }
    if (o.logX && s.x.some((v) => !(v > 0))) {
      throw new RangeError(`Line chart series '${s.name}': a log x axis needs every x > 0; got [${s.x.join(", ")}]`);
    }
  }
  if (o.yDomain && !(o.yDomain[0] < o.yDomain[1])) {
    throw new RangeError(`Line chart yDomain must be [low, high] with low < high; got [${o.yDomain.join(", ")}]`);
  }
}

/**
 * A line chart; each series may carry a band (`lo` to `hi`) for its spread over seeds.
 *
 * @example
 * ```ts
 * const fig = lineChart({
 *   title: "PPO on the code testbed by batch size", xLabel: "batch size", yLabel: "pass@5", logX: true,
 *   series: [{ name: "introductory", x: [64, 128, 256, 512], mean: [0.3, 0.33, 0.35, 0.36],
 *              lo: [0.28, 0.31, 0.34, 0.35], hi: [0.32, 0.35, 0.36, 0.37] }],
 * });
 * ```
 */
export function lineChart(o: LineChartOptions): Figure {
  check(o);
  const W = o.width ?? 480, H = o.height ?? 280;
  const xs = [...new Set(o.series.flatMap((s) => s.x).filter(Number.isFinite))].sort((a, b) => a - b);
  const ys = o.series.flatMap((s) => [...s.mean, ...(s.lo ?? []), ...(s.hi ?? [])]).filter(Number.isFinite);
  ys.push(...(o.references ?? []).map((r) => r.y));
  const xDom: [number, number] = xs.length ? [xs[0], xs[xs.length - 1]] : [1, 10];
  if (!(xDom[1] > xDom[0])) xDom[1] = o.logX ? xDom[0] * 10 : xDom[0] + 1;
  const x = (o.logX ? scaleLog() : scaleLinear()).domain(xDom).range([0, W]);
  let yDom = o.yDomain ?? [Math.min(...ys), Math.max(...ys)];
  if (!ys.length) yDom = [0, 1];
  if (!(yDom[1] > yDom[0])) yDom = [yDom[0] - 1, yDom[0] + 1];
  const y = scaleLinear().domain(yDom).range([H, 0]);
  if (!o.yDomain) y.nice(6);
  const yFmt = format(o.yFormat ?? "~g"), xFmt = format(o.xFormat ?? "~g");
  const yTicks = y.ticks(6);
  const xTicks = o.xTicks ?? (xs.length <= 10 && xs.length > 1 ? xs : x.ticks(6));
  const left = tickLabelWidth(yTicks.map(yFmt)) + (o.yLabel ? SIZE.label + 10 : 0);
  const bottom = SIZE.tick + 14 + (o.xLabel ? SIZE.label + 8 : 0);
  const legendPos = legendLayout(o.series.map((s) => s.name), W);
  const legendH = o.series.some((s) => s.name) ? legendPos[legendPos.length - 1].y + SIZE.tick + 14 : 0;
  const g = newGroup();
  if (legendH) {
    drawLegend(
      g.append("g").attr("transform", `translate(${left},0)`),
      o.series.map((s) => s.name),
      W,
      "line",
    );
  }
  const plot = g.append("g").attr("transform", `translate(${left},${legendH})`);
  yAxisWithGrid(plot, y, yTicks, W, yFmt);
  xAxisAt(plot, H, axisBottom(x).tickValues(xTicks).tickFormat((v) => xFmt(Number(v))).tickSizeOuter(0));
  axisTitles(plot, W, H, left, bottom, o.xLabel, o.yLabel);
  for (const r of o.references ?? []) {
    plot.append("line").attr("x1", 0).attr("x2", W).attr("y1", y(r.y)).attr("y2", y(r.y)).attr("stroke", MUTED)
      .attr("stroke-dasharray", "5,4");
    plot.append("text").attr("x", W - 4).attr("y", y(r.y) - 4).attr("text-anchor", "end")
      .attr("font-size", SIZE.small).attr("fill", MUTED).text(r.label);
  }
  const showPoints = o.points ?? o.series.every((s) => s.x.length <= 20);
  o.series.forEach((s, k) => {
    const c = PALETTE[k % PALETTE.length];
    const idx = s.x.map((_, i) => i);
    if (s.lo && s.hi) {
      const { lo, hi } = s;
      const band = area<number>().defined((i) => Number.isFinite(lo[i]) && Number.isFinite(hi[i]))
        .x((i) => x(s.x[i])).y0((i) => y(lo[i])).y1((i) => y(hi[i])).digits(2);
      plot.append("path").attr("class", "band").attr("d", band(idx) ?? "").attr("fill", c).attr("fill-opacity", 0.18)
        .attr("stroke", "none");
    }
    const path = line<number>().defined((i) => Number.isFinite(s.mean[i])).x((i) => x(s.x[i])).y((i) => y(s.mean[i]))
      .digits(2);
    plot.append("path").attr("class", "line").attr("d", path(idx) ?? "").attr("fill", "none").attr("stroke", c).attr(
      "stroke-width",
      2,
    );
    if (showPoints) {
      for (const i of idx.filter((i) => Number.isFinite(s.mean[i]))) {
        plot.append("circle").attr("class", "point").attr("cx", x(s.x[i])).attr("cy", y(s.mean[i])).attr("r", 3).attr(
          "fill",
          c,
        );
      }
    }
  });
  return frame(serializeInner(g), Math.ceil(left + W + 8), Math.ceil(legendH + H + bottom), o);
}
