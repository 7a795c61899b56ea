/**
 * The report's sections, in the paper's order (DESIGN.md, "The study, section by section"). A section module that
 * replaces its placeholder keeps its file name and its export `section`, so this list does not change.
 * @module
 */
import type { Section } from "../section.ts";
import { section as theory } from "./theory.ts";
import { section as synthetic } from "./synthetic.ts";
import { section as safety } from "./safety.ts";
import { section as ppoFactors } from "./ppo_factors.ts";
import { section as benchmarks } from "./benchmarks.ts";
import { section as code } from "./code.ts";

/** Every section of the report, in paper order. */
export const SECTIONS: Section[] = [theory, synthetic, safety, ppoFactors, benchmarks, code];

/** The commands `deno task reproduce` should run (the implemented sections', at their default scale). */
export function reproduceCommands(): string[] {
  return SECTIONS.filter((s) => s.render).map((s) => s.command);
}
