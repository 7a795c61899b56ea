/**
 * The SVG side of every figure: a d3-drawable DOM (linkedom), a deterministic serialiser (attributes in name order,
 * geometric numbers rounded to 2 decimals, no ids, no timestamps), and the frame every chart shares (white
 * background, bold title on top, wrapped caption and a provenance line below).
 * @module
 */
import { select, type Selection } from "d3";
import { parseHTML } from "linkedom";
import { FONT_FAMILY, textWidth, wrapText } from "./font.ts";

/** A finished figure: its size in pixels and its SVG markup without the outer `<svg>` element. */
export interface Figure {
  width: number;
  height: number;
  /** Inner SVG markup, placed at the origin; {@link toSvg} wraps it into a document, `panels` composes several. */
  body: string;
}

/** Caption and provenance text under a figure. */
export interface FrameText {
  /** Bold line above the plot. */
  title?: string;
  /** What the figure shows, wrapped under it. */
  caption?: string;
  /** "made by `command` at commit ... on adapter ..." (see paper/runs.ts `provenance`). */
  provenance?: string;
}

/**
 * The few DOM node fields the serialiser reads. Declared here rather than pulling in TypeScript's "dom" library,
 * which would add browser globals (`document`, `window`) to every file of the project when type-checked together.
 */
interface DomNode {
  nodeType: number;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
  parentNode: DomNode | null;
  localName?: string;
  attributes?: ArrayLike<{ name: string; value: string }>;
}

/** A `<g>` selection to draw into (linkedom elements; d3's DOM element types are opaque here). */
// deno-lint-ignore no-explicit-any
export type G = Selection<any, unknown, null, undefined>;

/** Colour-blind-safe series colours (Okabe and Ito), in the order series are given. */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"];
/** Text and rule colours. */
export const INK = "#222222", MUTED = "#666666", GRID = "#e6e6e6";
/** Font sizes in pixels. */
export const SIZE = { title: 15, label: 12, tick: 11, small: 10 } as const;

const SVG_NS = "http://www.w3.org/2000/svg";

/** A fresh `<g>` inside an `<svg>` of a new linkedom document; draw into it with d3, then {@link serialize} it. */
export function newGroup(): G {
  // linkedom's own types describe a browser Window; only these two members are used.
  const { document } = parseHTML("<!doctype html><html><body></body></html>") as unknown as {
    document: { createElementNS(ns: string, tag: string): unknown; body: { appendChild(node: unknown): void } };
  };
  const svg = document.createElementNS(SVG_NS, "svg");
  document.body.appendChild(svg);
  // deno-lint-ignore no-explicit-any
  return select(svg as any).append("g") as G;
}

// Attributes whose numbers are geometry: rounded so output does not carry float noise from d3's arithmetic.
const GEOMETRIC = new Set([
  "x",
  "y",
  "x1",
  "x2",
  "y1",
  "y2",
  "cx",
  "cy",
  "r",
  "rx",
  "ry",
  "width",
  "height",
  "d",
  "transform",
  "points",
  "dx",
  "dy",
  "viewBox",
  "stroke-width",
  "font-size",
]);

/** Formats one number with at most 2 decimals, no trailing zeros, and no "-0". */
export function fmtNum(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) || r === 0 ? "0" : String(r);
}

function roundNumbers(value: string): string {
  return value.replace(/-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?/gi, (m) => fmtNum(Number(m)));
}

const escapeText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const escapeAttr = (s: string) => escapeText(s).replace(/"/g, "&quot;");

/** Serialises the children of a node: elements with attributes sorted by name, text escaped. */
export function serializeChildren(node: DomNode): string {
  let out = "";
  for (const child of Array.from(node.childNodes)) {
    if (child.nodeType === 3) out += escapeText(child.textContent ?? "");
    else if (child.nodeType === 1) {
      const el = child;
      const attrs = Array.from(el.attributes ?? [])
        .filter((a) => a.value !== "" || a.name === "d")
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((a) => ` ${a.name}="${escapeAttr(GEOMETRIC.has(a.name) ? roundNumbers(a.value) : a.value)}"`)
        .join("");
      const tag = el.localName!;
      const inner = serializeChildren(el);
      out += inner === "" ? `<${tag}${attrs}/>` : `<${tag}${attrs}>${inner}</${tag}>`;
    }
  }
  return out;
}

/** Serialises a drawn group (its own element included). */
export function serialize(g: G): string {
  return serializeChildren((g.node() as DomNode).parentNode!);
}

/** Serialises only what was drawn inside a group (the group element itself left out). */
export function serializeInner(g: G): string {
  return serializeChildren(g.node() as DomNode);
}

/** A complete standalone SVG document for a figure. */
export function toSvg(fig: Figure): string {
  const w = fmtNum(fig.width), h = fmtNum(fig.height);
  return `<svg xmlns="${SVG_NS}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ` +
    `font-family="${FONT_FAMILY}" fill="${INK}">` + `<rect width="${w}" height="${h}" fill="#ffffff"/>` +
    fig.body + "</svg>\n";
}

const PAD = 14;
const MIN_TEXT_WIDTH = 420;

/**
 * Puts a plot of `plotWidth` x `plotHeight` (drawn at the origin of `plot`) into a figure with a title above and
 * a wrapped caption and provenance line below. `pad` is the margin around the plot (0 when re-framing a finished
 * figure, which has its own margin); text is always inset by the standard margin.
 */
export function frame(plot: string, plotWidth: number, plotHeight: number, text: FrameText, pad = PAD): Figure {
  const titleLines = text.title ? wrapText(text.title, SIZE.title, Math.max(plotWidth, 320), "bold") : [];
  const width = Math.ceil(
    Math.max(
      plotWidth + 2 * pad,
      text.caption || text.provenance ? MIN_TEXT_WIDTH : 0, // so a small plot's caption is not a narrow column
      ...titleLines.map((l) => textWidth(l, SIZE.title, "bold") + 2 * PAD),
    ),
  );
  const inner = width - 2 * PAD;
  // Title and footer are drawn with d3; the plot (already serialised) is spliced in as text, never re-parsed.
  const head = newGroup(), foot = newGroup();
  let y = titleLines.length ? PAD : pad;
  for (const line of titleLines) {
    head.append("text").attr("x", PAD).attr("y", y + SIZE.title).attr("font-size", SIZE.title)
      .attr("font-weight", "bold").text(line);
    y += SIZE.title + 5;
  }
  if (titleLines.length) y += 6;
  const placed = `<g transform="translate(${fmtNum((width - plotWidth) / 2)},${fmtNum(y)})">${plot}</g>`;
  y += plotHeight;
  const block = (s: string | undefined, size: number, color: string) => {
    if (!s) return;
    y += 6;
    for (const line of wrapText(s, size, inner)) {
      foot.append("text").attr("x", PAD).attr("y", y + size).attr("font-size", size).attr("fill", color).text(line);
      y += size + 4;
    }
  };
  block(text.caption, SIZE.label, INK);
  block(text.provenance, SIZE.small, MUTED);
  const hasText = Boolean(text.caption || text.provenance);
  return {
    width,
    height: Math.ceil(y + (hasText ? PAD : pad)),
    body: serializeInner(head) + placed + serializeInner(foot),
  };
}

/** A finished figure with a caption and/or provenance line added underneath (no extra margin around it). */
export function withCaption(fig: Figure, text: Omit<FrameText, "title">): Figure {
  return frame(fig.body, fig.width, fig.height, { caption: text.caption, provenance: text.provenance }, 0);
}
