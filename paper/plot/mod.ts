/**
 * The plotting module: d3 charts rendered into a linkedom DOM, serialised deterministically to SVG, and rasterised
 * to PNG by resvg with the DejaVu Sans font embedded, so every machine writes the same bytes.
 *
 * Every chart returns a {@link Figure}; {@link panels} composes figures; {@link saveFigure} writes `name.svg` and
 * `name.png`. Each chart takes `title`, `caption` and `provenance` (the "made by ..." line of paper/runs.ts).
 *
 * @example
 * ```ts
 * import { heatmap, lineChart, panels, saveFigure } from "./paper/plot/mod.ts";
 * const a = heatmap({ title: "π_ref", rows: ["x1"], cols: ["y1", "y2"], values: [[0.5, 0.5]] });
 * const b = lineChart({ series: [{ name: "DPO", x: [0, 1, 2], mean: [0.1, 0.2, 0.3] }], xLabel: "step" });
 * await saveFigure("/tmp/figs", "demo", panels({ panels: [a, b], title: "Demo", caption: "Two panels." }));
 * ```
 * @module
 */
export { type Figure, type FrameText, PALETTE, toSvg, withCaption } from "./svg.ts";
export { type ColorScheme, heatmap, type HeatmapMark, type HeatmapOptions, SCHEMES } from "./heatmap.ts";
export { lineChart, type LineChartOptions, type LineSeries } from "./line_chart.ts";
export { groupedBars, type GroupedBarsOptions } from "./bars.ts";
export { scatterChart, type ScatterGroup, type ScatterOptions } from "./scatter.ts";
export { panels, type PanelsOptions } from "./panels.ts";
export { type PngOptions, renderPng } from "./png.ts";
export { checkFigureName, type RenderedFigure, renderFigure, type SavedFigure, saveFigure } from "./save.ts";
export { FONT_FAMILY, textWidth, wrapText } from "./font.ts";
