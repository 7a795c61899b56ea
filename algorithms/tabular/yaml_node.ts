/**
 * Reading a parsed YAML document node by node with positions, so every error names the file, the line and the
 * field (`t.yaml line 7: pairs[2].chosen 'y4' is not a declared response of prompt 'x1'`).
 * @module
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";

/** A YAML node as the `yaml` package gives it (a Scalar, YAMLMap or YAMLSeq), with its source range. */
export type YNode = { range?: [number, number, number] | null } & object;

/** One entry of a mapping: its key (as a string), the key's line, and the value node. */
export interface Entry {
  key: string;
  line: number;
  value: YNode | null;
}

/** The positions of one file: turns nodes into line numbers and throws errors that name them. */
export class Source {
  constructor(readonly file: string, private readonly lc: LineCounter) {}

  /** The 1-based line where `node` starts (the `fallback` line when the node has no position, e.g. a null value). */
  line(node: YNode | null | undefined, fallback = 1): number {
    const r = node?.range;
    return r ? this.lc.linePos(r[0]).line : fallback;
  }

  /** An error `file line N: message`; a TypeError for a wrong kind of value, a RangeError otherwise. */
  error(line: number, message: string, kind: "range" | "type" = "range"): Error {
    const text = `${this.file} line ${line}: ${message}`;
    return kind === "type" ? new TypeError(text) : new RangeError(text);
  }

  /** The entries of a mapping node, in file order; a TypeError naming `field` if it is not a mapping. */
  entries(node: YNode | null, field: string, line: number): Entry[] {
    if (!isMap(node)) {
      throw this.error(
        this.line(node, line),
        `${field} must be a mapping (key: value lines), got ${describe(node)}`,
        "type",
      );
    }
    return node.items.map((pair) => {
      const k = pair.key as YNode | null;
      const key = isScalar(k) ? String(k.value) : String(k);
      return { key, line: this.line(k, line), value: pair.value as YNode | null };
    });
  }

  /** The items of a sequence node; a TypeError naming `field` if it is not a list. */
  items(node: YNode | null, field: string, line: number): YNode[] {
    if (!isSeq(node)) throw this.error(this.line(node, line), `${field} must be a list, got ${describe(node)}`, "type");
    return node.items as YNode[];
  }

  /** A finite number; a TypeError naming `field` otherwise. */
  number(node: YNode | null, field: string, line: number): number {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw this.error(this.line(node, line), `${field} must be a finite number, got ${describe(node)}`, "type");
    }
    return v;
  }

  /**
   * A probability: a number or a fraction written as a string ('1/3', so hand-written uniform tables sum to 1),
   * in [0, 1].
   */
  probability(node: YNode | null, field: string, line: number): number {
    const v = isScalar(node) ? node.value : undefined;
    let p = typeof v === "number" ? v : NaN;
    const m = typeof v === "string" ? /^\s*(\d+(?:\.\d*)?)\s*\/\s*(\d+(?:\.\d*)?)\s*$/.exec(v) : null;
    if (m) p = Number(m[1]) / Number(m[2]);
    if (!Number.isFinite(p)) {
      throw this.error(
        this.line(node, line),
        `${field} must be a probability (a number or a fraction such as 1/3), got ${describe(node)}`,
        "type",
      );
    }
    if (p < 0 || p > 1) throw this.error(this.line(node, line), `${field} must lie in [0, 1], got ${p}`);
    return p;
  }

  /** A string scalar (numbers are accepted and turned into their text, since names such as `1` are natural). */
  string(node: YNode | null, field: string, line: number): string {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== "string" && typeof v !== "number") {
      throw this.error(this.line(node, line), `${field} must be a name, got ${describe(node)}`, "type");
    }
    return String(v);
  }
}

/** A short description of a node for messages: its JSON text, or its kind. */
export function describe(node: YNode | null): string {
  if (node === null || node === undefined) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) return JSON.stringify(node.value);
  return String(node);
}

/** Parses YAML text keeping positions; malformed YAML is a SyntaxError naming the line and column. */
export function parseYaml(text: string, file: string): { root: YNode | null; src: Source } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const { line, col } = lc.linePos(e.pos[0]);
    throw new SyntaxError(`Malformed YAML in ${file} at line ${line}, column ${col}: ${e.message.split("\n")[0]}`);
  }
  return { root: doc.contents as YNode | null, src: new Source(file, lc) };
}

/** Names of prompts and responses: letters, digits and _ . ' + - (so the compact pair form 'a > b * 2' parses). */
export const NAME_RE = /^[\p{L}\p{N}_.'+-]+$/u;
