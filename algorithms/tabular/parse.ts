/**
 * Reads an audit case from YAML and validates all of it before anything runs; every error names the file, the line
 * and the field.
 *
 * The format (examples/table1.yaml is the paper's Table 1):
 *
 * ```yaml
 * title: Table 1, the state-less counter-example   # optional
 * beta: 0.1                                        # β > 0 (Eqs. 2 and 7)
 * prompts:                                         # prompt name -> its responses
 *   x:
 *     reference: { y1: 0.5, y2: 0.5, y3: 0 }       # π_ref(y|x): sums to 1; fractions such as 1/3 allowed
 *     features: { y1: [1, 0], y2: [0, 1], y3: [2, 1] }  # optional φ(x, y), same length everywhere
 * pairs:                                           # preference data, any of these forms:
 *   - { prompt: x, chosen: y1, rejected: y2, count: 3 }
 *   - y1 > y2 * 3          # the prompt may be left out when there is only one; '* count' defaults to 1
 *   - x: y2 > y1           # 'prompt: chosen > rejected'
 * candidates:                                      # optional policies to check (responses left out are 0)
 *   pi_DPO: { x: { y1: 0.1, y2: 0, y3: 0.9 } }
 * unseenReward: min                                # optional settings; see SETTINGS in case.ts
 * gd: { steps: 300, model: linear }
 * ```
 *
 * A response that appears in a pair must have π_ref > 0: the DPO loss (Eq. 7) divides by π_ref, so such a pair makes
 * the loss undefined; the audit rejects it rather than pick a convention silently.
 * @module
 */
import { isScalar } from "yaml";
import { applySet, fields, setKey } from "../../util/config.ts";
import {
  type AuditSettings,
  type Candidate,
  defaultSettings,
  parseUnseenRule,
  type PromptCase,
  SETTINGS,
  type TabularCase,
} from "./case.ts";
import { parsePairs } from "./parse_pairs.ts";
import { NAME_RE, parseYaml, type Source, type YNode } from "./yaml_node.ts";

const CASE_KEYS = ["prompts", "pairs", "candidates"];
/** How far a hand-written probability table may be from summing to 1 (it is then renormalised exactly). */
export const SUM_TOLERANCE = 1e-6;

/**
 * Parses and validates a case. `sets` are `key=value` overrides of the settings (the CLI's `--set`), applied after
 * the file.
 *
 * @example
 * ```ts
 * const c = parseCase(await Deno.readTextFile("examples/table1.yaml"), "examples/table1.yaml");
 * ```
 */
export function parseCase(text: string, file: string, sets: string[] = []): TabularCase {
  const { root, src } = parseYaml(text, file);
  if (root === null) throw new RangeError(`${file} is empty: a case needs 'prompts' and 'pairs'`);
  const top = new Map(src.entries(root, "the document", 1).map((e) => [e.key, e]));
  const settings = defaultSettings();
  const where = new Map<string, string>([["beta", "default"]]);
  for (const e of top.values()) {
    if (CASE_KEYS.includes(e.key)) continue;
    if (!Object.hasOwn(SETTINGS, e.key)) {
      const known = [...CASE_KEYS, ...fields(SETTINGS).map(([k]) => k)].join(", ");
      throw src.error(e.line, `unknown key '${e.key}'; known keys: ${known}`);
    }
    const section = fields(SETTINGS).every(([k]) => k !== e.key);
    const leaves = section ? src.entries(e.value, e.key, e.line).map((s) => ({ ...s, key: `${e.key}.${s.key}` })) : [e];
    for (const leaf of leaves) {
      let v = isScalar(leaf.value) ? leaf.value.value : (leaf.value as { toJSON?: () => unknown })?.toJSON?.();
      if (leaf.key === "unseenReward" && typeof v === "number") v = String(v);
      setKey(SETTINGS, settings, leaf.key, v, `${file} line ${leaf.line}`);
      where.set(leaf.key, `${file} line ${leaf.line}`);
    }
  }
  for (const s of sets) {
    const eq = s.indexOf("=");
    // unseenReward is a string that may hold a number: quote it so the config layer keeps it a string.
    applySet(SETTINGS, settings, s.startsWith("unseenReward=") ? `unseenReward='${s.slice(eq + 1)}'` : s);
    if (eq > 0) where.set(s.slice(0, eq).trim(), `--set ${s}`);
  }
  checkSettings(settings, where);

  const promptsEntry = top.get("prompts");
  if (!promptsEntry) throw new RangeError(`${file}: the case has no 'prompts' (prompt name -> { reference: ... })`);
  const prompts = parsePrompts(src, promptsEntry.value, promptsEntry.line);
  const pairsEntry = top.get("pairs");
  if (!pairsEntry) throw new RangeError(`${file}: the case has no 'pairs' (the preference data)`);
  const pairs = parsePairs(src, pairsEntry.value, pairsEntry.line, prompts);
  const candEntry = top.get("candidates");
  const candidates = candEntry ? parseCandidates(src, candEntry.value, candEntry.line, prompts) : [];
  return { file, prompts, pairs, candidates, settings };
}

function checkSettings(s: AuditSettings, where: Map<string, string>): void {
  // β ≤ 0 turns Eq. 2's KL penalty off or around, and Eq. 7's margin with it.
  if (!(s.beta > 0)) throw new RangeError(`${where.get("beta")}: beta must be > 0, got ${s.beta}`);
  parseUnseenRule(s.unseenReward, where.get("unseenReward") ?? "default");
  // With no mass left on the covered responses every compared pair is 0 against 0: the DPO loss is undefined.
  if (!(s.witnessMass > 0)) {
    throw new RangeError(`${where.get("witnessMass") ?? "default"}: witnessMass must be > 0, got ${s.witnessMass}`);
  }
}

function parsePrompts(src: Source, node: YNode | null, line: number): PromptCase[] {
  const entries = src.entries(node, "prompts", line);
  if (entries.length === 0) throw src.error(line, "prompts is empty: declare at least one prompt");
  const prompts = entries.map((e): PromptCase => {
    const f = `prompts.${e.key}`;
    if (!NAME_RE.test(e.key)) {
      throw src.error(e.line, `${f}: a prompt name may hold letters, digits and _ . ' + - only`);
    }
    const body = new Map(src.entries(e.value, f, e.line).map((b) => [b.key, b]));
    for (const b of body.values()) {
      if (b.key !== "reference" && b.key !== "features") {
        throw src.error(b.line, `${f}.${b.key} is not a prompt field; a prompt has 'reference' and 'features'`);
      }
    }
    const refEntry = body.get("reference");
    if (!refEntry) throw src.error(e.line, `${f} has no 'reference' (response -> π_ref probability)`);
    const refs = src.entries(refEntry.value, `${f}.reference`, refEntry.line);
    if (refs.length === 0) throw src.error(refEntry.line, `${f}.reference is empty: declare at least one response`);
    const responses = refs.map((r) => r.key);
    for (const r of refs) {
      if (!NAME_RE.test(r.key)) {
        throw src.error(r.line, `${f}.reference: response name '${r.key}' may hold letters, digits and _ . ' + - only`);
      }
    }
    const ref = refs.map((r) => src.probability(r.value, `${f}.reference.${r.key}`, r.line));
    const sum = ref.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > SUM_TOLERANCE) {
      const terms = refs.map((r, i) => `${r.key} ${ref[i]}`).join(" + ");
      throw src.error(refEntry.line, `${f}.reference sums to ${sum}, not 1 (${terms})`);
    }
    const p: PromptCase = { name: e.key, responses, ref: ref.map((v) => v / sum) };
    const featEntry = body.get("features");
    if (featEntry) {
      const rows = new Map<string, number[]>();
      for (const r of src.entries(featEntry.value, `${f}.features`, featEntry.line)) {
        const ff = `${f}.features.${r.key}`;
        if (!responses.includes(r.key)) {
          throw src.error(r.line, `${ff}: '${r.key}' is not a declared response of prompt '${e.key}'`);
        }
        const xs = src.items(r.value, ff, r.line).map((x, i) => src.number(x, `${ff}[${i}]`, r.line));
        if (xs.length === 0) throw src.error(r.line, `${ff} is empty: give at least one feature`);
        rows.set(r.key, xs);
      }
      const missing = responses.filter((y) => !rows.has(y));
      if (missing.length > 0) throw src.error(featEntry.line, `${f}.features has no vector for ${missing.join(", ")}`);
      p.features = responses.map((y) => rows.get(y)!);
    }
    return p;
  });
  // A shared-parameter policy needs one feature space for all prompts.
  const withF = entries.map((e, i) => ({ e, p: prompts[i] })).filter(({ p }) => p.features);
  if (withF.length > 0) {
    const dim = withF[0].p.features![0].length;
    entries.forEach((e, i) => {
      const fs = prompts[i].features;
      if (!fs) throw src.error(e.line, `prompts.${e.key} has no features but prompts.${withF[0].e.key} has`);
      fs.forEach((row, j) => {
        if (row.length !== dim) {
          throw src.error(
            e.line,
            `prompts.${e.key}.features.${prompts[i].responses[j]} has ${row.length} numbers; ` +
              `prompts.${withF[0].e.key} uses ${dim}`,
          );
        }
      });
    });
  }
  return prompts;
}

function parseCandidates(src: Source, node: YNode | null, line: number, prompts: PromptCase[]): Candidate[] {
  return src.entries(node, "candidates", line).map((c): Candidate => {
    const policy = new Map<number, number[]>();
    for (const e of src.entries(c.value, `candidates.${c.key}`, c.line)) {
      const f = `candidates.${c.key}.${e.key}`;
      const pi = prompts.findIndex((p) => p.name === e.key);
      if (pi < 0) throw src.error(e.line, `${f}: '${e.key}' is not a declared prompt`);
      const probs = prompts[pi].responses.map(() => 0);
      for (const r of src.entries(e.value, f, e.line)) {
        const j = prompts[pi].responses.indexOf(r.key);
        if (j < 0) throw src.error(r.line, `${f}.${r.key}: '${r.key}' is not a declared response of prompt '${e.key}'`);
        probs[j] = src.probability(r.value, `${f}.${r.key}`, r.line);
      }
      const sum = probs.reduce((a, b) => a + b, 0);
      if (Math.abs(sum - 1) > SUM_TOLERANCE) throw src.error(e.line, `${f} sums to ${sum}, not 1`);
      policy.set(pi, probs.map((v) => v / sum));
    }
    return { name: c.key, policy };
  });
}
