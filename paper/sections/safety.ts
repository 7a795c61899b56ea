/**
 * Report section for §4.3, Table 2, Tables 10, 13: a placeholder that says the section is not implemented yet and
 * shows the paper's numbers. The module that implements it replaces this file, keeping the export `section`
 * (paper/section.ts has the contract and an example).
 * @module
 */
import type { Section } from "../section.ts";

/** §4.3, Table 2, Tables 10, 13: not implemented yet. */
export const section: Section = {
  id: "safety",
  title: "DPO is sensitive to the shift between the base model and the preference data",
  paper: "§4.3, Table 2, Tables 10, 13",
  experiments: ["safety"],
  command: "deno task safety",
  published: ["table2", "table10", "table13"],
  plannedIn:
    "the issue for §4.3: the safety testbed (Table 2 rows: DPO, + SFT (Safe), filters, DPO-Iter rounds, PPO; Tables 10 and 13)",
};
