/**
 * Writing a figure to disk: `name.svg` and `name.png`, each atomically (util/fs.ts), and byte-identical for the same
 * figure on any machine (no timestamps, no random ids, sorted attributes, rounded numbers, an embedded font).
 * @module
 */
import { join } from "node:path";
import { atomicWrite } from "../../util/fs.ts";
import { renderPng } from "./png.ts";
import { type Figure, toSvg } from "./svg.ts";

/** The files {@link saveFigure} wrote. */
export interface SavedFigure {
  svg: string;
  png: string;
}

/** What {@link renderFigure} produces: both encodings of one figure. */
export interface RenderedFigure {
  svg: string;
  png: Uint8Array;
}

/** Checks a figure's file stem: letters, digits, `.`, `_` and `-` only, so names are portable and need no quoting. */
export function checkFigureName(name: string): void {
  if (!/^[\w][\w.-]*$/.test(name)) {
    throw new RangeError(
      `Figure name may hold letters, digits and . _ - only (and not start with . or -); got '${name}'`,
    );
  }
}

/** Both encodings of a figure (a {@link Figure} or a complete SVG document). */
export async function renderFigure(fig: Figure | string): Promise<RenderedFigure> {
  const svg = typeof fig === "string" ? fig : toSvg(fig);
  return { svg, png: await renderPng(svg) };
}

/**
 * Writes `dir/name.svg` and `dir/name.png` atomically.
 *
 * @example
 * ```ts
 * await saveFigure("paper/figures", "figure1", panels({ panels: [a, b], title: "Figure 1" }));
 * ```
 */
export async function saveFigure(dir: string, name: string, fig: Figure | string): Promise<SavedFigure> {
  checkFigureName(name);
  const { svg, png } = await renderFigure(fig);
  const out = { svg: join(dir, `${name}.svg`), png: join(dir, `${name}.png`) };
  await atomicWrite(out.svg, svg);
  await atomicWrite(out.png, png);
  return out;
}
