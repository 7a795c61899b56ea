/**
 * SVG to PNG through resvg compiled to WebAssembly, with DejaVu Sans handed over as the only font (resvg-wasm never
 * reads system fonts), so a PNG is the same bytes on every machine.
 * @module
 */
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { FONT_FAMILY, fontBuffers, packageFile } from "./font.ts";
import { type Figure, toSvg } from "./svg.ts";

let ready: Promise<void> | undefined;

/** Loads the resvg wasm module from the npm package's own file (once per process). */
function init(): Promise<void> {
  ready ??= Deno.readFile(packageFile("@resvg/resvg-wasm/index_bg.wasm")).then((bytes) => initWasm(bytes));
  return ready;
}

/** Options for {@link renderPng}. */
export interface PngOptions {
  /** Pixels per SVG unit (default 2, so text stays sharp on high-density screens). */
  scale?: number;
}

/**
 * Renders a figure (or a complete SVG document) to PNG bytes at `scale` pixels per SVG unit.
 *
 * @example
 * ```ts
 * const png = await renderPng(heatmap({ rows: ["a"], cols: ["b"], values: [[1]] }));
 * ```
 */
export async function renderPng(fig: Figure | string, opts: PngOptions = {}): Promise<Uint8Array> {
  const scale = opts.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) throw new RangeError(`PNG scale must be in (0, 8]; got ${scale}`);
  await init();
  const svg = typeof fig === "string" ? fig : toSvg(fig);
  const resvg = new Resvg(svg, {
    font: {
      fontBuffers: fontBuffers(),
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
      serifFamily: FONT_FAMILY,
      monospaceFamily: FONT_FAMILY,
    },
    fitTo: { mode: "zoom", value: scale },
    background: "#ffffff",
  });
  try {
    const image = resvg.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}
