/**
 * Report section for §4.2, Figure 1: a placeholder that says the section is not implemented yet and shows the paper's
 * numbers. The module that implements it replaces this file, keeping the export `section` (paper/section.ts has the
 * contract and an example).
 * @module
 */
import type { Section } from "../section.ts";

/** §4.2, Figure 1: not implemented yet. */
export const section: Section = {
  id: "synthetic",
  title: "DPO raises the probability of responses the preference data does not cover",
  paper: "§4.2, Figure 1",
  experiments: ["synthetic"],
  command: "deno task synthetic",
  published: ["figure1"],
  plannedIn:
    "the issue for §4.2: the synthetic 8 x 8 study (Figure 1 heat-maps; probability on uncovered cells, DPO vs PPO, over seeds)",
};
