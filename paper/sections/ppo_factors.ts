/**
 * Report section for §5, Table 3, Figure 2: a placeholder that says the section is not implemented yet and shows the
 * paper's numbers. The module that implements it replaces this file, keeping the export `section` (paper/section.ts
 * has the contract and an example).
 * @module
 */
import type { Section } from "../section.ts";

/** §5, Table 3, Figure 2: not implemented yet. */
export const section: Section = {
  id: "ppo_factors",
  title: "Advantage normalisation, large batches and a reference EMA make PPO work",
  paper: "§5, Table 3, Figure 2; Appendix C, Table 11",
  experiments: ["ppo-factors"],
  command: "deno task ppo-factors",
  published: ["table3", "table11"],
  plannedIn:
    "the issue for §5: the PPO key factors on the dialogue and code testbeds (Table 3 cumulative ablation, Figure 2 batch-size curve)",
};
