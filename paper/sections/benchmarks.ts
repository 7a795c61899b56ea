/**
 * Report section for §6, Tables 4-8, 9, 11, 12: a placeholder that says the section is not implemented yet and shows
 * the paper's numbers. The module that implements it replaces this file, keeping the export `section`
 * (paper/section.ts has the contract and an example).
 * @module
 */
import type { Section } from "../section.ts";

/** §6, Tables 4-8, 9, 11, 12: not implemented yet. */
export const section: Section = {
  id: "benchmarks",
  title: "PPO beats RRHF, PRO, DPO and DPO-Iter on dialogue and code",
  paper: "§6, Tables 4-8, 9, 11, 12",
  experiments: ["dialogue", "code"],
  command: "deno task dialogue && deno task code",
  published: ["table4", "table5", "table6", "table7", "table8", "table9", "table11", "table12", "table14"],
  plannedIn:
    "the issue for §6: the dialogue and code benchmarks (SFT, RRHF, PRO, DPO, DPO-Iter, PPO; pass@k, k@n, β sweep)",
};
