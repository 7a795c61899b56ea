/**
 * Report section for the code benchmarks (§6.3-6.4, Tables 7 and 8; Appendix C.1, Table 9). Reads only what
 * `deno task code` wrote: summary.json (every evaluation, per seed), metrics.jsonl (training curves) and samples/
 * (programs the models wrote). Intervals are 95% Student-t over seeds; every verdict is computed from a paired
 * interval (same size, same seed, so the same SFT start), never from the means alone.
 * @module
 */
import { join } from "node:path";
import {
  avgPass,
  type CodeSummary,
  difference,
  type EvalRecord,
  type EvalSet,
  type Interval,
  type Method,
  over,
  paired,
  sideOfZero,
} from "../../experiments/code_summary.ts";
import { readJson } from "../../util/fs.ts";
import { publishedTable, publishedValue } from "../published.ts";
import { type Headline, type Section, type SectionContext, type SectionOutput, tallyOf } from "../section.ts";
import { fmtPercent } from "../tables.ts";
import { outcomeBars, passAtKFigure, trainingCurves } from "./code_figure.ts";

/** The paper's model each of our sizes stands in for (DESIGN.md, "Models"). */
export const PAPER_MODEL: Record<string, string> = { xs: "Code Llama 7B", s: "Code Llama 13B", m: "Code Llama 34B" };
/** How the report names our methods, and the paper's row label of each. */
export const LABEL: Record<Method, string> = {
  base: "Base (few-shot stand-in)",
  sft: "SFT",
  dpo_iter: "DPO-Iter",
  ppo: "PPO",
  dpo: "DPO (contest pairs)",
  dpo_iter_base_ref: "DPO-Iter, base as reference",
  ppo_base_ref: "PPO, base as reference",
};
const PAPER_ROW: Partial<Record<Method, string>> = { base: "Few shot", sft: "SFT", dpo_iter: "DPO-Iter", ppo: "PPO" };
const TIERS = ["introductory", "interview", "competition"] as const;
const TIER_COLUMN = { introductory: "Intro.", interview: "Inter.", competition: "Comp." } as const;
const APPS: EvalSet = { set: "apps", split: "test" };

/** "12.3% [8.1, 16.5]" from an interval of fractions (bounds clipped to [0, 100]). */
export function pctCi(i: Interval | null): string {
  if (!i) return "–";
  if (i.n < 2) return fmtPercent(i.mean, 1);
  const lo = Math.max(0, i.lo) * 100, hi = Math.min(1, i.hi) * 100;
  return `${fmtPercent(i.mean, 1)} [${lo.toFixed(1)}, ${hi.toFixed(1)}]`;
}

/** "+3.1 points [0.4, 5.8]" from an interval of differences of fractions. */
export function pointsCi(i: Interval | null): string {
  if (!i) return "–";
  const f = (x: number) => (x * 100).toFixed(1);
  return `${i.mean >= 0 ? "+" : ""}${f(i.mean)} points${i.n >= 2 ? ` [${f(i.lo)}, ${f(i.hi)}]` : ""}`;
}

/** A claim's verdict from the side of zero its paired interval lies on ("higher": the claim says a > b). */
export function claimVerdict(i: Interval | null, claim: "higher" | "lower"): "agrees" | "disagrees" | "inconclusive" {
  const side = sideOfZero(i);
  if (side === "unresolved") return "inconclusive";
  return (side === "above") === (claim === "higher") ? "agrees" : "disagrees";
}

const paperPct = (id: string, key: string[], col: string) => {
  const v = publishedValue(id, key, col);
  return v === null ? "–" : `${v}%`;
};

/** Table 7: pass@5 per tier, each size's rows beside the paper's model of that size. */
function table7(ctx: SectionContext, s: CodeSummary, run: Parameters<SectionContext["table"]>[1]["runs"]): string {
  const k = Math.min(5, s.eval.samples);
  const rows = s.presets.flatMap((preset) =>
    (["base", "sft", "dpo_iter", "ppo"] as const).map((m) => [
      preset,
      LABEL[m],
      ...TIERS.map((t) => pctCi(over(s, preset, m, APPS, (r) => r.passAtK[String(k)][t]))),
      pctCi(over(s, preset, m, APPS, (r) => avgPass(r, k))),
      ...TIERS.map((t) => paperPct("table7", [PAPER_MODEL[preset], PAPER_ROW[m]!], TIER_COLUMN[t])),
    ])
  );
  return ctx.table("table7", {
    title: `Table 7: APPS-style test split, pass@${k}`,
    header: [
      "size",
      "method",
      ...TIERS.map((t) => `ours ${TIER_COLUMN[t]}`),
      "ours avg (1:3:1)",
      ...TIERS.map((t) => `paper ${TIER_COLUMN[t]}`),
    ],
    rows,
    caption: `pass@${k} with the unbiased estimator from n = ${s.eval.samples} programs per problem, mean over ` +
      `${s.seeds.length} seeds with a 95% t-interval; the paper's column is its model of the same rank (xs → 7B, s → ` +
      `13B, m → 34B). "Base" is the pretrained model prompted with the problem alone: the stand-in for the paper's ` +
      `few-shot row.`,
    runs: run,
  });
}

/** Table 8: 10@n on the contest validation and test splits. */
function table8(ctx: SectionContext, s: CodeSummary, run: Parameters<SectionContext["table"]>[1]["runs"]): string {
  const preset = s.presets.at(-1)!, kn = `${s.eval.submissions}@${s.eval.contestSamples}`;
  const rows = (["sft", "dpo", "dpo_iter", "ppo"] as const).map((m) => [
    LABEL[m],
    pctCi(over(s, preset, m, { set: "contest", split: "validation" }, (r) => r.kAtN)),
    pctCi(over(s, preset, m, { set: "contest", split: "test" }, (r) => r.kAtN)),
    paperPct("table8", ["Code Llama 34B", m === "dpo" ? "DPO" : PAPER_ROW[m]!], "Valid. Set 10@1k"),
    paperPct("table8", ["Code Llama 34B", m === "dpo" ? "DPO" : PAPER_ROW[m]!], "Test Set 10@1k"),
  ]);
  return ctx.table("table8", {
    title: `Table 8: contest split, ${kn} (size ${preset})`,
    header: ["method", `ours valid. ${kn}`, `ours test ${kn}`, "paper valid. 10@1k", "paper test 10@1k"],
    rows,
    caption: `${kn}: ${s.eval.contestSamples} programs per problem, those passing the public tests (the examples ` +
      `in the prompt) kept, ${s.eval.submissions} of them submitted at random (no clustering), solved when one ` +
      `passes the hidden tests; mean over problems, then over ${s.seeds.length} seeds with a 95% t-interval. The ` +
      `paper draws 1000 (CodeLlama-34B); we draw ${s.eval.contestSamples} from our largest size, ${preset}.`,
    runs: run,
  });
}

/** Table 9: PPO and DPO-Iter with the base vs the SFT model as reference. */
function table9(ctx: SectionContext, s: CodeSummary, run: Parameters<SectionContext["table"]>[1]["runs"]): string {
  const preset = s.table9Preset, k = Math.min(5, s.eval.samples);
  const rows = ([["dpo_iter", "dpo_iter_base_ref", "DPO"], ["ppo", "ppo_base_ref", "PPO"]] as const).flatMap((
    [sftRef, baseRef, paper],
  ) => [
    [
      LABEL[sftRef],
      "base (pretrained)",
      pctCi(over(s, preset, baseRef, APPS, (r) => avgPass(r, k))),
      paperPct(
        "table9",
        [paper, "Codellama-13B-Pretrain"],
        "Avg. Pass@5",
      ),
    ],
    [
      LABEL[sftRef],
      "SFT",
      pctCi(over(s, preset, sftRef, APPS, (r) => avgPass(r, k))),
      paperPct(
        "table9",
        [paper, "Codellama-13B-SFT"],
        "Avg. Pass@5",
      ),
    ],
  ]);
  return ctx.table("table9", {
    title: `Table 9: the reference model, average pass@${k} (size ${preset})`,
    header: ["method", "reference model", `ours avg. pass@${k}`, "paper avg. pass@5 (13B)"],
    rows,
    caption: `Both start from the SFT policy; only the model of the KL penalty (PPO) or of the implicit reward ` +
      `(DPO-Iter, whose reference then stays fixed instead of following the latest policy) changes. The paper's "DPO" ` +
      `rows on APPS are DPO-Iter runs (PAPER.md §7). Average = the 1 : 3 : 1 tier mean.`,
    runs: run,
  });
}

/** The outcome kinds of every method's programs on the APPS-style test split. */
function outcomeTable(ctx: SectionContext, s: CodeSummary, run: Parameters<SectionContext["table"]>[1]["runs"]) {
  const kinds = ["passed", "wrong_answer", "syntax_error", "runtime_error", "step_limit"] as const;
  const rows = s.presets.flatMap((preset) =>
    (["base", "sft", "dpo_iter", "ppo", "dpo"] as const).map((m) => [
      preset,
      LABEL[m],
      ...kinds.map((o) => pctCi(over(s, preset, m, APPS, (r) => r.outcomes[o]))),
    ])
  );
  return ctx.table("outcomes", {
    title: "What the programs do: outcome kinds on the APPS-style test split",
    header: ["size", "method", "passed", "wrong answer", "syntax error", "runtime error", "step limit"],
    rows,
    caption: "Share of all sampled programs by the interpreter's verdict over public and hidden tests (the first " +
      "failing test decides the kind), mean over seeds with a 95% t-interval.",
    runs: run,
  });
}

/** One claim: its paired interval and verdict. */
interface Claim {
  text: string;
  interval: Interval | null;
  verdict: "agrees" | "disagrees" | "inconclusive";
}

/** The paper's claims on code, each with our paired interval (see the module doc). */
export function claims(s: CodeSummary): Claim[] {
  const k = Math.min(5, s.eval.samples), avg = (r: EvalRecord) => avgPass(r, k), out: Claim[] = [];
  const add = (text: string, interval: Interval | null, claim: "higher" | "lower") =>
    out.push({ text, interval, verdict: claimVerdict(interval, claim) });
  for (const p of s.presets) {
    add(`PPO above SFT at ${p} (avg. pass@${k})`, paired(s, p, ["ppo", "sft"], APPS, avg), "higher");
    add(`DPO-Iter below SFT at ${p}`, paired(s, p, ["dpo_iter", "sft"], APPS, avg), "lower");
    add(`PPO above DPO-Iter at ${p}`, paired(s, p, ["ppo", "dpo_iter"], APPS, avg), "higher");
  }
  if (s.presets.length >= 2) {
    const [small, large] = [s.presets[0], s.presets.at(-1)!];
    const gain = (p: string) => paired(s, p, ["ppo", "sft"], APPS, avg);
    const [g0, g1] = [gain(small), gain(large)];
    add(`PPO's gain over SFT grows from ${small} to ${large}`, g0 && g1 ? difference(g1, g0) : null, "higher");
  }
  const big = s.presets.at(-1)!, test = { set: "contest", split: "test" } as const, kn = (r: EvalRecord) => r.kAtN;
  add(`DPO on the contest pairs below SFT (contest test, ${big})`, paired(s, big, ["dpo", "sft"], test, kn), "lower");
  add(`PPO above SFT (contest test, ${big})`, paired(s, big, ["ppo", "sft"], test, kn), "higher");
  add(`PPO above DPO-Iter (contest test, ${big})`, paired(s, big, ["ppo", "dpo_iter"], test, kn), "higher");
  const t9 = s.table9Preset;
  if (s.records.some((r) => r.method === "ppo_base_ref")) {
    add(`PPO: SFT reference above base reference (${t9})`, paired(s, t9, ["ppo", "ppo_base_ref"], APPS, avg), "higher");
    add(
      `DPO-Iter: SFT reference above base reference (${t9})`,
      paired(s, t9, ["dpo_iter", "dpo_iter_base_ref"], APPS, avg),
      "higher",
    );
  }
  return out;
}

/** The paper's 1 : 3 : 1 average pass@5 (%) of a Table 7 row. */
function paperAvg(model: string, method: string): number {
  const v = TIERS.map((t) => publishedValue("table7", [model, method], TIER_COLUMN[t])!);
  return (v[0] + 3 * v[1] + v[2]) / 5;
}

/** The first screen's code claims: PPO over SFT as the size grows, and PPO over DPO-Iter. */
function headlines(s: CodeSummary, cs: Claim[]): Headline[] {
  const sizes = ["7B", "13B", "34B"],
    gain = (m: string) =>
      paperAvg(`Code Llama ${m}`, "PPO") -
      paperAvg(`Code Llama ${m}`, "SFT");
  const find = (text: string) => cs.find((c) => c.text.startsWith(text));
  const grows = find("PPO's gain over SFT grows"), first = s.presets[0];
  const vsSft = find(`PPO above SFT at ${first}`), vsIter = find(`PPO above DPO-Iter at ${first}`);
  const p7 = paperAvg("Code Llama 7B", "PPO") - paperAvg("Code Llama 7B", "DPO-Iter");
  return [
    {
      claim: "Code: PPO's gain over SFT grows with the model size (Table 7)",
      paper: `avg. pass@5 PPO − SFT ${sizes.map((m) => `${gain(m) >= 0 ? "+" : ""}${gain(m).toFixed(1)}`).join(", ")}` +
        ` points at ${sizes.join(", ")}`,
      ours: grows
        ? `growth ${pointsCi(grows.interval)}`
        : `one size at this scale (${first}: PPO − SFT ${pointsCi(vsSft?.interval ?? null)})`,
      verdict: grows ? grows.verdict : "not tested at this scale (full runs xs, s, m)",
    },
    {
      claim: "Code: PPO above DPO-Iter (Table 7)",
      paper: `avg. pass@5 +${p7.toFixed(1)} points at 7B`,
      ours: `${pointsCi(vsIter?.interval ?? null)} at ${first}`,
      verdict: vsIter?.verdict ?? "–",
    },
  ];
}

/** A few programs per method on the same problems: the first sample of the first problems, right and wrong. */
async function programExamples(dir: string, s: CodeSummary): Promise<string> {
  const preset = s.presets.at(-1)!, seed = s.seeds[0], lines: string[] = [];
  const methods: Method[] = ["base", "sft", "dpo_iter", "ppo", "dpo"];
  const files = await Promise.all(
    methods.map((m) =>
      readJson<Record<string, { id: string; prompt: string; program: string; outcome: string }[]>>(
        join(dir, `samples/${preset}-seed${seed}-${m}.json`),
      ).catch(() => null)
    ),
  );
  const first = files.find((f) => f)?.["apps/test"] ?? [];
  const ids = [...new Set(first.map((e) => e.id))].slice(0, 3);
  for (const id of ids) {
    lines.push(`Problem \`${id}\`: \`${first.find((e) => e.id === id)!.prompt}\``, "");
    methods.forEach((m, i) => {
      const e = files[i]?.["apps/test"]?.find((x) => x.id === id);
      if (e) lines.push(`- ${LABEL[m]}: \`${e.program || "(empty)"}\` → ${e.outcome.replace("_", " ")}`);
    });
    lines.push("");
  }
  return lines.join("\n");
}

async function render(ctx: SectionContext): Promise<SectionOutput> {
  const { run, note } = ctx.pick("code")!;
  const s = run.summary as CodeSummary | null;
  if (!s || !s.records) {
    return { body: `${note}\n\nThe run ${run.id} has no summary.json: it did not finish. Rerun \`deno task code\`.` };
  }
  const parts: string[] = [];
  if (note) parts.push(note);
  type SplitStats = { problems: number; neighbours: number; separated: number; functionInTrain?: number };
  const splits = (s.testbed as { splits?: Record<string, SplitStats> }).splits ?? {};
  const apps = splits["apps/test"];
  const sizes = Object.entries(splits).map(([k, v]) => `${k} ${v.problems}`).join(", ");
  const neighbours = Object.values(splits).reduce((a, v) => a + v.neighbours, 0);
  const separated = Object.values(splits).reduce((a, v) => a + v.separated, 0);
  parts.push(
    `Programs in a DeepCoder-style list language (testbeds/code/), written by the policy from a prompt of ` +
      `input/output examples and run by our interpreter against hidden tests. Sizes ${s.presets.join(", ")}; ` +
      `${s.seeds.length} seeds. Problems per split: ${sizes}; the hidden tests tell apart ${separated} of the ` +
      `${neighbours} neighbours of the references that agree with them on the public tests. Wall times: the run's summary.json.` +
      (apps?.functionInTrain === undefined ? "" : ` ${apps.functionInTrain} of the ${apps.problems} ` +
        `APPS-style test problems compute a function that some training problem computes, on other examples (as ` +
        `APPS's test problems share ideas with its training problems; testbeds/code/options.ts disjointSplits).`),
  );
  parts.push(calibration(s));
  parts.push(table7(ctx, s, run), table8(ctx, s, run));
  if (s.records.some((r) => r.method === "ppo_base_ref")) parts.push(table9(ctx, s, run));
  parts.push(outcomeTable(ctx, s, run));
  parts.push(
    await ctx.figure("pass_at_k", passAtKFigure(s), {
      caption: `pass@k against k on the APPS-style test split for each method and size (line: mean over seeds; ` +
        `band: 95% t-interval).`,
      runs: run,
    }),
    await ctx.figure("curves", trainingCurves(run.metrics, s.presets), {
      caption: "Training pass rate: the share of PPO's rollouts that pass every test of their training problem, per " +
        "iteration, and of DPO-Iter's samples per round (line: mean over seeds; band: min to max).",
      runs: run,
    }),
    await ctx.figure("outcomes", outcomeBars(s), {
      caption: `Outcome kinds of the sampled programs on the APPS-style test split, size ${s.presets.at(-1)}.`,
      runs: run,
    }),
  );
  parts.push(`**Programs the models wrote** (seed ${s.seeds[0]}, size ${s.presets.at(-1)}, first sample):\n`);
  parts.push(await programExamples(run.dir, s));
  const cs = claims(s);
  parts.push(ctx.table("claims", {
    title: "The paper's claims on code, tested",
    header: ["claim", "paired difference (ours)", "verdict"],
    rows: cs.map((c) => [c.text, pointsCi(c.interval), c.verdict]),
    caption: "Each difference is paired by seed (the same SFT start), mean with a 95% t-interval; the verdict says " +
      "on which side of zero the interval lies: inside it, inconclusive. Growth across sizes compares unpaired " +
      "gains with a conservative Welch interval.",
    runs: run,
  }));
  const agree = cs.filter((c) => c.verdict === "agrees").length, dis = cs.filter((c) => c.verdict === "disagrees");
  const verdict = `${agree} of ${cs.length} claims agree, ${dis.length} disagree` +
    (dis.length ? ` (${dis.map((c) => c.text).join("; ")})` : "") +
    `, ${cs.length - agree - dis.length} inconclusive at ${s.seeds.length} seeds.`;
  const choices = s.choices.map((c) => `\`${c.key}\` = ${JSON.stringify(c.value)}: ${c.doc}.`);
  publishedTable("table7"); // the section's published tables exist (a renamed id fails here, not in the report)
  return {
    body: parts.join("\n\n"),
    choices,
    verdict,
    headlines: headlines(s, cs),
    tally: tallyOf(cs.map((c) => c.verdict)),
  };
}

/**
 * The difficulty check the comparison rests on (issue 9): the SFT model's introductory pass@5 should lie in about
 * [15%, 70%] at every size, and each tier should be harder than the one before. Said plainly when it does not hold.
 */
function calibration(s: CodeSummary): string {
  const k = Math.min(5, s.eval.samples);
  const lines = s.presets.map((preset) => {
    const tiers = TIERS.map((t) => over(s, preset, "sft", APPS, (r) => r.passAtK[String(k)][t])?.mean ?? NaN);
    const ok = tiers[0] >= 0.15 && tiers[0] <= 0.7 && tiers[0] > tiers[1] && tiers[1] > tiers[2];
    const shown = tiers.map((v, i) => `${TIERS[i]} ${fmtPercent(v, 1)}`).join(", ");
    return `${preset}: SFT pass@${k} ${shown}: ${ok ? "within the target" : "OUTSIDE the target"}`;
  });
  const all = lines.every((l) => l.endsWith("within the target"));
  return `**Difficulty check** (before any comparison: SFT's introductory pass@${k} in about 15-70%, each tier ` +
    `harder than the one before): ${lines.join("; ")}.` +
    (all ? "" : " The testbed is not calibrated for this model size and budget yet, so the comparisons below " +
      "are between models that rarely solve a problem and say little about the paper's claims.");
}

/** §6.3-6.4 and Appendix C.1 on the code testbed. */
export const section: Section = {
  id: "code",
  title: "With test rewards, PPO beats SFT and DPO-Iter on code; DPO on the dataset's pairs collapses",
  paper: "§6.3-6.4, Tables 7, 8; Appendix C.1, Table 9",
  experiments: ["code"],
  command: "deno task code",
  published: ["table7", "table8", "table9"],
  render,
};
