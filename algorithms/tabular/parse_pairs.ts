/**
 * The `pairs` list of a case file (format in parse.ts): the full form `{ prompt, chosen, rejected, count }`, the
 * compact string `'prompt: chosen > rejected * count'` (prompt and count optional), and `- x: y1 > y2`, which YAML
 * reads as the one-key mapping `{ x: "y1 > y2" }`. Every error names the file, the line and `pairs[i].field`.
 * @module
 */
import { isMap, isScalar } from "yaml";
import type { Pair, PromptCase } from "./case.ts";
import type { Source, YNode } from "./yaml_node.ts";

const PAIR_KEYS = ["prompt", "chosen", "rejected", "count"];

/** 'prompt: chosen > rejected * count', the prompt and the count optional; '≻' and '×' are accepted too. */
const COMPACT_RE = /^\s*(?:([^\s:>≻*×]+)\s*:\s*)?([^\s:>≻*×]+)\s*[>≻]\s*([^\s:>≻*×]+)\s*(?:[*×]\s*(\S+))?\s*$/;

/** Reads and validates the pairs against the declared prompts and responses. */
export function parsePairs(src: Source, node: YNode | null, line: number, prompts: PromptCase[]): Pair[] {
  const blank = node === null || (isScalar(node) && node.value === null); // `pairs:` with nothing after it
  const items = blank ? [] : src.items(node, "pairs", line);
  if (items.length === 0) {
    throw src.error(line, "pairs is empty: the DPO loss (Eq. 7) averages over preference pairs, so give at least one");
  }
  return items.map((item, i): Pair => {
    const f = `pairs[${i}]`;
    const at = src.line(item, line);
    let raw: { prompt?: string; chosen?: string; rejected?: string; count?: unknown };
    const compact = (s: string, prompt?: string) => {
      const m = COMPACT_RE.exec(s);
      if (!m) throw src.error(at, `${f} '${s}' is not of the form 'chosen > rejected' or 'chosen > rejected * count'`);
      return { prompt: prompt ?? m[1], chosen: m[2], rejected: m[3], count: m[4] === undefined ? 1 : Number(m[4]) };
    };
    if (isScalar(item) && typeof item.value === "string") raw = compact(item.value);
    else if (isMap(item)) {
      const es = src.entries(item, f, at);
      if (es.length === 1 && !PAIR_KEYS.includes(es[0].key)) {
        // `- x: y1 > y2` is YAML for the mapping { x: "y1 > y2" }: the compact form with its prompt.
        raw = compact(src.string(es[0].value, `${f}.${es[0].key}`, es[0].line), es[0].key);
      } else {
        raw = {};
        for (const e of es) {
          if (!PAIR_KEYS.includes(e.key)) {
            throw src.error(e.line, `${f}.${e.key} is not a pair field; a pair has ${PAIR_KEYS.join(", ")}`);
          }
          const v = e.key === "count"
            ? src.number(e.value, `${f}.count`, e.line)
            : src.string(e.value, `${f}.${e.key}`, e.line);
          (raw as Record<string, unknown>)[e.key] = v;
        }
        raw.count ??= 1;
      }
    } else {throw src.error(
        at,
        `${f} must be { prompt, chosen, rejected, count } or 'chosen > rejected * count'`,
        "type",
      );}

    if (raw.prompt === undefined && prompts.length !== 1) {
      throw src.error(at, `${f}.prompt is missing and the case has ${prompts.length} prompts; name one`);
    }
    const pi = raw.prompt === undefined ? 0 : prompts.findIndex((p) => p.name === raw.prompt);
    if (pi < 0) {
      throw src.error(
        at,
        `${f}.prompt '${raw.prompt}' is not a declared prompt (${prompts.map((p) => p.name).join(", ")})`,
      );
    }
    const p = prompts[pi];
    const resp = (field: "chosen" | "rejected") => {
      const name = raw[field];
      if (name === undefined) throw src.error(at, `${f}.${field} is missing`);
      const j = p.responses.indexOf(name);
      if (j < 0) {
        throw src.error(
          at,
          `${f}.${field} '${name}' is not a declared response of prompt '${p.name}' (declared: ${
            p.responses.join(", ")
          })`,
        );
      }
      if (p.ref[j] === 0) {
        throw src.error(
          at,
          `${f}.${field} '${name}' has π_ref = 0 in prompt '${p.name}': log π(y)/π_ref(y) in the DPO loss (Eq. 7) is ` +
            `undefined; give it a positive reference probability or drop the pair`,
        );
      }
      return j;
    };
    const chosen = resp("chosen");
    const rejected = resp("rejected");
    if (chosen === rejected) throw src.error(at, `${f}: chosen and rejected are both '${raw.chosen}'`);
    const count = raw.count as number;
    if (typeof count !== "number" || !Number.isFinite(count)) {
      throw src.error(at, `${f}.count must be a finite number, got ${JSON.stringify(raw.count)}`, "type");
    }
    if (!(count > 0)) {
      throw src.error(at, `${f}.count must be positive, got ${count}${count === 0 ? " (drop the pair)" : ""}`);
    }
    return { prompt: pi, chosen, rejected, count, line: at };
  });
}
