/**
 * The paper's tables as data (see published.ts for the API). Transcribed from the project's digest of the paper
 * (PAPER.md; its section is named in each `source`). Percentages are kept as printed (41.6 means 41.6%).
 * @module
 */

/** A column of a published table. */
export interface PublishedColumn {
  name: string;
  /** "%" when the paper prints a percentage. */
  unit?: "%";
  /** Which direction the paper marks as better (↑ / ↓), where it does. */
  better?: "higher" | "lower";
}

/** A row: its label cells (one per key column) and its values (one per column). */
export interface PublishedRow {
  key: string[];
  values: (number | null)[];
  /** The cells as the paper prints them (trailing zeros and signs kept; "N/A" or "-" for a missing value). */
  printed: string[];
}

/** One table of the paper. */
export interface PublishedTable {
  /** "table1" ... "table14". */
  id: string;
  /** Where it is: table number, paper section, and the digest's section. */
  source: string;
  caption: string;
  keyColumns: string[];
  columns: PublishedColumn[];
  rows: PublishedRow[];
  /** Layout reconstructions and inconsistencies noted by the digest. */
  notes?: string[];
}

const pct = (name: string, better?: "higher" | "lower"): PublishedColumn => ({ name, unit: "%", better });
const num = (name: string, better?: "higher" | "lower"): PublishedColumn => ({ name, better });
// Cells are written as the paper prints them ("1.50", "+0.66"; "-" or "N/A" when missing), so digits survive.
const row = (key: string | string[], ...cells: string[]): PublishedRow => ({
  key: Array.isArray(key) ? key : [key],
  values: cells.map((c) => {
    if (c === "-" || c === "N/A") return null;
    if (!/^[+-]?\d+(\.\d+)?$/.test(c)) throw new SyntaxError(`Published cell '${c}' is not a number, "-" or "N/A"`);
    return Number(c);
  }),
  printed: cells,
});
const SAFE_COLS = [num("ΔHelp.", "higher"), num("Harm.", "lower"), pct("S.R.", "higher")];

/** Table 1, Figure 1's stated values, Table 2 and Table 3: the theory, the synthetic study, SafeRLHF, the ablation. */
export const TABLES_STUDY: PublishedTable[] = [
  {
    id: "table1",
    source: "Table 1 (§3-§4.1; PAPER.md §3.3)",
    caption: "A state-less counter-example with three actions when DPO can minimize the loss but produce an " +
      "unexpected policy. PPO will not produce π_DPO because π_ref enforces the probability of outputting y3 is zero.",
    keyColumns: ["Action"],
    columns: [num("y1"), num("y2"), num("y3")],
    rows: [row("π_ref", "0.5", "0.5", "0"), row("π_DPO", "0.1", "0.0", "0.9"), row("π_PPO", "1", "0", "0")],
    notes: ["D_pref = {(y_w = y1, y_l = y2)}: a single comparison, spanning the row in the paper."],
  },
  {
    id: "figure1",
    source: "Figure 1 (§4.2 text; PAPER.md §3.5)",
    caption: "The only Figure 1 values the paper states: on the red-circled (prompt, response) cells, which the " +
      "preference data does not cover, DPO increases the probability from 0.11 (π_ref) to 0.23.",
    keyColumns: ["Cells"],
    columns: [num("π_ref"), num("π_DPO")],
    rows: [row("red-circled uncovered cells", "0.11", "0.23")],
    notes: ["0.11 is close to 1/8, so π_ref was probably near uniform over the 8 responses (PAPER.md §3.5)."],
  },
  {
    id: "table2",
    source: "Table 2 (§4.3; PAPER.md §4.2)",
    caption: "The impact of training data on DPO: Llama-2-7B trained on Alpaca gives SFT (Alpaca), then DPO and PPO; " +
      "DPO performs poorly due to distribution mismatch and noise, fixed by additional SFT on the preference data, " +
      "filtering noisy pairs, and iterative DPO on responses labelled by a learned reward model.",
    keyColumns: ["Method"],
    columns: SAFE_COLS,
    rows: [
      row("SFT (Alpaca)", "-2.62", "1.50", "41.6"),
      row("PPO", "1.69", "-12.08", "99.5"),
      row("PPO + SFT (Safe)", "4.47", "-12.33", "99.6"),
      row("DPO", "-4.19", "-0.97", "55.4"),
      row("DPO + SFT (Safe)", "-1.62", "-3.50", "71.8"),
      row("DPO + filter dual-unsafe", "2.46", "-4.88", "80.8"),
      row("DPO + filter dual-safe", "-2.86", "-6.82", "95.8"),
      row("DPO Iter.1", "-3.22", "-5.23", "86.7"),
      row("DPO Iter.2", "-3.27", "-8.83", "99.7"),
      row("DPO Iter.3", "-3.26", "-10.21", "99.9"),
      row("DPO Iter.4", "-2.96", "-11.07", "99.9"),
    ],
    notes: [
      'The paper prints the "+" rows indented under PPO and DPO; they are cumulative (the digest\'s reading): ' +
      '"+ filter dual-safe" also keeps the dual-unsafe filter.',
    ],
  },
  {
    id: "table3",
    source: "Table 3 (§5; PAPER.md §5.3)",
    caption: "Cumulative ablation of PPO's key factors (baseline PPO uses batch size 64). HH-RLHF base Llama2-7B; " +
      "APPS and CodeContests base CodeLlama-34B.",
    keyColumns: ["Method"],
    columns: [
      num("HH-RLHF OpenAssistant Reward", "higher"),
      pct("APPS Intro. pass@5", "higher"),
      pct("APPS Inter. pass@5", "higher"),
      pct("APPS Comp. pass@5", "higher"),
      pct("CodeContest pass@10", "higher"),
      pct("CodeContest pass@100", "higher"),
      pct("CodeContest pass@1k", "higher"),
    ],
    rows: [
      row("SFT", "0.532", "38.6", "10.1", "3.9", "0.9", "4.3", "12.0"),
      row("baseline PPO", "0.706", "18.0", "2.4", "1.1", "4.3", "6.0", "7.7"),
      row("+ Adv.Norm.", "0.716", "38.1", "11.4", "4.6", "6.8", "9.4", "15.4"),
      row("+ Large.Batch.", "0.716", "42.3", "14.6", "7.5", "5.1", "12.8", "19.6"),
      row("+ Ref.EMA", "0.718", "44.4", "18.0", "9.1", "6.8", "13.7", "21.4"),
    ],
    notes: [
      "CodeContest columns are plain pass@k (not Table 8's 10@1k); the split is not stated.",
      '"+ Large.Batch." presumably means 512 rollouts (Appendix A.2) against the baseline\'s 64.',
    ],
  },
];

const WTL = (a: string, b: string) => [pct(a), pct("Tie"), pct(b)];

/** Tables 4 to 14: the benchmarks (§6) and Appendix C. */
export const TABLES_BENCHMARKS: PublishedTable[] = [
  {
    id: "table4",
    source: "Table 4 (§6, HH-RLHF; PAPER.md §6.1)",
    caption: "HH-RLHF test set: OpenAssistant reward and GPT-4 win/tie/lose rates (%, 100 queries) against the " +
      "dataset's chosen response and against SFT. DPO is trained on the dataset's pairs; DPO-Iter on self-generated " +
      "responses labelled by a reward model.",
    keyColumns: ["Method"],
    columns: [
      num("OpenAssistant Reward", "higher"),
      pct("vs Chosen: Tested Win", "higher"),
      pct("vs Chosen: Tie"),
      pct("vs Chosen: Chosen Win", "lower"),
      pct("vs SFT: Tested Win", "higher"),
      pct("vs SFT: Tie"),
      pct("vs SFT: SFT Win", "lower"),
    ],
    rows: [
      row("RRHF", "0.523", "28", "33", "39", "29", "37", "34"),
      row("PRO", "0.529", "37", "26", "37", "34", "33", "33"),
      row("DPO", "0.611", "55", "21", "24", "53", "31", "16"),
      row("DPO-Iter", "0.678", "55", "18", "27", "54", "33", "13"),
      row("PPO", "0.718", "57", "21", "22", "58", "29", "13"),
    ],
    notes: ["SFT's OpenAssistant reward is 0.532 (Table 3). DPO is 0.611 here and in Table 11 but 0.615 in Table 12."],
  },
  {
    id: "table5",
    source: "Table 5 (§6, HH-RLHF; PAPER.md §6.1)",
    caption: "GPT-4 head-to-head comparisons on HH-RLHF (%).",
    keyColumns: ["Comparison"],
    columns: WTL("PPO Win", "DPO Win"),
    rows: [row("PPO V.S. DPO", "42", "28", "30"), row("PPO V.S. DPO-Iter", "36", "36", "28")],
  },
  {
    id: "table6",
    source: "Table 6 (§6, SafeRLHF; PAPER.md §6.2)",
    caption: "SafeRLHF: ΔHelp. is the helpfulness reward relative to the officially released Beaver model; Harm. " +
      "the cost (lower is better); S.R. the safety rate.",
    keyColumns: ["LLM", "Method"],
    columns: [num("ΔHelp.", "higher"), num("Harm.", "lower"), pct("S.R.", "higher")],
    rows: [
      row(["—", "Beaver"], "-", "-6.59", "89.6"),
      row(["Llama 1 7B", "SFT"], "-2.26", "0.78", "46.5"),
      row(["Llama 1 7B", "DPO"], "-2.70", "-6.38", "93.1"),
      row(["Llama 1 7B", "DPO-Iter"], "-2.79", "-11.86", "100.0"),
      row(["Llama 1 7B", "PPO"], "+0.66", "-10.22", "98.6"),
      row(["Llama 2 7B", "SFT"], "-2.12", "0.00", "52.1"),
      row(["Llama 2 7B", "DPO"], "-2.86", "-6.82", "95.8"),
      row(["Llama 2 7B", "DPO-Iter"], "-2.96", "-11.07", "99.9"),
      row(["Llama 2 7B", "PPO"], "+1.69", "-12.08", "99.5"),
    ],
    notes: [
      'The Llama 2 DPO row equals Table 2\'s "+ filter dual-safe" and DPO-Iter equals "DPO Iter.4"; the Llama 2 ' +
      "SFT row does not match Table 2's SFT (Alpaca) (-2.62 / 1.50 / 41.6%).",
    ],
  },
  {
    id: "table7",
    source: "Table 7 (§6, APPS; PAPER.md §6.3)",
    caption: "APPS test set, pass@5 (AlphaCode: 5@1k). PPO's reward is 10 when the program passes all training " +
      "tests and 0 otherwise; DPO-Iter samples 5 programs per prompt and labels them by the tests.",
    keyColumns: ["Model", "Method"],
    columns: [pct("Intro.", "higher"), pct("Inter.", "higher"), pct("Comp.", "higher")],
    rows: [
      row(["GPT-Neo 2.7B", "SFT"], "5.6", "0.8", "0.0"),
      row(["Codex 12B", "SFT"], "9.7", "0.5", "0.1"),
      row(["CodeT5", "CodeRL"], "16.4", "4.9", "2.8"),
      row(["AlphaCode 1B", "5@1k"], "14.4", "5.6", "4.6"),
      row(["Code Llama 7B", "Few shot"], "10.8", "2.0", "0.8"),
      row(["Code Llama 7B", "SFT"], "30.0", "7.8", "2.8"),
      row(["Code Llama 7B", "DPO-Iter"], "20.9", "3.4", "1.3"),
      row(["Code Llama 7B", "PPO"], "29.4", "7.6", "2.4"),
      row(["Code Llama 13B", "Few shot"], "23.7", "5.6", "2.1"),
      row(["Code Llama 13B", "SFT"], "33.7", "8.7", "3.6"),
      row(["Code Llama 13B", "DPO-Iter"], "33.0", "8.0", "2.8"),
      row(["Code Llama 13B", "PPO"], "36.4", "11.47", "4.6"),
      row(["Code Llama 34B", "Few shot"], "32.8", "8.8", "2.9"),
      row(["Code Llama 34B", "SFT"], "38.6", "10.1", "3.9"),
      row(["Code Llama 34B", "DPO-Iter"], "34.2", "9.3", "3.7"),
      row(["Code Llama 34B", "PPO"], "44.4", "18.0", "9.1"),
    ],
    notes: ["The Code Llama row labels are the digest's reconstruction of the PDF's centred multi-row labels."],
  },
  {
    id: "table8",
    source: "Table 8 (§6, CodeContests; PAPER.md §6.4)",
    caption: "CodeContests, 10@1k: 1000 samples filtered on the public tests, 10 submitted to the hidden tests. DPO " +
      "pairs are the dataset's correct and incorrect solutions.",
    keyColumns: ["Model", "Method"],
    columns: [pct("Valid. Set 10@1k", "higher"), pct("Test Set 10@1k", "higher")],
    rows: [
      row(["AlphaCode 9B", "-"], "16.9", "14.3"),
      row(["AlphaCode 41B", "-"], "16.9", "15.6"),
      row(["AlphaCode 41B", "+ clustering"], "21.0", "16.4"),
      row(["Code Llama 34B", "SFT"], "10.3", "15.2"),
      row(["Code Llama 34B", "DPO"], "0.0", "0.0"),
      row(["Code Llama 34B", "DPO-Iter"], "3.5", "3.2"),
      row(["Code Llama 34B", "PPO"], "19.7", "22.4"),
    ],
  },
  {
    id: "table9",
    source: "Table 9 (Appendix C.1; PAPER.md §7)",
    caption: "Changing the reference model on APPS (CodeLlama-13B), average pass@5.",
    keyColumns: ["Method", "Reference Model"],
    columns: [pct("Avg. Pass@5", "higher")],
    rows: [
      row(["DPO", "Codellama-13B-Pretrain"], "0.24"),
      row(["DPO", "Codellama-13B-SFT"], "12.8"),
      row(["PPO", "Codellama-13B-Pretrain"], "13.8"),
      row(["PPO", "Codellama-13B-SFT"], "15.1"),
    ],
    notes: ["DPO with the SFT reference is 12.8% here but 12.0% in Table 11 at the same β = 0.1."],
  },
  {
    id: "table10",
    source: "Table 10 (Appendix C.1; PAPER.md §7)",
    caption: "Changing the reference model on SafeRLHF.",
    keyColumns: ["Method", "Reference Model"],
    columns: [num("ΔHelp.", "higher"), num("Harm.", "lower"), pct("S.R.", "higher")],
    rows: [
      row(["DPO", "Llama2-7B-SFT(Alpaca)"], "-4.19", "-0.97", "55.4"),
      row(["DPO", "Llama2-7B-SFT (Safe)"], "-1.62", "-3.5", "71.8"),
      row(["PPO", "Llama2-7B-SFT(Alpaca)"], "1.69", "-12.08", "99.5"),
      row(["PPO", "Llama2-7B-SFT (Safe)"], "4.47", "-12.33", "99.6"),
    ],
  },
  {
    id: "table11",
    source: "Table 11 (Appendix C.2; PAPER.md §7)",
    caption: "Varying β. HH-RLHF rows: OpenAssistant reward; APPS rows: average pass@5 in percent.",
    keyColumns: ["Setting"],
    columns: [num("β = 0"), num("β = 0.05"), num("β = 0.1 (default)"), num("β = 0.2")],
    rows: [
      row("HH-RLHF, Llama-7B — PPO", "0.705", "0.720", "0.718", "0.629"),
      row("HH-RLHF, Llama-7B — DPO", "N/A", "0.609", "0.611", "0.597"),
      row("APPS, Codellama-13B — PPO", "13.0", "14.1", "15.1", "14.9"),
      row("APPS, Codellama-13B — DPO", "N/A", "12.56", "12.0", "12.32"),
    ],
    notes: ['The APPS rows are percentages; the APPS "DPO" rows are most likely DPO-Iter runs (PAPER.md §7).'],
  },
  {
    id: "table12",
    source: "Table 12 (Appendix C.3; PAPER.md §7)",
    caption: "Preference-data coverage on HH-RLHF: OpenAssistant reward when training on the helpful-base subset " +
      "or the full set.",
    keyColumns: ["Method"],
    columns: [num("helpful-base set", "higher"), num("full set (default)", "higher")],
    rows: [row("SFT", "N/A", "0.532"), row("PPO", "0.602", "0.718"), row("DPO", "0.544", "0.615")],
  },
  {
    id: "table13",
    source: "Table 13 (Appendix C.3; PAPER.md §7)",
    caption: "Filtering dual-safe and dual-unsafe pairs on SafeRLHF, for PPO and DPO.",
    keyColumns: ["Method"],
    columns: [num("ΔHelp.", "higher"), num("Harm.", "lower"), pct("S.R.", "higher")],
    rows: [
      row("PPO", "1.69", "-12.08", "99.5"),
      row("PPO + filter dual-unsafe", "5.88", "-9.12", "92.6"),
      row("PPO + filter dual-safe", "-8.04", "-4.51", "94.9"),
      row("DPO", "-1.62", "-3.50", "71.8"),
      row("DPO + filter dual-unsafe", "2.46", "-4.88", "80.8"),
      row("DPO + filter dual-safe", "-2.86", "-6.82", "95.8"),
    ],
  },
  {
    id: "table14",
    source: "Table 14 (Appendix C.4; PAPER.md §7)",
    caption: "Human evaluation on HH-RLHF (4 raters per pair), and the agreement between GPT-4 and humans.",
    keyColumns: ["Comparison"],
    columns: [...WTL("PPO win", "DPO win"), pct("GPT4-Human agree")],
    rows: [row("PPO V.S. DPO", "45", "26", "29", "60"), row("PPO V.S. DPO-iter", "38", "29", "33", "61")],
  },
];
