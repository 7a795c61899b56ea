/**
 * Composition: several finished figures laid out on a grid under one title and caption (the paper's Figure 1 is
 * five heat-map panels side by side: coverage, π_ref, π_PPO, π_DPO and the learned reward).
 * @module
 */
import { type Figure, fmtNum, frame, type FrameText } from "./svg.ts";

/** Options of {@link panels}. */
export interface PanelsOptions extends FrameText {
  /** The figures to place, row by row (build them without captions or provenance: the composite carries those). */
  panels: Figure[];
  /** Panels per row (default: all in one row). */
  columns?: number;
  /** Space between panels in pixels (default 8). */
  gap?: number;
}

/**
 * Lays out `panels` on a grid (each cell as wide as its column's widest panel, as tall as its row's tallest) and
 * frames the whole with one title, caption and provenance line.
 *
 * @example
 * ```ts
 * const fig = panels({ title: "Figure 1", panels: [coverage, ref, ppo, dpo, reward], caption: "..." });
 * await saveFigure("paper/figures", "figure1", fig);
 * ```
 */
export function panels(o: PanelsOptions): Figure {
  const n = o.panels.length;
  if (n === 0) throw new RangeError("Panels need at least one figure; got none");
  const cols = o.columns ?? n;
  if (!(Number.isInteger(cols) && cols >= 1)) {
    throw new RangeError(`Panels columns must be an integer >= 1; got ${cols}`);
  }
  const gap = o.gap ?? 8;
  if (!(gap >= 0)) throw new RangeError(`Panels gap must be >= 0; got ${gap}`);
  const rows = Math.ceil(n / cols);
  const colW = Array.from(
    { length: cols },
    (_, c) => Math.max(0, ...o.panels.filter((_, i) => i % cols === c).map((p) => p.width)),
  );
  const rowH = Array.from(
    { length: rows },
    (_, r) => Math.max(...o.panels.slice(r * cols, r * cols + cols).map((p) => p.height)),
  );
  let body = "";
  o.panels.forEach((p, i) => {
    const r = Math.floor(i / cols), c = i % cols;
    const x = colW.slice(0, c).reduce((a, b) => a + b + gap, 0);
    const y = rowH.slice(0, r).reduce((a, b) => a + b + gap, 0);
    body += `<g transform="translate(${fmtNum(x)},${fmtNum(y)})">${p.body}</g>`;
  });
  const width = colW.reduce((a, b) => a + b, 0) + gap * (cols - 1);
  const height = rowH.reduce((a, b) => a + b, 0) + gap * (rows - 1);
  return frame(body, width, height, o);
}
