/**
 * The contract between the report (paper/report.ts) and one section module in paper/sections/. A section names the
 * paper section it reproduces, the experiments whose runs it reads and the command that makes them; its `render`
 * gets a {@link SectionContext} (the runs found, and writers for figures and tables) and returns Markdown plus the
 * choices we made where the paper is silent and a plain statement of agreement or disagreement.
 *
 * A section that is not implemented yet has no `render` and names the issue that implements it (`plannedIn`);
 * the report says so, and still prints the paper's published numbers for it (`published`).
 *
 * @example
 * ```ts
 * export const section: Section = {
 *   id: "synthetic", title: "DPO favours responses the data does not cover", paper: "§4.2, Figure 1",
 *   experiments: ["synthetic"], command: "deno task synthetic", published: [],
 *   async render(ctx) {
 *     const { run, note } = ctx.pick("synthetic")!;  // the report only calls render when a run exists
 *     const fig = heatmap({ title: "π_DPO", rows, cols, values, marked });
 *     const md = await ctx.figure("figure1", fig, { caption: "...", runs: run });
 *     return { body: `${note}\n\n${md}`, choices: ["MLP width 32 (not in paper)"], verdict: "Agrees: ..." };
 *   },
 * };
 * ```
 * @module
 */
import type { Figure } from "./plot/mod.ts";
import type { Picked, RunInfo } from "./runs.ts";
import type { Align, Cell } from "./tables.ts";
import type { Scale } from "../util/cli.ts";

/** One of a section's headline claims, for the report's first screen. */
export interface Headline {
  /** The paper's claim in a few words. */
  claim: string;
  /** The paper's figure for it. */
  paper: string;
  /** Ours, with its interval. */
  ours: string;
  /** "agrees", "disagrees", "inconclusive" (or a short phrase, e.g. "not run at this scale"). */
  verdict: string;
}

/** Counts verdicts for {@link SectionOutput.tally}: "agrees…" and "consistent…" agree, "disagrees…" disagree. */
export function tallyOf(verdicts: readonly string[]): { agrees: number; disagrees: number; inconclusive: number } {
  const agrees = verdicts.filter((v) => v.startsWith("agrees") || v.startsWith("consistent")).length;
  const disagrees = verdicts.filter((v) => v.startsWith("disagrees")).length;
  return { agrees, disagrees, inconclusive: verdicts.length - agrees - disagrees };
}

/** What a section's `render` returns. */
export interface SectionOutput {
  /** Markdown: text, the Markdown that {@link SectionContext.figure} and {@link SectionContext.table} returned. */
  body: string;
  /** Choices we made where the paper is silent (PAPER.md's "not in paper" items), one sentence each. */
  choices?: string[];
  /** A plain statement of where our result agrees or disagrees with the paper's, and by how much. */
  verdict?: string;
  /** The section's headline claims (the report's first screen lists them). */
  headlines?: Headline[];
  /** How many of the section's tested claims agree, disagree or are inconclusive (the overview figure). */
  tally?: { agrees: number; disagrees: number; inconclusive: number };
}

/** A table for {@link SectionContext.table}: rows of cells under a header, or a ready Markdown table. */
export type TableSpec =
  & { title: string; caption?: string; runs?: RunInfo | RunInfo[] }
  & ({ header: string[]; rows: Cell[][]; align?: Align[] } | { markdown: string });

/** What a section can ask of the report while it renders. */
export interface SectionContext {
  /** Every run found, sorted by experiment and name. */
  readonly runs: readonly RunInfo[];
  /** Runs of one experiment, newest first (optionally only one scale). */
  runsOf(experiment: string, scale?: Scale): RunInfo[];
  /** The newest run of an experiment at `scale` (default small), falling back to other scales with a note. */
  pick(experiment: string, scale?: Scale): Picked | undefined;
  /** "made by `command` at commit C on adapter A" for these runs. */
  provenance(runs: RunInfo | RunInfo[]): string;
  /**
   * Saves a figure as `figures/<section>_<name>.svg|png`, adding the caption and the runs' provenance under it
   * (build the chart without them), and returns the Markdown that shows it.
   */
  figure(
    name: string,
    fig: Figure,
    opts: { caption: string; runs: RunInfo | RunInfo[]; alt?: string },
  ): Promise<string>;
  /** Saves a table as `tables/<section>_<name>.md` (with its caption and provenance) and returns Markdown for it. */
  table(name: string, spec: TableSpec): string;
}

/** One section of the report. */
export interface Section {
  /** File stem and anchor, e.g. "theory"; prefixes its figure and table files. */
  id: string;
  /** A short claim-style title. */
  title: string;
  /** The paper's section, tables and figures it covers, e.g. "§4.2, Figure 1". */
  paper: string;
  /** Experiments (run directories under runs/) it reads. */
  experiments: string[];
  /** The command that makes its runs at the default scale, e.g. "deno task theory". */
  command: string;
  /** Ids of the paper's tables (paper/published.ts) that belong to this section. */
  published: string[];
  /** While the section is not implemented: the issue that implements it. */
  plannedIn?: string;
  /** Renders the section; called only when at least one of `experiments` has a run. */
  render?: (ctx: SectionContext) => Promise<SectionOutput> | SectionOutput;
}

/** Checks a section's fields; a bad one is an error naming the section and field. */
export function checkSection(s: Section): void {
  if (!/^[a-z][a-z0-9_]*$/.test(s.id)) {
    throw new RangeError(`Section id must be lower-case letters, digits and _; got '${s.id}'`);
  }
  if (!s.render && !s.plannedIn) {
    throw new TypeError(`Section '${s.id}' has neither render nor plannedIn: say which issue implements it`);
  }
  if (s.experiments.length === 0) throw new RangeError(`Section '${s.id}' lists no experiments`);
}
