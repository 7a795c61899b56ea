/**
 * Report section for §6's dialogue benchmark (Tables 4, 5 and 14) and Appendix C's coverage study (Table 12) on the
 * assistant testbed with HH-RLHF-style labels. Reads only what `deno task dialogue` wrote: summary.json (scores and
 * every judge verdict, per seed) and samples/. Intervals are 95% Student-t over seeds; the ranking's verdicts come
 * from paired differences (same seed: the same SFT model and reward model). Table 11 (β) is the §5 issue's.
 * @module
 */
import { join } from "node:path";
import {
  DIALOGUE_METHODS,
  type DialogueMethod,
  type DialogueSummary,
  type Interval,
  rewardDiff,
  rewardOver,
  winTieLoseOver,
} from "../../experiments/dialogue_summary.ts";
import { readJson } from "../../util/fs.ts";
import { groupedBars } from "../plot/mod.ts";
import { publishedTable, publishedValue } from "../published.ts";
import { type Headline, type Section, type SectionContext, type SectionOutput, tallyOf } from "../section.ts";
import { claimVerdict, pctCi, pointsCi } from "./code.ts";

const LABEL: Record<DialogueMethod, string> = {
  sft: "SFT",
  rrhf: "RRHF",
  pro: "PRO",
  dpo: "DPO",
  dpo_iter: "DPO-Iter",
  ppo: "PPO",
  ppo_helpful_base: "PPO (helpful-base)",
  dpo_helpful_base: "DPO (helpful-base)",
};
const RANKED = ["rrhf", "pro", "dpo", "dpo_iter", "ppo"] as const;

function numCi(i: Interval | null, d = 3): string {
  if (!i) return "–";
  return i.n < 2 ? i.mean.toFixed(d) : `${i.mean.toFixed(d)} [${i.lo.toFixed(d)}, ${i.hi.toFixed(d)}]`;
}
const paper = (id: string, key: string, col: string, pct = false) => {
  const v = publishedValue(id, key, col);
  return v === null ? "–" : pct ? `${v}%` : `${v}`;
};

/** Table 4: evaluation reward and win/tie/lose against the dataset's chosen responses and against SFT. */
function table4(ctx: SectionContext, s: DialogueSummary, run: Parameters<SectionContext["table"]>[1]["runs"]) {
  const rows = (["sft", ...RANKED] as const).map((m) => {
    const vc = m === "sft" ? null : winTieLoseOver(s, m, "chosen", "judge");
    const vs = m === "sft" ? null : winTieLoseOver(s, m, "sft", "judge");
    return [
      LABEL[m],
      numCi(rewardOver(s, m, "evalReward")),
      m === "sft" ? "0.532" : paper("table4", LABEL[m], "OpenAssistant Reward"),
      ...(vc ? [pctCi(vc.win), pctCi(vc.tie), pctCi(vc.lose)] : ["–", "–", "–"]),
      ...(vs ? [pctCi(vs.win), pctCi(vs.tie), pctCi(vs.lose)] : ["–", "–", "–"]),
      m === "sft" ? "–" : `${paper("table4", LABEL[m], "vs Chosen: Tested Win", true)} / ` +
        `${paper("table4", LABEL[m], "vs SFT: Tested Win", true)}`,
    ];
  });
  return ctx.table("table4", {
    title: `Table 4: the HH-RLHF-style benchmark (size ${s.preset})`,
    header: [
      "method",
      "ours eval. reward",
      "paper OA reward",
      "vs chosen: win",
      "tie",
      "chosen wins",
      "vs SFT: win",
      "tie",
      "SFT wins",
      "paper win vs chosen / vs SFT",
    ],
    rows,
    caption: `Evaluation reward: the evaluation RM's mean score on ${s.judgePrompts} held-out prompts (trained on ` +
      `${s.evalRm.trainPairs} gold-labelled pairs of validation requests; held-out accuracy on test requests ` +
      `${
        pctCi(s.evalRm.heldoutAccuracy === null ? null : { n: 1, mean: s.evalRm.heldoutAccuracy, sd: 0, lo: 0, hi: 0 })
      }` +
      `; its scale is not OpenAssistant's, compare orders, not values). Win/tie/lose: the pairwise judge asked ` +
      `twice with the positions swapped, a disagreement counted as a tie, on the same prompts; mean over ` +
      `${s.seeds.length} seeds with a 95% t-interval. The paper's SFT reward 0.532 is Table 3's.`,
    runs: run,
  });
}

/** Tables 5 and 14: PPO against DPO and DPO-Iter by the pairwise judge and by the gold ("human") judge. */
function table5and14(ctx: SectionContext, s: DialogueSummary, run: Parameters<SectionContext["table"]>[1]["runs"]) {
  const rows = (["dpo", "dpo_iter"] as const).flatMap((b) => {
    const j = winTieLoseOver(s, "ppo", b, "judge"), g = winTieLoseOver(s, "ppo", b, "gold");
    if (!j || !g) return [];
    const key = b === "dpo" ? "PPO V.S. DPO" : "PPO V.S. DPO-Iter";
    return [[
      `PPO vs ${LABEL[b]}`,
      pctCi(j.win),
      pctCi(j.tie),
      pctCi(j.lose),
      paper("table5", key, "PPO Win", true),
      pctCi(g.win),
      pctCi(g.tie),
      pctCi(g.lose),
      pctCi(j.agreement),
      paper("table14", b === "dpo" ? "PPO V.S. DPO" : "PPO V.S. DPO-iter", "GPT4-Human agree", true),
    ]];
  });
  return ctx.table("table5_14", {
    title: `Tables 5 and 14: PPO head to head, by the pairwise judge and by the gold judge (size ${s.preset})`,
    header: [
      "comparison",
      "judge: PPO wins",
      "tie",
      "other wins",
      "paper (T5) PPO wins",
      "gold: PPO wins",
      "tie",
      "other wins",
      "judge-gold agreement",
      "paper (T14) agreement",
    ],
    rows,
    caption: `The gold judge (the human raters' stand-in) compares the HH utilities without noise or position bias; ` +
      `agreement is the share of pairs where the pairwise judge's verdict (win, tie or lose) equals the gold one. ` +
      `The pairwise judge's noise τ = ${s.judge.temperature}, position bias ${s.judge.positionBias} logits.`,
    runs: run,
  });
}

/** Table 12: PPO and DPO on the helpful-base subset against the full set. */
function table12(ctx: SectionContext, s: DialogueSummary, run: Parameters<SectionContext["table"]>[1]["runs"]) {
  const rows = [["SFT", "sft", null], ["PPO", "ppo", "ppo_helpful_base"], ["DPO", "dpo", "dpo_helpful_base"]] as const;
  return ctx.table("table12", {
    title: `Table 12: preference-data coverage (size ${s.preset})`,
    header: ["method", "ours helpful-base", "ours full set", "paper helpful-base", "paper full set"],
    rows: rows.map(([name, full, hb]) => [
      name,
      hb ? numCi(rewardOver(s, hb, "evalReward")) : "N/A",
      numCi(rewardOver(s, full, "evalReward")),
      paper("table12", name, "helpful-base set"),
      paper("table12", name, "full set (default)"),
    ]),
    caption: "Evaluation reward. The helpful-base subset keeps the pairs of the color, place and howto requests " +
      "(no pair and no harmful request); both PPO's reward model and DPO's pairs come from it.",
    runs: run,
  });
}

/** The paper's claims on dialogue, with paired intervals. */
function claims(s: DialogueSummary) {
  const out: { text: string; cell: string; verdict: string }[] = [];
  const reward = (a: DialogueMethod, b: DialogueMethod, text: string) => {
    const i = rewardDiff(s, a, b);
    out.push({ text, cell: numCi(i), verdict: claimVerdict(i, "higher") });
  };
  reward("ppo", "dpo", "PPO above DPO (evaluation reward)");
  reward("ppo", "dpo_iter", "PPO above DPO-Iter (evaluation reward)");
  reward("dpo_iter", "dpo", "DPO-Iter above DPO");
  reward("dpo", "pro", "DPO above PRO");
  reward("dpo", "rrhf", "DPO above RRHF");
  reward("ppo", "sft", "PPO above SFT");
  reward("dpo", "sft", "DPO above SFT");
  for (const b of ["dpo", "dpo_iter"] as const) {
    const w = winTieLoseOver(s, "ppo", b, "judge");
    out.push({
      text: `PPO wins more often than it loses against ${LABEL[b]} (pairwise judge)`,
      cell: pointsCi(w?.net ?? null),
      verdict: claimVerdict(w?.net ?? null, "higher"),
    });
  }
  reward("ppo", "ppo_helpful_base", "PPO on the full set above PPO on helpful-base (Table 12)");
  reward("dpo", "dpo_helpful_base", "DPO on the full set above DPO on helpful-base (Table 12)");
  return out;
}

async function render(ctx: SectionContext): Promise<SectionOutput> {
  const { run, note } = ctx.pick("dialogue")!;
  const s = run.summary as DialogueSummary | null;
  if (!s || !s.records) {
    return {
      body: `${note}\n\nThe run ${run.id} has no summary.json: it did not finish. Rerun \`deno task dialogue\`.`,
    };
  }
  const parts: string[] = [];
  if (note) parts.push(note);
  parts.push(
    `The assistant world of §4.3 (testbeds/assistant/) with HH-RLHF-style labels: one Bradley-Terry preference per ` +
      `pair from the gold helpfulness minus the harm. The evaluation RM (the OpenAssistant stand-in) is trained from ` +
      `the base on gold-labelled pairs of validation requests only` +
      (s.evalRm.sharesATrainingPrompt
        ? " (WARNING: some share a training prompt)"
        : " (none shares a training prompt)") +
      `; its held-out accuracy on test requests is ${
        s.evalRm.heldoutAccuracy === null ? "–" : `${(100 * s.evalRm.heldoutAccuracy).toFixed(1)}%`
      }` +
      ` and its mean score of the dataset's chosen responses ${s.evalRm.chosenScoreMean.toFixed(3)}. Size ` +
      `${s.preset}, ${s.seeds.length} seeds. Wall times: the run's summary.json.`,
  );
  parts.push(table4(ctx, s, run), table5and14(ctx, s, run), table12(ctx, s, run));
  const bars = RANKED.map((m) => winTieLoseOver(s, m, "chosen", "judge"));
  parts.push(
    await ctx.figure(
      "win_tie_lose",
      groupedBars({
        title: `Against the dataset's chosen responses: win, tie, lose (size ${s.preset})`,
        groups: RANKED.map((m) => LABEL[m]),
        series: ["win", "tie", "lose"],
        values: bars.map((b) => b ? [b.win.mean, b.tie.mean, b.lose.mean] : [NaN, NaN, NaN]),
        yLabel: "share of prompts",
      }),
      { caption: "The pairwise judge, asked twice with positions swapped; mean over seeds.", runs: run },
    ),
  );
  const seed = s.seeds[0];
  const files = await Promise.all(
    DIALOGUE_METHODS.map((m) =>
      readJson<{ prompt: string; response: string }[]>(join(run.dir, `samples/seed${seed}-${m}.json`)).catch(() => null)
    ),
  );
  const lines = [`**What the models wrote** (seed ${seed}, the first judge prompts):`, ""];
  for (let i = 0; i < 3; i++) {
    const p = files.find((f) => f && f[i])?.[i]?.prompt;
    if (!p) break;
    lines.push(`Prompt \`${p}\`:`, "");
    DIALOGUE_METHODS.forEach((m, k) => {
      const e = files[k]?.[i];
      if (e) lines.push(`- ${LABEL[m]}: \`${e.response || "(empty)"}\``);
    });
    lines.push("");
  }
  parts.push(lines.join("\n"));
  const cs = claims(s);
  parts.push(ctx.table("claims", {
    title: "The paper's claims on dialogue, tested",
    header: ["claim", "paired difference (ours)", "verdict"],
    rows: cs.map((c) => [c.text, c.cell, c.verdict]),
    caption: "Paired by seed, mean with a 95% t-interval; inside zero, inconclusive. The paper's ranking: PPO > " +
      "DPO-Iter > DPO > PRO ≈ RRHF.",
    runs: run,
  }));
  const agree = cs.filter((c) => c.verdict === "agrees").length, dis = cs.filter((c) => c.verdict === "disagrees");
  const verdict = `${agree} of ${cs.length} claims agree, ${dis.length} disagree` +
    (dis.length ? ` (${dis.map((c) => c.text).join("; ")})` : "") +
    `, ${cs.length - agree - dis.length} inconclusive at ${s.seeds.length} seeds.`;
  const choices = [
    "SFT trains on the preference pairs' chosen responses (the paper does not say what its HH-RLHF SFT data is).",
    "The judge prompts are held-out test requests; the 'chosen' responses there are the better of two preference " +
    "generators' responses by the gold utility.",
    "The evaluation RM starts from the pretrained base, not from our SFT model, and never sees a training request.",
    ...s.choices.map((c) => `\`${c.key}\` = ${JSON.stringify(c.value)}: ${c.doc}.`),
  ];
  for (const id of ["table4", "table5", "table12", "table14"]) publishedTable(id);
  const find = (text: string) => cs.find((c) => c.text.startsWith(text))!;
  const r = (m: DialogueMethod) => numCi(rewardOver(s, m, "evalReward"));
  const p = (m: DialogueMethod) => paper("table4", LABEL[m], "OpenAssistant Reward");
  const headlines: Headline[] = [
    {
      claim: "Dialogue: PPO scores above DPO (Table 4)",
      paper: `reward ${p("ppo")} vs ${p("dpo")}`,
      ours: `${r("ppo")} vs ${r("dpo")} (paired ${find("PPO above DPO (").cell})`,
      verdict: find("PPO above DPO (").verdict,
    },
    {
      claim: "Dialogue: DPO-Iter scores above DPO, below PPO (Table 4)",
      paper: `reward ${p("dpo_iter")} vs DPO ${p("dpo")}`,
      ours: `${r("dpo_iter")} (vs DPO ${find("DPO-Iter above DPO").cell}; PPO − DPO-Iter ` +
        `${find("PPO above DPO-Iter").cell})`,
      verdict: [find("DPO-Iter above DPO").verdict, find("PPO above DPO-Iter").verdict].join(" / "),
    },
  ];
  return { body: parts.join("\n\n"), choices, verdict, headlines, tally: tallyOf(cs.map((c) => c.verdict)) };
}

/** §6.1 and Appendix C (Tables 4, 5, 12, 14) on the assistant testbed; Table 11 comes with §5. */
export const section: Section = {
  id: "benchmarks",
  title: "PPO beats RRHF, PRO, DPO and DPO-Iter on dialogue",
  paper: "§6.1, Tables 4, 5, 14; Appendix C, Table 12",
  experiments: ["dialogue"],
  command: "deno task dialogue",
  published: ["table4", "table5", "table12", "table14"],
  render,
};
