/**
 * `deno task report [--runs DIR] [--out DIR]`: regenerates paper/README.md, paper/figures/*.svg|png and
 * paper/tables/*.md from the run directories under runs/ and nothing else (no clock, no machine paths), so running
 * it twice, or after deleting paper/figures, writes identical files.
 *
 * Each registered section (paper/sections/registry.ts) is rendered in paper order: a section not implemented yet
 * says which issue implements it, a section without runs says which command makes them, and a section that throws
 * is reported in the README and makes the command exit with status 1 after everything else is written.
 *
 * @example
 * ```ts
 * const { files, failed } = await buildReport({ runsDir: "runs", outDir: "paper" });
 * ```
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { atomicWrite, exists } from "../util/fs.ts";
import { runsRoot } from "../util/run_dir.ts";
import { type Outputs, ReportContext } from "./report_context.ts";
import { readmeMarkdown, type RenderedSection } from "./report_readme.ts";
import { groupedBars, renderFigure, withCaption } from "./plot/mod.ts";
import { discoverRuns, pickRun, provenance, type RunInfo } from "./runs.ts";
import { checkSection, type Section } from "./section.ts";

/** Options of {@link buildReport}. */
export interface ReportOptions {
  /** Where the run directories are (default `runs/`, or RUNS_DIR). */
  runsDir?: string;
  /** Where README.md, figures/ and tables/ go (default `paper`). */
  outDir?: string;
  /** The sections, in order (default: the registry). */
  sections?: Section[];
}

/** What {@link buildReport} did. */
export interface ReportResult {
  /** Files written, relative to the output directory, sorted. */
  files: string[];
  /** Files removed from figures/ and tables/ because no section produces them any more. */
  removed: string[];
  /** Ids of sections whose render threw. */
  failed: string[];
}

/** The output folders the report owns entirely: a file in them that no section produced is stale and removed. */
const OWNED = ["figures", "tables"];

/** Renders every section and writes the report; see the module doc. */
export async function buildReport(opts: ReportOptions = {}): Promise<ReportResult> {
  const runsDir = opts.runsDir ?? runsRoot();
  const outDir = opts.outDir ?? "paper";
  const sections = opts.sections ?? (await import("./sections/registry.ts")).SECTIONS;
  const ids = new Set<string>();
  for (const s of sections) {
    checkSection(s);
    if (ids.has(s.id)) throw new RangeError(`Two sections have the id '${s.id}'`);
    ids.add(s.id);
  }
  const runs = await discoverRuns(runsDir);
  const outputs: Outputs = new Map();
  const rendered: RenderedSection[] = [];
  for (const section of sections) {
    const mine = runs.filter((r) => section.experiments.includes(r.experiment));
    if (!section.render) {
      rendered.push({ section, status: "planned", runs: mine });
      continue;
    }
    if (mine.length === 0) {
      rendered.push({ section, status: "no runs", runs: mine });
      continue;
    }
    // A section's files only count when it finishes: a failure drops what it had started.
    const local: Outputs = new Map([...outputs].map(([k]) => [k, ""]));
    try {
      const output = await section.render(new ReportContext(section, runs, local));
      for (const [k, v] of local) if (!outputs.has(k)) outputs.set(k, v);
      rendered.push({ section, status: "shown", runs: mine, output });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      console.error(`report: section '${section.id}' failed: ${message}`);
      rendered.push({ section, status: "failed", runs: mine, error: message });
    }
  }
  const overview = await overviewFigure(rendered, runs, outputs);
  outputs.set("README.md", readmeMarkdown(rendered, runs, overview));
  const removed = await removeStale(outDir, outputs);
  const files = [...outputs.keys()].sort();
  for (const rel of files) await atomicWrite(join(outDir, rel), outputs.get(rel)!);
  return { files, removed, failed: rendered.filter((r) => r.status === "failed").map((r) => r.section.id) };
}

/** The first screen's figure: each section's claims by verdict; returns its Markdown ("" when no section has any). */
async function overviewFigure(rendered: RenderedSection[], runs: RunInfo[], outputs: Outputs): Promise<string> {
  const shown = rendered.filter((r) => r.output?.tally);
  if (shown.length === 0) return "";
  const fig = groupedBars({
    groups: shown.map((r) => r.section.paper.split(",")[0]),
    series: ["agree", "disagree", "inconclusive"],
    values: shown.map((r) => [r.output!.tally!.agrees, r.output!.tally!.disagrees, r.output!.tally!.inconclusive]),
    yLabel: "claims tested",
    valueLabels: true,
  });
  const caption = "Every claim each section tests, by verdict: its paired 95% interval over seeds lies on the " +
    "paper's side of zero (agree), on the other side (disagree), or across it (inconclusive).";
  // The runs the sections show: each experiment's pick (the newest at the default scale), as the sections choose.
  const used = [...new Set(shown.flatMap((s) => s.section.experiments))].sort()
    .map((e) => pickRun(runs, e)?.run).filter((r): r is RunInfo => r !== undefined);
  const prov = provenance(used);
  const { svg, png } = await renderFigure(withCaption(fig, { caption, provenance: prov }));
  outputs.set("figures/overview.svg", svg);
  outputs.set("figures/overview.png", png);
  return `![${caption}](figures/overview.png)\n\n${caption} ([SVG](figures/overview.svg))\n\n<sub>${prov}</sub>\n`;
}

async function removeStale(outDir: string, outputs: Outputs): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of OWNED) {
    const path = join(outDir, dir);
    if (!(await exists(path))) continue;
    for await (const e of Deno.readDir(path)) {
      const rel = `${dir}/${e.name}`;
      if (e.isFile && !outputs.has(rel) && /\.(svg|png|md)$|\.tmp-/.test(e.name)) {
        await Deno.remove(join(path, e.name));
        removed.push(rel);
      }
    }
  }
  return removed.sort();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { runs: { type: "string" }, out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(
      "deno task report [--runs DIR] [--out DIR]\n\nRegenerates paper/README.md, paper/figures and " +
        "paper/tables from the run directories (default runs/, or RUNS_DIR).",
    );
    return;
  }
  const runsDir = values.runs ?? runsRoot();
  if (values.runs && !(await exists(runsDir))) throw new RangeError(`--runs: no directory '${runsDir}'`);
  const result = await buildReport({ runsDir, outDir: values.out ?? "paper" });
  const n = result.files.length;
  console.log(
    `report: wrote ${n} file${n === 1 ? "" : "s"} to ${values.out ?? "paper"}/` +
      (result.removed.length ? `, removed ${result.removed.length} stale (${result.removed.join(", ")})` : ""),
  );
  if (result.failed.length) {
    console.error(`report: ${result.failed.length} section(s) failed: ${result.failed.join(", ")}`);
    Deno.exit(1);
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    if (e instanceof RangeError || e instanceof TypeError || e instanceof SyntaxError) {
      console.error(`error: ${e.message}`);
      Deno.exit(2);
    }
    throw e;
  }
}
