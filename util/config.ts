/**
 * Typed configs with a one-line doc per field, overridden by scale presets, a YAML file and `--set key=value`.
 *
 * A config is declared once as a schema of {@link opt} leaves (nested objects allowed); its TypeScript type is
 * derived from the defaults. Every override is validated: an unknown key, a wrong type, a value outside `choices`
 * or `min`/`max` is an error that names the key and where it came from (file and line, or the `--set` argument).
 *
 * @example
 * ```ts
 * const SCHEMA = {
 *   seed: opt(1, "Run seed; every random stream derives from it", { int: true }),
 *   ppo: {
 *     lr: opt(1e-5, "Actor learning rate (Appendix A.2)", { min: 0 }),
 *     advNorm: opt(true, "Normalise advantages over the rollout batch (§5)"),
 *   },
 * };
 * type Cfg = ConfigOf<typeof SCHEMA>;
 * const cfg: Cfg = resolveConfig(SCHEMA, { sets: ["ppo.lr=3e-5"] });
 * ```
 * @module
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";

/** A config field: its default, a one-line doc, and optional constraints. */
export interface Opt<T> {
  readonly kind: "opt";
  readonly value: T;
  readonly doc: string;
  readonly choices?: readonly T[];
  readonly min?: number;
  readonly max?: number;
  readonly int?: boolean;
}

/** Numeric constraints of a field. */
export interface NumberConstraints {
  min?: number;
  max?: number;
  int?: boolean;
}

/** Declares a config field: a number, a boolean, a list of numbers, or a string (an enum when `choices` is given). */
export function opt(value: number, doc: string, constraints?: NumberConstraints): Opt<number>;
export function opt(value: boolean, doc: string): Opt<boolean>;
export function opt(value: readonly number[], doc: string): Opt<readonly number[]>;
export function opt<T extends string>(value: NoInfer<T>, doc: string, constraints: { choices: readonly T[] }): Opt<T>;
export function opt(value: string, doc: string): Opt<string>;
export function opt(
  value: number | string | boolean | readonly number[],
  doc: string,
  constraints: NumberConstraints & { choices?: readonly unknown[] } = {},
): Opt<unknown> {
  return { kind: "opt", value, doc, ...constraints };
}

/** A nested schema of fields. */
export type Schema = { readonly [key: string]: Opt<unknown> | Schema };

/** The plain config type a schema describes. */
export type ConfigOf<S> = { -readonly [K in keyof S]: S[K] extends Opt<infer T> ? T : ConfigOf<S[K]> };

/** A partial override of a config, as scale presets write it. */
export type Overrides<S> = { [K in keyof S]?: S[K] extends Opt<infer T> ? T : Overrides<S[K]> };

function isOpt(x: unknown): x is Opt<unknown> {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "opt";
}

/** The defaults of a schema as a plain object. */
export function defaults<S extends Schema>(schema: S): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = isOpt(v) ? structuredClone(v.value) : defaults(v as Schema);
  }
  return out as ConfigOf<S>;
}

/** Every leaf as [dotted key, field]. */
export function fields(schema: Schema, prefix = ""): [string, Opt<unknown>][] {
  return Object.entries(schema).flatMap(([k, v]) =>
    isOpt(v) ? [[prefix + k, v] as [string, Opt<unknown>]] : fields(v as Schema, `${prefix}${k}.`)
  );
}

/** One line per field: key, default and doc, for `--help` and for recording the choices a run made. */
export function describe(schema: Schema): string {
  return fields(schema).map(([k, f]) => `  ${k} = ${JSON.stringify(f.value)}\n      ${f.doc}`).join("\n");
}

/** Thrown for a bad config key or value; the message names the key and the source. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function validate(f: Opt<unknown>, key: string, v: unknown, where: string): unknown {
  const def = f.value;
  const kind = Array.isArray(def) ? "list of numbers" : typeof def;
  const bad = (why: string) => new ConfigError(`Config key '${key}' ${why} (${where})`);
  if (Array.isArray(def)) {
    if (!Array.isArray(v) || v.some((x) => typeof x !== "number" || !Number.isFinite(x))) {
      throw bad(`must be a list of numbers, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  if (typeof v !== typeof def) throw bad(`must be a ${kind}, got ${JSON.stringify(v)} (${typeof v})`);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw bad(`must be a finite number, got ${v}`);
    if (f.int && !Number.isInteger(v)) throw bad(`must be an integer, got ${v}`);
    if (f.min !== undefined && v < f.min) throw bad(`must be >= ${f.min}, got ${v}`);
    if (f.max !== undefined && v > f.max) throw bad(`must be <= ${f.max}, got ${v}`);
  }
  if (f.choices && !f.choices.includes(v)) {
    throw bad(`must be one of ${f.choices.map((c) => JSON.stringify(c)).join(", ")}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Sets `key` (dotted) in `cfg` after validating it against the schema. */
export function setKey(schema: Schema, cfg: Record<string, unknown>, key: string, value: unknown, where: string): void {
  const parts = key.split(".");
  let node: Schema = schema;
  let obj = cfg;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    const child = Object.hasOwn(node, p) ? node[p] : undefined;
    if (child === undefined) {
      const known = Object.keys(node).map((k) => parts.slice(0, i).concat(k).join(".")).join(", ");
      throw new ConfigError(`Unknown config key '${key}' (${where}); known keys here: ${known}`);
    }
    if (isOpt(child)) {
      if (i !== parts.length - 1) {
        throw new ConfigError(`Config key '${parts.slice(0, i + 1).join(".")}' is a value, not a section (${where})`);
      }
      obj[p] = validate(child, key, value, where);
      return;
    }
    if (i === parts.length - 1) {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new ConfigError(`Config key '${key}' is a section; give its fields (${where})`);
      }
      for (const [k, v] of Object.entries(value)) setKey(schema, cfg, `${key}.${k}`, v, where);
      return;
    }
    node = child as Schema;
    obj = obj[p] as Record<string, unknown>;
  }
}

/** Applies a nested plain-object override (e.g. a scale preset). */
export function applyOverrides(schema: Schema, cfg: Record<string, unknown>, o: object, where: string): void {
  for (const [k, v] of Object.entries(o)) {
    const child = schema[k];
    if (child !== undefined && !isOpt(child) && typeof v === "object" && v !== null && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) setKey(schema, cfg, `${k}.${k2}`, v2, where);
    } else setKey(schema, cfg, k, v, where);
  }
}

/** Applies a YAML document's keys; errors name the file and line. */
export function applyYaml(schema: Schema, cfg: Record<string, unknown>, text: string, file: string): void {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const { line, col } = lc.linePos(e.pos[0]);
    throw new ConfigError(`Malformed YAML in ${file} at line ${line}, column ${col}: ${e.message.split("\n")[0]}`);
  }
  if (doc.contents === null) return;
  const walk = (node: unknown, prefix: string) => {
    if (!isMap(node)) {
      const line = (node as { range?: number[] })?.range ? lc.linePos((node as { range: number[] }).range[0]).line : 1;
      throw new ConfigError(
        `${file} line ${line}: expected a mapping of config keys${prefix ? ` under '${prefix}'` : ""}`,
      );
    }
    for (const pair of node.items) {
      const keyNode = pair.key as { value?: unknown; range?: number[] };
      const key = prefix + String(keyNode?.value ?? keyNode);
      const line = keyNode?.range ? lc.linePos(keyNode.range[0]).line : 0;
      const valueNode = pair.value;
      const isSection = !fields(schema).some(([k]) => k === key);
      if (isMap(valueNode) && isSection) walk(valueNode, key + ".");
      else {
        const v = isScalar(valueNode) || isSeq(valueNode) ? (valueNode as { toJSON(): unknown }).toJSON() : valueNode;
        setKey(schema, cfg, key, v, `${file} line ${line}`);
      }
    }
  };
  walk(doc.contents, "");
}

/** Parses one `--set key=value` argument; the value is read as a YAML scalar (so 3, 1e-5, true, [1, 2] work). */
export function applySet(schema: Schema, cfg: Record<string, unknown>, arg: string): void {
  const eq = arg.indexOf("=");
  if (eq <= 0) throw new ConfigError(`--set needs key=value, got '${arg}'`);
  const key = arg.slice(0, eq).trim();
  const doc = parseDocument(arg.slice(eq + 1));
  if (doc.errors.length > 0) throw new ConfigError(`--set ${arg}: cannot parse the value`);
  setKey(schema, cfg, key, doc.toJSON(), `--set ${arg}`);
}

/** Resolves a config: defaults, then each preset, then a YAML file, then `--set` arguments, in that order. */
export function resolveConfig<S extends Schema>(
  schema: S,
  sources: {
    presets?: { name: string; values: Overrides<S> }[];
    yaml?: { text: string; file: string };
    sets?: string[];
  } = {},
): ConfigOf<S> {
  const cfg = defaults(schema) as Record<string, unknown>;
  for (const p of sources.presets ?? []) applyOverrides(schema, cfg, p.values, `preset '${p.name}'`);
  if (sources.yaml) applyYaml(schema, cfg, sources.yaml.text, sources.yaml.file);
  for (const s of sources.sets ?? []) applySet(schema, cfg, s);
  return cfg as ConfigOf<S>;
}

/** Deep merge of two override objects (b wins): a scale preset on top of an experiment's common settings. */
export function mergeOverrides<T extends object>(a: T, b: T): T {
  const out = { ...a } as Record<string, unknown>;
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && prev && typeof prev === "object"
      ? mergeOverrides(prev as object, v as object)
      : v;
  }
  return out as T;
}
