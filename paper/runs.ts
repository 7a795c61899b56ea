/**
 * What the report knows about runs: every `runs/<experiment>/<name>/` that has a `config.json` (util/run_dir.ts),
 * the scale it was made at, the choice of which run a section shows, and the provenance line ("made by `command`
 * at commit C on adapter A") that every figure and table carries. Nothing here reads the clock or the machine:
 * the report depends on the run directories alone.
 * @module
 */
import { join } from "node:path";
import { exists } from "../util/fs.ts";
import { loadRun, type MetricRow, type RunRecord } from "../util/run_dir.ts";
import { type Scale, SCALES } from "../util/cli.ts";

/** One discovered run. */
export interface RunInfo {
  experiment: string;
  name: string;
  /**
   * `runs/<experiment>/<name>`, written with `runs/` whatever directory was scanned, so output has no machine paths.
   */
  id: string;
  /** Where it is on disk (for sections that read extra files, e.g. samples); never print it. */
  dir: string;
  record: RunRecord;
  summary: unknown;
  metrics: MetricRow[];
  /** The scale preset it ran at, when the record or the run name says; otherwise undefined. */
  scale?: Scale;
}

async function subdirs(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isDirectory && !e.name.startsWith(".")) names.push(e.name);
  return names.sort();
}

/** The scale of a run: `config.scale`, else a name that is a scale or starts with one ("small", "small-seed2"). */
export function runScale(record: RunRecord): Scale | undefined {
  const cfg = record.config as { scale?: unknown } | null;
  if (cfg && typeof cfg === "object" && SCALES.includes(cfg.scale as Scale)) return cfg.scale as Scale;
  const head = record.name.split(/[-_.,=]/)[0];
  return SCALES.includes(head as Scale) ? head as Scale : undefined;
}

/**
 * Every run under `root` (two levels: experiment, then run name), sorted by experiment and name. A directory
 * without `config.json` is skipped (a run still being created); a malformed one is an error naming its file.
 */
export async function discoverRuns(root: string): Promise<RunInfo[]> {
  if (!(await exists(root))) return [];
  const runs: RunInfo[] = [];
  for (const experiment of await subdirs(root)) {
    for (const name of await subdirs(join(root, experiment))) {
      const dir = join(root, experiment, name);
      if (!(await exists(join(dir, "config.json")))) continue;
      const { record, summary, metrics } = await loadRun(dir);
      runs.push({ experiment, name, id: `runs/${experiment}/${name}`, dir, record, summary, metrics });
      runs[runs.length - 1].scale = runScale(record);
    }
  }
  return runs;
}

/** Newest first by the record's start time, then by name, so the order depends only on the runs. */
export function newestFirst(runs: RunInfo[]): RunInfo[] {
  return [...runs].sort((a, b) =>
    a.record.started < b.record.started ? 1 : a.record.started > b.record.started ? -1 : a.id < b.id ? -1 : 1
  );
}

/** A run chosen for a section, and a sentence saying which scale it shows when that is not the one asked for. */
export interface Picked {
  run: RunInfo;
  /** Empty when the run is at the wanted scale; otherwise e.g. "Shown at scale `tiny`: no `small` run was found." */
  note: string;
}

/**
 * The newest run of `experiment` at `scale` (default `small`, DESIGN.md's default), else the newest at the other
 * scales in the order small, full, tiny, then one of unknown scale. Undefined when the experiment has no run.
 */
export function pickRun(runs: RunInfo[], experiment: string, scale: Scale = "small"): Picked | undefined {
  const mine = newestFirst(runs.filter((r) => r.experiment === experiment));
  const order: (Scale | undefined)[] = [
    scale,
    ...(["small", "full", "tiny"] as const).filter((s) => s !== scale),
    undefined,
  ];
  for (const s of order) {
    const run = mine.find((r) => r.scale === s);
    if (!run) continue;
    const shown = s === undefined ? "of unrecorded scale" : `at scale \`${s}\``;
    const note = s === scale
      ? ""
      : `Shown ${shown} (\`${run.id}\`): no \`${scale}\` run of \`${experiment}\` was found.`;
    return { run, note };
  }
  return undefined;
}

/** A one-line description of the adapter in a run record (util/run_dir.ts stores kernels/gpu.ts's AdapterRecord). */
export function adapterDescription(adapter: unknown): string {
  if (adapter === null || adapter === undefined) return "the CPU (no GPU adapter used)";
  if (typeof adapter === "string") return adapter;
  const a = adapter as Record<string, unknown>;
  const str = (k: string) => (typeof a[k] === "string" && a[k] !== "" ? a[k] as string : undefined);
  let d = str("description") ?? ([str("vendor"), str("architecture"), str("device")].filter(Boolean).join(" ") ||
    "an unnamed adapter");
  const backend = str("backend");
  if (backend && backend !== "auto") d += `, ${backend} backend`;
  if (a.isFallbackAdapter === true) d += ", software";
  return d;
}

function commitText(record: RunRecord): string {
  return `${record.git?.commit ?? "unknown"}${record.git?.dirty ? " (with uncommitted changes)" : ""}`;
}

function listText(items: string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** "made by `command` at commit C on A" for one run record. */
export function provenanceOf(record: RunRecord): string {
  return `made by \`${record.command}\` at commit ${commitText(record)} on ${adapterDescription(record.adapter)}`;
}

/**
 * The provenance of one or several runs: their commands grouped by (commit, adapter), in the order given, e.g.
 * "made by `a` and `b` at commit C on A; and by `c` at commit D on B".
 */
export function provenance(runs: RunInfo | RunInfo[]): string {
  const list = Array.isArray(runs) ? runs : [runs];
  if (list.length === 0) throw new RangeError("Provenance needs at least one run; got none");
  const groups = new Map<string, string[]>();
  for (const { record } of list) {
    const where = `at commit ${commitText(record)} on ${adapterDescription(record.adapter)}`;
    const cmds = groups.get(where) ?? [];
    if (!cmds.includes(`\`${record.command}\``)) cmds.push(`\`${record.command}\``);
    groups.set(where, cmds);
  }
  return "made " + [...groups].map(([where, cmds]) => `by ${listText(cmds)} ${where}`).join("; and ");
}
