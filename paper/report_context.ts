/**
 * The report's side of a section's render: the {@link SectionContext} a section draws through. Figures and tables
 * are rendered into memory here and written by paper/report.ts only after every section has run, so a failing
 * section never leaves half of the outputs replaced.
 * @module
 */
import { checkFigureName, type Figure, renderFigure, withCaption } from "./plot/mod.ts";
import { newestFirst, pickRun, provenance, type RunInfo } from "./runs.ts";
import type { Section, SectionContext, TableSpec } from "./section.ts";
import { escapeCell, markdownTable, tableDocument } from "./tables.ts";
import type { Scale } from "../util/cli.ts";

/** Files a report will write, by path relative to the output directory. */
export type Outputs = Map<string, string | Uint8Array>;

/** Inline Markdown text for captions: no line breaks (they would end the paragraph or an image's alt text). */
const inline = (s: string) => s.replace(/\s*\n\s*/g, " ").trim();

/** The context handed to one section; it adds that section's files to `outputs`. */
export class ReportContext implements SectionContext {
  constructor(
    private readonly section: Section,
    readonly runs: readonly RunInfo[],
    private readonly outputs: Outputs,
  ) {}

  runsOf(experiment: string, scale?: Scale): RunInfo[] {
    return newestFirst(this.runs.filter((r) => r.experiment === experiment && (!scale || r.scale === scale)));
  }

  pick(experiment: string, scale?: Scale) {
    return pickRun([...this.runs], experiment, scale);
  }

  provenance(runs: RunInfo | RunInfo[]): string {
    return provenance(runs);
  }

  private claim(rel: string): void {
    if (this.outputs.has(rel)) throw new RangeError(`Section '${this.section.id}' writes ${rel} twice`);
    this.outputs.set(rel, "");
  }

  async figure(
    name: string,
    fig: Figure,
    opts: { caption: string; runs: RunInfo | RunInfo[]; alt?: string },
  ): Promise<string> {
    checkFigureName(name);
    if (!opts.caption?.trim()) throw new RangeError(`Figure '${name}' of section '${this.section.id}' has no caption`);
    const stem = `${this.section.id}_${name}`;
    const prov = provenance(opts.runs);
    this.claim(`figures/${stem}.svg`);
    this.claim(`figures/${stem}.png`);
    const { svg, png } = await renderFigure(withCaption(fig, { caption: opts.caption, provenance: prov }));
    this.outputs.set(`figures/${stem}.svg`, svg);
    this.outputs.set(`figures/${stem}.png`, png);
    const alt = inline(opts.alt ?? opts.caption).replace(/[[\]]/g, "");
    return `![${alt}](figures/${stem}.png)\n\n${inline(opts.caption)} ([SVG](figures/${stem}.svg))\n\n` +
      `<sub>${prov}</sub>\n`;
  }

  table(name: string, spec: TableSpec): string {
    checkFigureName(name);
    const stem = `${this.section.id}_${name}`;
    const md = "markdown" in spec ? spec.markdown.trimEnd() + "\n" : markdownTable(spec.header, spec.rows, spec);
    const prov = spec.runs ? provenance(spec.runs) : undefined;
    this.claim(`tables/${stem}.md`);
    this.outputs.set(`tables/${stem}.md`, tableDocument(spec.title, md, spec.caption, prov));
    const parts = [`**${escapeCell(inline(spec.title))}** ([file](tables/${stem}.md))`, "", md.trimEnd()];
    if (spec.caption) parts.push("", inline(spec.caption));
    if (prov) parts.push("", `<sub>${prov}</sub>`);
    return parts.join("\n") + "\n";
  }
}
