/**
 * Report section for §4.1, Table 1, Theorem 4.1: a placeholder that says the section is not implemented yet and shows
 * the paper's numbers. The module that implements it replaces this file, keeping the export `section`
 * (paper/section.ts has the contract and an example).
 * @module
 */
import type { Section } from "../section.ts";

/** §4.1, Table 1, Theorem 4.1: not implemented yet. */
export const section: Section = {
  id: "theory",
  title: "DPO's solution set strictly contains PPO's",
  paper: "§4.1, Table 1, Theorem 4.1",
  experiments: ["theory"],
  command: "deno task theory",
  published: ["table1"],
  plannedIn:
    "the issue for §4.1: the tabular DPO-limitation audit (`deno task audit FILE.yaml`) and Table 1 regenerated (`deno task theory`)",
};
