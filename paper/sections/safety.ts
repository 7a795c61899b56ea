/**
 * Report section for §4.3 (Table 2), Appendix C (Tables 10 and 13) and the SafeRLHF benchmark (Table 6) on the
 * assistant testbed. Reads only what `deno task safety` wrote: summary.json (every evaluation, per seed) and samples/
 * (what each model wrote). Intervals are 95% Student-t over seeds; every verdict comes from a paired interval (same
 * size and seed: the same base, SFT models and reward model), never from the means alone.
 * @module
 */
import { join } from "node:path";
import {
  type Interval,
  overSeeds,
  pairedSafety,
  type SafetyMethod,
  type SafetyMetrics,
  type SafetySummary,
  selectSafety,
} from "../../experiments/safety_summary.ts";
import { tInterval } from "../../experiments/synthetic_summary.ts";
import { readJson } from "../../util/fs.ts";
import { lineChart, scatterChart } from "../plot/mod.ts";
import type { MetricRow } from "../../util/run_dir.ts";
import { publishedTable, publishedValue } from "../published.ts";
import { type Headline, type Section, type SectionContext, type SectionOutput, tallyOf } from "../section.ts";
import { claimVerdict, pctCi } from "./code.ts";

/** How the report names each row (Table 2's labels; the "+" rows are cumulative). */
export const SAFETY_LABEL: Record<SafetyMethod, string> = {
  sft_alpaca: "SFT (Alpaca)",
  sft_safe: "SFT (Safe)",
  ppo: "PPO",
  ppo_safe: "PPO + SFT (Safe)",
  ppo_filter_du: "PPO + filter dual-unsafe",
  ppo_filter_both: "PPO + filter dual-safe",
  dpo: "DPO",
  dpo_safe: "DPO + SFT (Safe)",
  dpo_safe_du: "DPO + filter dual-unsafe",
  dpo_safe_both: "DPO + filter dual-safe",
  dpo_iter1: "DPO Iter.1",
  dpo_iter2: "DPO Iter.2",
  dpo_iter3: "DPO Iter.3",
  dpo_iter4: "DPO Iter.4",
};
const TABLE2: SafetyMethod[] = [
  "sft_alpaca",
  "ppo",
  "ppo_safe",
  "dpo",
  "dpo_safe",
  "dpo_safe_du",
  "dpo_safe_both",
  "dpo_iter1",
  "dpo_iter2",
  "dpo_iter3",
  "dpo_iter4",
];

/** "-0.61 [-0.80, -0.42]" (two decimals). */
function numCi(i: Interval | null): string {
  if (!i) return "–";
  const f = (x: number) => x.toFixed(2);
  return i.n < 2 ? f(i.mean) : `${f(i.mean)} [${f(i.lo)}, ${f(i.hi)}]`;
}

/** Our three columns of one row, then the paper's, of published table `id` at `key`. */
function rowCells(s: SafetySummary, preset: string, m: SafetyMethod, id: string, key: string | string[]) {
  const paper = (col: string, pct = false) => {
    const v = publishedValue(id, key, col);
    return v === null ? "–" : pct ? `${v}%` : `${v}`;
  };
  return [
    numCi(overSeeds(s, preset, m, "deltaHelp")),
    numCi(overSeeds(s, preset, m, "harm")),
    pctCi(overSeeds(s, preset, m, "safetyRate")),
    paper("ΔHelp."),
    paper("Harm."),
    paper("S.R.", true),
  ];
}
const HEADER = ["ours ΔHelp.", "ours Harm.", "ours S.R.", "paper ΔHelp.", "paper Harm.", "paper S.R."];

/** One claim with its paired interval (a − b, or a difference of differences) and verdict. */
interface Claim {
  text: string;
  metric: keyof SafetyMetrics;
  interval: Interval | null;
  verdict: "agrees" | "disagrees" | "inconclusive";
}

/** Per-seed (a − b) − (c − d) of one metric, over the seeds all four rows have. */
function diffOfDiffs(s: SafetySummary, p: string, [a, b, c, d]: SafetyMethod[], metric: keyof SafetyMetrics) {
  const by = (m: SafetyMethod) => new Map(selectSafety(s, p, m).map((r) => [r.seed, r[metric]]));
  const [A, B, C, D] = [by(a), by(b), by(c), by(d)];
  const v = [...A.keys()].filter((k) => B.has(k) && C.has(k) && D.has(k))
    .map((k) => A.get(k)! - B.get(k)! - (C.get(k)! - D.get(k)!));
  return v.length === 0 ? null : tInterval(v);
}

/** The paper's §4.3 and Appendix C claims, each with our paired interval. */
export function safetyClaims(s: SafetySummary): Claim[] {
  const p = s.presets[0], out: Claim[] = [];
  const add = (
    text: string,
    pair: [SafetyMethod, SafetyMethod],
    metric: keyof SafetyMetrics,
    c: "higher" | "lower",
  ) => {
    const interval = pairedSafety(s, p, pair, metric);
    out.push({ text, metric, interval, verdict: claimVerdict(interval, c) });
  };
  add(
    "SFT (Safe) is safer than SFT (Alpaca) (the testbed's premise)",
    ["sft_safe", "sft_alpaca"],
    "safetyRate",
    "higher",
  );
  add("PPO is far safer than SFT (Alpaca)", ["ppo", "sft_alpaca"], "safetyRate", "higher");
  add("DPO from SFT (Alpaca) is less safe than PPO", ["dpo", "ppo"], "safetyRate", "lower");
  add("DPO from SFT (Alpaca) is less helpful than PPO", ["dpo", "ppo"], "deltaHelp", "lower");
  add("SFT (Safe) as base raises DPO's safety rate", ["dpo_safe", "dpo"], "safetyRate", "higher");
  add("SFT (Safe) as base raises DPO's helpfulness", ["dpo_safe", "dpo"], "deltaHelp", "higher");
  add("Filtering dual-unsafe pairs raises DPO's safety rate", ["dpo_safe_du", "dpo_safe"], "safetyRate", "higher");
  add("Filtering dual-unsafe pairs raises DPO's helpfulness", ["dpo_safe_du", "dpo_safe"], "deltaHelp", "higher");
  add(
    "Filtering dual-safe pairs too raises DPO's safety rate",
    ["dpo_safe_both", "dpo_safe_du"],
    "safetyRate",
    "higher",
  );
  add("Filtering dual-safe pairs too hurts DPO's helpfulness", ["dpo_safe_both", "dpo_safe_du"], "deltaHelp", "lower");
  add(
    "DPO-Iter (4 rounds) is safer than DPO with both filters",
    ["dpo_iter4", "dpo_safe_both"],
    "safetyRate",
    "higher",
  );
  add("DPO-Iter (4 rounds) is less helpful than PPO", ["dpo_iter4", "ppo"], "deltaHelp", "lower");
  add("PPO + SFT (Safe) is more helpful than PPO", ["ppo_safe", "ppo"], "deltaHelp", "higher");
  add("Filtering dual-unsafe pairs makes PPO more helpful (Table 13)", ["ppo_filter_du", "ppo"], "deltaHelp", "higher");
  add("Filtering both makes PPO less helpful (Table 13)", ["ppo_filter_both", "ppo_filter_du"], "deltaHelp", "lower");
  const shift = diffOfDiffs(s, p, ["dpo_safe", "dpo", "ppo_safe", "ppo"], "safetyRate");
  out.push({
    text: "DPO gains more safety from the SFT (Safe) reference than PPO does (Table 10: DPO is hurt more by the shift)",
    metric: "safetyRate",
    interval: shift,
    verdict: claimVerdict(shift, "higher"),
  });
  return out;
}

/** What the models wrote: the first harmful and benign responses of the first seed, per main row. */
async function responseExamples(dir: string, s: SafetySummary): Promise<string> {
  const preset = s.presets[0], seed = s.seeds[0], lines: string[] = [];
  const methods: SafetyMethod[] = ["sft_alpaca", "sft_safe", "ppo", "dpo", "dpo_safe_both", "dpo_iter4"];
  type Kept = { prompt: string; harmful: boolean; response: string; help: number; cost: number }[];
  const files = await Promise.all(
    methods.map((m) => readJson<Kept>(join(dir, `samples/${preset}-seed${seed}-${m}.json`)).catch(() => null)),
  );
  for (const harmful of [true, false]) {
    const first = files.find((f) => f)?.find((e) => e.harmful === harmful);
    if (!first) continue;
    lines.push(`${harmful ? "Harmful" : "Benign"} prompt \`${first.prompt}\`:`, "");
    methods.forEach((m, i) => {
      const e = files[i]?.find((x) => x.prompt === first.prompt);
      if (e) {
        lines.push(`- ${SAFETY_LABEL[m]}: \`${e.response || "(empty)"}\` (help ${e.help.toFixed(1)}, cost ${e.cost})`);
      }
    });
    lines.push("");
  }
  return lines.join("\n");
}

async function render(ctx: SectionContext): Promise<SectionOutput> {
  const { run, note } = ctx.pick("safety")!;
  const s = run.summary as SafetySummary | null;
  if (!s || !s.records) {
    return { body: `${note}\n\nThe run ${run.id} has no summary.json: it did not finish. Rerun \`deno task safety\`.` };
  }
  const p = s.presets[0], parts: string[] = [];
  if (note) parts.push(note);
  const tb = s.testbed as { pairs: number; dualSafe: number; dualUnsafe: number; flagErrorRate: number };
  const rm = (k: string) => {
    const acc = (s.rewardModels[k] ?? []).map((r) => r.accuracy).filter((x): x is number => x !== null);
    return acc.length ? pctCi(tInterval(acc)) : "–";
  };
  parts.push(
    `A world of requests about a small knowledge base, half of them from a hidden harmful category, answered by ` +
      `scripted generators of different styles and qualities; hidden gold judges of helpfulness and cost stand in ` +
      `for safe-rlhf's reward and cost models (testbeds/assistant/). ${tb.pairs} preference pairs, ${tb.dualSafe} ` +
      `dual-safe and ${tb.dualUnsafe} dual-unsafe by the annotators' flags (${(100 * tb.flagErrorRate).toFixed(1)}% ` +
      `of flags wrong). ΔHelp. is relative to the scripted "Beaver" baseline (refuses harmful requests 90% of the ` +
      `time, answers benign ones verbosely; its helpfulness ${s.beaver.help.toFixed(2)}, Harm. ` +
      `${s.beaver.cost.toFixed(2)}, S.R. ${(100 * s.beaver.safetyRate).toFixed(1)}%; the paper's Beaver: −6.59, ` +
      `89.6%). Our helpfulness lies in about [−2, 2] and cost in [−2, 2], the paper's models' in wider ranges: ` +
      `compare directions, not magnitudes. Reward models' held-out accuracy: all pairs ${rm("all")}, without ` +
      `dual-unsafe ${rm("filter_du")}, without both ${rm("filter_both")}. Sizes ${s.presets.join(", ")}; ` +
      `${s.seeds.length} seeds. Wall times: the run's summary.json.`,
  );
  const premise = pairedSafety(s, p, ["sft_safe", "sft_alpaca"], "safetyRate");
  parts.push(
    `**The premise, measured before any method is compared:** SFT (Alpaca) S.R. ` +
      `${pctCi(overSeeds(s, p, "sft_alpaca", "safetyRate"))}, SFT (Safe) ` +
      `${pctCi(overSeeds(s, p, "sft_safe", "safetyRate"))} (paired difference ${pointsOf(premise)}). The Alpaca data ` +
      `never refuses and has no harmful request; the pretraining corpus refuses a quarter of the time whatever the ` +
      `request, so it does not teach which requests are harmful; SFT (Safe) reads the preference data's responses ` +
      `that the annotators flagged safe.`,
  );
  parts.push(ctx.table("table2", {
    title: `Table 2: the impact of training data on DPO (size ${p})`,
    header: ["method", ...HEADER],
    rows: TABLE2.map((m) => [SAFETY_LABEL[m], ...rowCells(s, p, m, "table2", SAFETY_LABEL[m])]),
    caption: `Mean over ${s.seeds.length} seeds with a 95% t-interval, on the held-out prompts. "+" rows are ` +
      `cumulative as the paper's: "+ filter dual-safe" also drops the dual-unsafe pairs. DPO-Iter starts from SFT ` +
      `(Safe), samples 5 responses per prompt, labels them with the reward model (all pairs), best vs worst.`,
    runs: run,
  }));
  parts.push(ctx.table("table10", {
    title: `Table 10: the reference model (size ${p})`,
    header: ["method", "reference", ...HEADER],
    rows: ([["dpo", "DPO", "Llama2-7B-SFT(Alpaca)"], ["dpo_safe", "DPO", "Llama2-7B-SFT (Safe)"], [
      "ppo",
      "PPO",
      "Llama2-7B-SFT(Alpaca)",
    ], ["ppo_safe", "PPO", "Llama2-7B-SFT (Safe)"]] as const).map(([m, name, ref]) => [
      name,
      ref.includes("Safe") ? "SFT (Safe)" : "SFT (Alpaca)",
      ...rowCells(s, p, m, "table10", [name, ref]),
    ]),
    caption: "The reference is also the starting policy, as in the paper's rows.",
    runs: run,
  }));
  parts.push(ctx.table("table13", {
    title: `Table 13: filtering dual-safe and dual-unsafe pairs, PPO and DPO (size ${p})`,
    header: ["method", ...HEADER],
    rows: (["ppo", "ppo_filter_du", "ppo_filter_both", "dpo_safe", "dpo_safe_du", "dpo_safe_both"] as const).map(
      (m) => {
        const label = SAFETY_LABEL[m].replace("DPO + SFT (Safe)", "DPO");
        return [label, ...rowCells(s, p, m, "table13", label)];
      },
    ),
    caption: "PPO's filters change its reward model's training pairs (PPO from SFT (Alpaca)); DPO's rows start from " +
      "SFT (Safe) as the paper's (its Table 13 DPO row is Table 2's DPO + SFT (Safe)).",
    runs: run,
  }));
  const t6 = [["sft_alpaca", "SFT"], ["dpo_safe_both", "DPO"], ["dpo_iter4", "DPO-Iter"], ["ppo", "PPO"]] as const;
  const llm = ["Llama 1 7B", "Llama 2 7B"];
  parts.push(ctx.table("table6", {
    title: "Table 6: SafeRLHF benchmark, by model size",
    header: ["size", "method", ...HEADER],
    rows: s.presets.flatMap((preset, i) =>
      t6.map(([m, name]) => [preset, name, ...rowCells(s, preset, m, "table6", [llm[Math.min(i, 1)], name])])
    ),
    caption: `The paper's two LLMs are two 7B models (Llama 1 and 2); ours are sizes ${s.presets.join(" and ")}` +
      (s.presets.length < 2 ? " (the second size runs at `--scale full`: at small it does not fit 20 minutes)" : "") +
      `. DPO = SFT (Safe) and both filters, DPO-Iter = 4 rounds (the paper's Table 6 rows, PAPER.md §6.2).`,
    runs: run,
  }));
  const groups: SafetyMethod[] = [
    "sft_alpaca",
    "sft_safe",
    "ppo",
    "ppo_safe",
    "dpo",
    "dpo_safe",
    "dpo_safe_both",
    "dpo_iter4",
  ];
  parts.push(
    await ctx.figure(
      "sr_vs_help",
      scatterChart({
        title: `Safety rate against ΔHelp. (size ${p})`,
        xLabel: "ΔHelp. (gold helpfulness − Beaver's)",
        yLabel: "safety rate",
        yFormat: ".0%",
        groups: groups.map((m) => {
          const rs = selectSafety(s, p, m);
          return { name: SAFETY_LABEL[m], x: rs.map((r) => r.deltaHelp), y: rs.map((r) => r.safetyRate) };
        }),
        references: [{ x: 0, y: s.beaver.safetyRate, label: "Beaver" }],
      }),
      { caption: "Each dot is one seed; a ring marks each method's mean.", runs: run },
    ),
  );
  for (
    const [name, metric, title, y] of [
      [
        "ppo_safety",
        "charts/gold_mean",
        `PPO's rollouts: safety rate by the hidden cost judge (size ${p})`,
        "safe share",
      ],
      ["ppo_reward", "charts/reward_mean", `PPO's rollouts: reward-model score (size ${p})`, "reward"],
      ["ppo_kl", "charts/kl_ref", `PPO's rollouts: KL to the reference (size ${p})`, "KL (nats)"],
    ] as const
  ) {
    const fig = ppoCurves(run.metrics, p, metric, title, y);
    if (fig) {
      parts.push(
        await ctx.figure(name, fig, {
          caption: "Per PPO iteration, mean over seeds (band: min to max). The cost judge is only logged; PPO " +
            "trains on its reward model.",
          runs: run,
        }),
      );
    }
  }
  parts.push(ctx.table("behaviour", {
    title: `What the models do (size ${p})`,
    header: ["method", "S.R. on harmful", "refuses harmful", "refuses benign", "helpfulness on benign", "cut at max"],
    rows: TABLE2.concat(["sft_safe", "ppo_filter_du", "ppo_filter_both"]).map((m) => [
      SAFETY_LABEL[m],
      pctCi(overSeeds(s, p, m, "harmfulSafetyRate")),
      pctCi(overSeeds(s, p, m, "refusalHarmful")),
      pctCi(overSeeds(s, p, m, "refusalBenign")),
      numCi(overSeeds(s, p, m, "benignHelp")),
      pctCi(overSeeds(s, p, m, "truncated")),
    ]),
    caption: 'Refusal = a response with the word "not" (the judges\' rule); the last column is the share of ' +
      "responses that hit the token limit without EOS.",
    runs: run,
  }));
  parts.push(`**What the models wrote** (seed ${s.seeds[0]}, size ${p}, first sample):\n`);
  parts.push(await responseExamples(run.dir, s));
  const cs = safetyClaims(s);
  parts.push(ctx.table("claims", {
    title: "The paper's claims on safety, tested",
    header: ["claim", "metric", "paired difference (ours)", "verdict"],
    rows: cs.map((c) => [
      c.text,
      c.metric === "safetyRate" ? "S.R." : "ΔHelp.",
      c.metric === "safetyRate" ? pointsOf(c.interval) : numCi(c.interval),
      c.verdict,
    ]),
    caption: "Each difference is paired by seed, mean with a 95% t-interval; the verdict says on which side of zero " +
      "the interval lies: inside it, inconclusive.",
    runs: run,
  }));
  const agree = cs.filter((c) => c.verdict === "agrees").length, dis = cs.filter((c) => c.verdict === "disagrees");
  const verdict = `${agree} of ${cs.length} claims agree, ${dis.length} disagree` +
    (dis.length
      ? ` (${dis.map((c) => `${c.text}, ${c.metric === "safetyRate" ? "S.R." : "ΔHelp."}`).join("; ")})`
      : "") +
    `, ${cs.length - agree - dis.length} inconclusive at ${s.seeds.length} seeds.`;
  const choices = [
    "The world, its generators, judges and label noise are ours (testbeds/assistant/); SafeRLHF's prompts are " +
    "red-team heavy, ours are half harmful.",
    "Beaver is a scripted generator, not a trained model: it refuses harmful requests 90% of the time.",
    "DPO-Iter pairs the best and worst of 5 samples by the reward model trained on all consolidated pairs (the paper " +
    "does not say how many samples nor how pairs are formed on SafeRLHF).",
    ...s.choices.map((c) => `\`${c.key}\` = ${JSON.stringify(c.value)}: ${c.doc}.`),
  ];
  for (const id of ["table2", "table6", "table10", "table13"]) publishedTable(id); // the ids exist
  const find = (start: string) => cs.find((c) => c.text.startsWith(start))!;
  const sr = (m: SafetyMethod) => pctCi(overSeeds(s, p, m, "safetyRate"));
  const shift = find("SFT (Safe) as base raises DPO's safety"), safer = find("DPO from SFT (Alpaca) is less safe");
  const headlines: Headline[] = [
    {
      claim: "DPO is hurt by distribution shift: an in-distribution SFT (Safe) base raises its safety rate (Table 2)",
      paper: "S.R. 55.4% → 71.8%",
      ours: `${sr("dpo")} → ${sr("dpo_safe")} (${pointsOf(shift.interval)})`,
      verdict: shift.verdict,
    },
    {
      claim: "PPO is far safer than DPO from SFT (Alpaca) (Table 2)",
      paper: "S.R. 99.5% vs 55.4%",
      ours: `${sr("ppo")} vs ${sr("dpo")} (${pointsOf(safer.interval)})`,
      verdict: safer.verdict,
    },
  ];
  return { body: parts.join("\n\n"), choices, verdict, headlines, tally: tallyOf(cs.map((c) => c.verdict)) };
}

/** PPO's rollouts' safety rate by the hidden cost judge per iteration, per PPO row (mean over seeds, band min-max). */
function ppoCurves(metrics: readonly MetricRow[], preset: string, metric: string, title: string, yLabel: string) {
  const rows: SafetyMethod[] = ["ppo", "ppo_safe", "ppo_filter_du", "ppo_filter_both"];
  const series = rows.map((m) => {
    const by = new Map<number, number[]>();
    for (const r of metrics) {
      if (r.preset !== preset || r.phase !== m || typeof r[metric] !== "number") continue;
      by.set(r.step, [...(by.get(r.step) ?? []), r[metric] as number]);
    }
    const x = [...by.keys()].sort((a, b) => a - b), v = x.map((k) => by.get(k)!);
    const mean = v.map((a) => a.reduce((p, q) => p + q, 0) / a.length);
    return { name: SAFETY_LABEL[m], x, mean, lo: v.map((a) => Math.min(...a)), hi: v.map((a) => Math.max(...a)) };
  }).filter((s) => s.x.length > 0);
  return series.length ? lineChart({ title, xLabel: "PPO iteration", yLabel, series }) : null;
}

/** "+12.3 points [4.0, 20.6]" from an interval of differences of fractions. */
function pointsOf(i: Interval | null): string {
  if (!i) return "–";
  const f = (x: number) => (x * 100).toFixed(1);
  return `${i.mean >= 0 ? "+" : ""}${f(i.mean)} points${i.n >= 2 ? ` [${f(i.lo)}, ${f(i.hi)}]` : ""}`;
}

/** §4.3 and the SafeRLHF benchmark on the assistant testbed. */
export const section: Section = {
  id: "safety",
  title: "DPO is sensitive to the shift between the base model and the preference data",
  paper: "§4.3, Table 2; §6, Table 6; Appendix C, Tables 10, 13",
  experiments: ["safety"],
  command: "deno task safety",
  published: ["table2", "table6", "table10", "table13"],
  render,
};
