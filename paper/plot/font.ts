/**
 * The one font every figure uses, DejaVu Sans from the npm package `dejavu-fonts-ttf`, and text widths measured
 * from its own metrics. The same bytes are handed to resvg (`png.ts`) with no system fonts, so a PNG never depends
 * on the fonts of the machine that made it, and layout (margins, wrapping) is computed from the glyphs that are
 * actually drawn.
 * @module
 */
import { createRequire } from "node:module";

/** The family name written into every SVG and given to resvg as its default. */
export const FONT_FAMILY = "DejaVu Sans";

const require = createRequire(import.meta.url);

/** Path of a file inside an npm package of deno.json's imports (node_modules is on, so this is a real file). */
export function packageFile(specifier: string): string {
  return require.resolve(specifier);
}

/** Advance widths of one TrueType font, read from its `cmap` (format 4) and `hmtx` tables. */
class FontMetrics {
  private readonly advance = new Map<number, number>();
  private readonly fallback: number;

  constructor(readonly bytes: Uint8Array) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const tables = new Map<string, number>();
    const numTables = view.getUint16(4);
    for (let i = 0; i < numTables; i++) {
      const rec = 12 + 16 * i;
      const tag = String.fromCharCode(...bytes.subarray(rec, rec + 4));
      tables.set(tag, view.getUint32(rec + 8));
    }
    const need = (tag: string) => {
      const at = tables.get(tag);
      if (at === undefined) throw new TypeError(`Font has no '${tag}' table`);
      return at;
    };
    const unitsPerEm = view.getUint16(need("head") + 18);
    const numHMetrics = view.getUint16(need("hhea") + 34);
    const hmtx = need("hmtx");
    const glyphAdvance = (g: number) => view.getUint16(hmtx + 4 * Math.min(g, numHMetrics - 1)) / unitsPerEm;
    // The Windows Unicode BMP subtable (platform 3, encoding 1) is format 4: segments of code points.
    const cmap = need("cmap");
    let sub = -1;
    for (let i = 0; i < view.getUint16(cmap + 2); i++) {
      const rec = cmap + 4 + 8 * i;
      if (view.getUint16(rec) === 3 && view.getUint16(rec + 2) === 1) sub = cmap + view.getUint32(rec + 4);
    }
    if (sub < 0 || view.getUint16(sub) !== 4) throw new TypeError("Font has no format-4 Unicode cmap subtable");
    const segs = view.getUint16(sub + 6) / 2;
    const ends = sub + 14, starts = ends + 2 * segs + 2, deltas = starts + 2 * segs, ranges = deltas + 2 * segs;
    for (let s = 0; s < segs; s++) {
      const end = view.getUint16(ends + 2 * s), start = view.getUint16(starts + 2 * s);
      const delta = view.getUint16(deltas + 2 * s), rangeAt = ranges + 2 * s, range = view.getUint16(rangeAt);
      for (let c = start; c <= end && c !== 0xffff; c++) {
        let g = 0;
        if (range === 0) g = (c + delta) & 0xffff;
        else {
          g = view.getUint16(rangeAt + range + 2 * (c - start));
          if (g !== 0) g = (g + delta) & 0xffff;
        }
        if (g !== 0) this.advance.set(c, glyphAdvance(g));
      }
    }
    this.fallback = this.advance.get(0x78) ?? 0.6; // "x": a fair width for a glyph the font lacks
  }

  /** Width of `text` in em (no kerning; DejaVu's kerning changes widths by well under 1%). */
  width(text: string): number {
    let w = 0;
    for (const ch of text) w += this.advance.get(ch.codePointAt(0)!) ?? this.fallback;
    return w;
  }
}

let regular: FontMetrics | undefined;
let bold: FontMetrics | undefined;

/** The regular and bold DejaVu Sans files' bytes (read once). */
export function fontBuffers(): Uint8Array[] {
  regular ??= new FontMetrics(Deno.readFileSync(packageFile("dejavu-fonts-ttf/ttf/DejaVuSans.ttf")));
  bold ??= new FontMetrics(Deno.readFileSync(packageFile("dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf")));
  return [regular.bytes, bold.bytes];
}

/** Width in pixels of `text` set in DejaVu Sans at `size` pixels. */
export function textWidth(text: string, size: number, weight: "normal" | "bold" = "normal"): number {
  fontBuffers();
  return (weight === "bold" ? bold! : regular!).width(text) * size;
}

/**
 * Breaks `text` into lines no wider than `maxWidth` pixels at `size`, at spaces (a single word longer than the
 * line stays whole). Explicit newlines are kept.
 */
export function wrapText(text: string, size: number, maxWidth: number, weight: "normal" | "bold" = "normal"): string[] {
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/ +/)) {
      const next = line ? `${line} ${word}` : word;
      if (line && textWidth(next, size, weight) > maxWidth) {
        lines.push(line);
        line = word;
      } else line = next;
    }
    lines.push(line);
  }
  return lines;
}
