/**
 * A run's directory: `runs/<experiment>/<name>/` with `config.json` (resolved config, git commit, adapter, command),
 * `metrics.jsonl` (one JSON object per logged step), `summary.json`, and whatever else the run writes.
 *
 * Whole-file writes are atomic (see `fs.ts`). Metrics are appended a line at a time; a run killed mid-line leaves at
 * most one torn last line, which {@link RunDir.readMetrics} drops, and a resumed run first rewrites `metrics.jsonl`
 * up to the step of its checkpoint ({@link RunDir.truncateMetrics}) so no step is logged twice.
 *
 * @example
 * ```ts
 * const run = await RunDir.create("sft", "xs-seed1", { config: cfg, adapter: gpu.info });
 * await run.log(10, { "losses/sft": 1.23 });
 * await run.writeSummary({ final_loss: 0.5 });
 * ```
 * @module
 */
import { join } from "node:path";
import { atomicWrite, atomicWriteJson, exists, readJson } from "./fs.ts";
import { gitInfo } from "./git.ts";
import { fingerprint, sourceFingerprint } from "./source.ts";

/** A run's key: the SHA-256 of its resolved config and of the source that computes it (util/source.ts). */
export async function runKey(config: unknown): Promise<string> {
  return await fingerprint({ config, source: await sourceFingerprint() });
}

/** What `config.json` holds. */
export interface RunRecord {
  experiment: string;
  name: string;
  /** The command line that made the run (`deno task ...` or the script and its arguments). */
  command: string;
  git: { commit: string; dirty: boolean };
  adapter: unknown;
  started: string;
  config: unknown;
  /** What the run is keyed by: the SHA-256 of its config and of the source that computes it ({@link runKey}). */
  key?: string;
}

/** One logged step. */
export type MetricRow = { step: number } & Record<string, number | string>;

/** The root that holds every run, `runs/` unless RUNS_DIR says otherwise. */
export function runsRoot(): string {
  return Deno.env.get("RUNS_DIR") || "runs";
}

/**
 * The command line of this process as a reader would retype it: `deno task <name> <args>` when deno.json has a task
 * that runs this script (Deno 2.9 does not tell a script which task started it, so we look the script up),
 * otherwise `deno run -A <script> <args>`.
 */
export function commandLine(): string {
  const args = Deno.args.map((a) => (/^[\w./=:,@+-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");
  const script = Deno.mainModule.replace(/^file:\/\/\/?/, "/").replace(Deno.cwd() + "/", "");
  let task: string | undefined;
  try {
    const tasks = JSON.parse(Deno.readTextFileSync("deno.json")).tasks as Record<string, string>;
    task = Object.keys(tasks).find((k) => tasks[k] === `deno run -A ${script}`);
  } catch {
    // No deno.json in the working directory: fall back to the script.
  }
  return `${task ? `deno task ${task}` : `deno run -A ${script}`}${args ? " " + args : ""}`;
}

/** What an experiment prints when {@link RunDir.start} finds its run already finished. */
export function alreadyDone(experiment: string, name: string): string {
  return `${experiment}: runs/${experiment}/${name} is already complete for this config and source; nothing to do ` +
    `(remove the folder or pass --name to run again)`;
}

/** A run directory. */
export class RunDir {
  private constructor(readonly path: string, readonly record: RunRecord) {}

  /**
   * Creates (or, with `resume`, reopens) `runs/<experiment>/<name>/` and writes `config.json`. Without `resume`, an
   * existing directory's files are replaced as they are rewritten.
   */
  static async create(
    experiment: string,
    name: string,
    opts: { config: unknown; adapter?: unknown; resume?: boolean; root?: string; key?: string },
  ): Promise<RunDir> {
    if (!/^[\w.-]+$/.test(experiment) || !/^[\w.=,-]+$/.test(name)) {
      throw new RangeError(`Run names may hold letters, digits and . _ - = , only; got '${experiment}/${name}'`);
    }
    const path = join(opts.root ?? runsRoot(), experiment, name);
    await Deno.mkdir(path, { recursive: true });
    const record: RunRecord = {
      experiment,
      name,
      command: commandLine(),
      git: await gitInfo(),
      adapter: opts.adapter ?? null,
      started: new Date().toISOString(),
      config: opts.config,
      ...(opts.key ? { key: opts.key } : {}),
    };
    const run = new RunDir(path, record);
    if (!opts.resume) {
      // A new run: the old metrics go, and the old summary too, so a half-finished new run never passes for done.
      await Deno.remove(run.file("metrics.jsonl")).catch(() => {});
      await Deno.remove(run.file("summary.json")).catch(() => {});
    }
    await atomicWriteJson(run.file("config.json"), record);
    return run;
  }

  /**
   * Starts a keyed run: null when `runs/<experiment>/<name>/` already holds a finished run (a summary.json) of the
   * same key (config and source, {@link runKey}), so rerunning a finished command does nothing; otherwise
   * {@link RunDir.create} (an unfinished run of the same key starts again: its trainers find the models they had
   * finished in the model store, experiments/model_cache.ts).
   */
  static async start(
    experiment: string,
    name: string,
    opts: { config: unknown; adapter?: unknown; root?: string },
  ): Promise<RunDir | null> {
    const key = await runKey(opts.config), dir = join(opts.root ?? runsRoot(), experiment, name);
    if ((await exists(join(dir, "summary.json"))) && (await exists(join(dir, "config.json")))) {
      const old = await readJson<RunRecord>(join(dir, "config.json"));
      if (old.key === key) return null;
    }
    return RunDir.create(experiment, name, { ...opts, key });
  }

  /** Path of a file inside the run. */
  file(rel: string): string {
    return join(this.path, rel);
  }

  /** Appends one metrics row. Values should be finite numbers or short strings. */
  async log(step: number, metrics: Record<string, number | string>): Promise<void> {
    const row = { step, ...metrics };
    await Deno.writeTextFile(this.file("metrics.jsonl"), JSON.stringify(row) + "\n", { append: true });
  }

  /** Every complete metrics row (a torn last line from a killed run is dropped). */
  readMetrics(): Promise<MetricRow[]> {
    return readMetricsFile(this.file("metrics.jsonl"));
  }

  /** Keeps only rows with step <= `step` (used when resuming from a checkpoint taken at `step`). */
  async truncateMetrics(step: number): Promise<void> {
    const rows = (await this.readMetrics()).filter((r) => r.step <= step);
    await atomicWrite(this.file("metrics.jsonl"), rows.map((r) => JSON.stringify(r) + "\n").join(""));
  }

  /** Writes `summary.json` atomically. */
  writeSummary(summary: unknown): Promise<void> {
    return atomicWriteJson(this.file("summary.json"), summary);
  }

  /** Writes any JSON file inside the run atomically. */
  writeJson(rel: string, value: unknown): Promise<void> {
    return atomicWriteJson(this.file(rel), value);
  }

  /** Writes any text file inside the run atomically. */
  writeText(rel: string, text: string): Promise<void> {
    return atomicWrite(this.file(rel), text);
  }
}

/** Reads a metrics.jsonl file, dropping a torn final line; a malformed line elsewhere is an error naming it. */
export async function readMetricsFile(path: string): Promise<MetricRow[]> {
  if (!(await exists(path))) return [];
  const lines = (await Deno.readTextFile(path)).split("\n");
  const rows: MetricRow[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      rows.push(JSON.parse(line));
    } catch {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim() !== "")) {
        throw new SyntaxError(`Malformed metrics line ${i + 1} in ${path}`);
      }
    }
  });
  return rows;
}

/** Reads a finished run's record, summary and metrics. */
export async function loadRun(path: string): Promise<{ record: RunRecord; summary: unknown; metrics: MetricRow[] }> {
  const record = await readJson<RunRecord>(join(path, "config.json"));
  const summaryPath = join(path, "summary.json");
  const summary = (await exists(summaryPath)) ? await readJson(summaryPath) : null;
  return { record, summary, metrics: await readMetricsFile(join(path, "metrics.jsonl")) };
}
