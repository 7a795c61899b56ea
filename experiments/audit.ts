/**
 * `deno task audit FILE.yaml [--set key=value]... [--name NAME] [--out DIR]`: the tabular DPO-limitation audit of
 * §4.1 (Theorem 4.1, Table 1) on a small case of your own. The case format is documented in
 * algorithms/tabular/parse.ts and in the header of every file in examples/.
 *
 * Prints the Markdown tables (in the form of the paper's Table 1) and writes `runs/audit/<file stem>/`:
 * config.json (the resolved case and settings), summary.json (the JSON record), report.md, audit.svg and audit.png.
 * Everything is validated and computed, and the figure rendered, before the first file is written, so bad input
 * never replaces an earlier run's files.
 *
 * @example
 * ```sh
 * deno task audit examples/table1.yaml
 * deno task audit examples/extrapolation.yaml --set gd.steps=1000 --set beta=0.5 --name extrapolation-beta0.5
 * ```
 * @module
 */
import { basename, extname, join } from "node:path";
import { parseArgs } from "node:util";
import { type AuditRecord, runAudit } from "../algorithms/tabular/audit.ts";
import { SETTINGS, type TabularCase } from "../algorithms/tabular/case.ts";
import { auditMarkdown } from "../algorithms/tabular/markdown.ts";
import { parseCase } from "../algorithms/tabular/parse.ts";
import { describe } from "../util/config.ts";
import { atomicWrite, readJson } from "../util/fs.ts";
import { runMain } from "../util/cli.ts";
import { RunDir, runsRoot } from "../util/run_dir.ts";
import { renderFigure, withCaption } from "../paper/plot/mod.ts";
import { auditCaption, auditFigure } from "../paper/sections/theory_figure.ts";

const USAGE = `Usage: deno task audit FILE.yaml [--set key=value]... [--name NAME] [--out DIR] [--quiet]

Audits a small tabular preference case (PAPER.md §3.3): Bradley-Terry rewards, PPO's target, DPO's minimal loss and
how much mass its optima can put outside the data, an explicit such policy and whether PPO can reach it, and where
gradient descent on the DPO loss takes the mass. Writes DIR/audit/NAME/ (DIR: runs/ or RUNS_DIR; NAME: the file's
stem). --quiet prints nothing but the run directory.

Settings (top-level keys of the case file, or --set):
${describe(SETTINGS)}`;

/** The resolved case as config.json records it (names instead of indices). */
function caseRecord(c: TabularCase): unknown {
  return {
    file: c.file,
    settings: c.settings,
    prompts: c.prompts.map((p) => ({
      name: p.name,
      reference: Object.fromEntries(p.responses.map((y, j) => [y, p.ref[j]])),
      features: p.features ?? null,
    })),
    pairs: c.pairs.map((q) => ({
      prompt: c.prompts[q.prompt].name,
      chosen: c.prompts[q.prompt].responses[q.chosen],
      rejected: c.prompts[q.prompt].responses[q.rejected],
      count: q.count,
    })),
    candidates: c.candidates.map((k) => ({
      name: k.name,
      policy: Object.fromEntries([...k.policy].map(([x, pi]) => [c.prompts[x].name, pi])),
    })),
  };
}

/**
 * Audits `file` and writes the run `<root>/<experiment>/<name>/`; returns the record, the run's folder and the
 * Markdown. With `keyed`, a finished run of the same case and source is kept as it is and read back (`done`).
 */
export async function auditFile(
  file: string,
  opts: { sets?: string[]; name?: string; root?: string; experiment?: string; extraConfig?: object; keyed?: boolean } =
    {},
): Promise<{ record: AuditRecord; path: string; markdown: string; done: boolean }> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new RangeError(`Cannot read the case file ${file}: ${(e as Error).message}`);
  }
  const c = parseCase(text, file, opts.sets ?? []);
  const name = opts.name ?? basename(file, extname(file)), experiment = opts.experiment ?? "audit";
  const config = { ...opts.extraConfig, case: caseRecord(c) };
  const run = opts.keyed
    ? await RunDir.start(experiment, name, { config, root: opts.root })
    : await RunDir.create(experiment, name, { config, root: opts.root });
  if (!run) {
    const path = join(opts.root ?? runsRoot(), experiment, name);
    const record = await readJson<AuditRecord>(join(path, "summary.json"));
    return { record, path, markdown: await Deno.readTextFile(join(path, "report.md")), done: true };
  }
  const record = runAudit(c);
  const markdown = auditMarkdown(record);
  const fig = await renderFigure(withCaption(auditFigure(record), { caption: auditCaption(record) }));
  await run.writeText("report.md", markdown);
  await run.writeText("audit.svg", fig.svg);
  await atomicWrite(run.file("audit.png"), fig.png);
  await run.writeSummary(record); // last: a run with a summary is complete
  return { record, path: run.path, markdown, done: false };
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        set: { type: "string", multiple: true, default: [] },
        name: { type: "string" },
        out: { type: "string" },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: true,
    });
  } catch (e) {
    throw new RangeError(`audit: ${(e as Error).message}\n\n${USAGE}`);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return;
  }
  if (parsed.positionals.length !== 1) {
    throw new RangeError(`audit needs exactly one case file, got ${parsed.positionals.length}\n\n${USAGE}`);
  }
  const { path, markdown } = await auditFile(parsed.positionals[0], {
    sets: parsed.values.set as string[],
    name: parsed.values.name,
    root: parsed.values.out,
  });
  if (!parsed.values.quiet) console.log(markdown);
  console.log(`Wrote ${path}/ (config.json, summary.json, report.md, audit.svg, audit.png)`);
}

if (import.meta.main) await runMain(main);
