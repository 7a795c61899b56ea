/**
 * The command line every experiment shares: `--scale tiny|small|full`, `--config FILE.yaml`, `--set key=value`
 * (repeatable), `--name NAME`, `--help`.
 *
 * @example
 * ```ts
 * const { config, scale } = await parseExperimentArgs(Deno.args, { experiment: "synthetic", schema, scales });
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, type ConfigOf, describe, type Overrides, resolveConfig, type Schema } from "./config.ts";

/** The scale presets of DESIGN.md: tiny (seconds, tests and CI), small (the default), full (for a GPU). */
export const SCALES = ["tiny", "small", "full"] as const;
/** One of {@link SCALES}. */
export type Scale = typeof SCALES[number];

/** Parsed experiment arguments. */
export interface ExperimentArgs<S extends Schema> {
  config: ConfigOf<S>;
  scale: Scale;
  /** Run name: `--name`, or the scale. */
  name: string;
  /** The raw `--set` arguments, for the record. */
  sets: string[];
  configFile?: string;
}

/** Parses an experiment's arguments; `--help` prints every config key with its default and doc, then exits. */
export async function parseExperimentArgs<S extends Schema>(
  args: string[],
  spec: { experiment: string; schema: S; scales: Record<Scale, Overrides<S>>; about?: string },
): Promise<ExperimentArgs<S>> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        scale: { type: "string", default: "small" },
        config: { type: "string" },
        set: { type: "string", multiple: true, default: [] },
        name: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: false,
    });
  } catch (e) {
    throw new ConfigError(`${spec.experiment}: ${(e as Error).message}`);
  }
  const v = parsed.values;
  if (v.help) {
    console.log(
      `${spec.about ?? spec.experiment}\n\nOptions: --scale tiny|small|full, --config FILE.yaml, ` +
        `--set key=value, --name NAME\n\nConfig keys (defaults before scale presets):\n${describe(spec.schema)}`,
    );
    Deno.exit(0);
  }
  const scale = v.scale as Scale;
  if (!SCALES.includes(scale)) throw new ConfigError(`--scale must be one of ${SCALES.join(", ")}; got '${v.scale}'`);
  let yaml: { text: string; file: string } | undefined;
  if (v.config) {
    try {
      yaml = { text: await Deno.readTextFile(v.config), file: v.config };
    } catch (e) {
      throw new ConfigError(`Cannot read config file ${v.config}: ${(e as Error).message}`);
    }
  }
  const config = resolveConfig(spec.schema, {
    presets: [{ name: scale, values: spec.scales[scale] }],
    yaml,
    sets: v.set as string[],
  });
  return { config, scale, name: v.name ?? scale, sets: v.set as string[], configFile: v.config };
}

/** Runs `main`, printing a ConfigError (or any error) as one clear line instead of a stack, with exit code 2. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof ConfigError || e instanceof RangeError || e instanceof TypeError || e instanceof SyntaxError) {
      console.error(`error: ${e.message}`);
      Deno.exit(2);
    }
    throw e;
  }
}
