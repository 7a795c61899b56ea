/**
 * Report section for §6's dialogue part, Tables 4, 5, 11, 12, 14: a placeholder that says the section is not implemented yet and shows
 * the paper's numbers. The module that implements it replaces this file, keeping the export `section`
 * (paper/section.ts has the contract and an example).
 * @module
 */
import type { Section } from "../section.ts";

/** §6 dialogue, Tables 4, 5, 11, 12, 14: not implemented yet (the code part is paper/sections/code.ts). */
export const section: Section = {
  id: "benchmarks",
  title: "PPO beats RRHF, PRO, DPO and DPO-Iter on dialogue",
  paper: "§6.1, Tables 4, 5, 11, 12, 14",
  experiments: ["dialogue"],
  command: "deno task dialogue",
  published: ["table4", "table5", "table11", "table12", "table14"],
  plannedIn: "the issue for §6's dialogue benchmarks (SFT, RRHF, PRO, DPO, DPO-Iter, PPO on the assistant world)",
};
