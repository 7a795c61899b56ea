import assert from "node:assert/strict";
import { join } from "node:path";
import { heatmap, lineChart } from "./plot/mod.ts";
import { buildReport } from "./report.ts";
import type { Section } from "./section.ts";
import { fmtSpread, spread } from "./tables.ts";
import type { RunRecord } from "../util/run_dir.ts";

const ADAPTER = { description: "llvmpipe (LLVM 15.0.6, 256 bits)", backend: "gl", isFallbackAdapter: true };

/** Writes one fake run directory: config.json (a RunRecord), metrics.jsonl and summary.json. */
async function fakeRun(root: string, experiment: string, name: string, seed: number, started: string) {
  const dir = join(root, experiment, name);
  await Deno.mkdir(dir, { recursive: true });
  const scale = name.split("-")[0];
  const record: RunRecord = {
    experiment,
    name,
    command: `deno task ${experiment} --scale ${scale} --set seed=${seed}`,
    git: { commit: "0123456789ab", dirty: false },
    adapter: ADAPTER,
    started,
    config: { seed },
  };
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(record));
  const rows = [0, 10, 20, 30].map((step) => ({ step, "charts/reward_mean": 0.1 * seed + step / 100 }));
  await Deno.writeTextFile(join(dir, "metrics.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const probs = [[0.5 + 0.01 * seed, 0.5 - 0.01 * seed], [0.25, 0.75]];
  await Deno.writeTextFile(join(dir, "summary.json"), JSON.stringify({ uncovered: 0.2 + 0.01 * seed, probs }));
}

async function fixture(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "runs-" });
  for (const seed of [1, 2, 3]) await fakeRun(root, "dummy", `small-seed${seed}`, seed, `2026-01-0${seed}T00:00:00Z`);
  await fakeRun(root, "dummy", "tiny", 9, "2026-02-01T00:00:00Z"); // newer, but not the default scale
  await fakeRun(root, "other", "tiny", 4, "2026-01-05T00:00:00Z");
  await Deno.mkdir(join(root, "dummy", "half-made")); // no config.json yet: skipped
  return root;
}

type Summary = { uncovered: number; probs: number[][] };

/** A section registered only in this test: a heat-map, a line chart with a band over seeds, and a table. */
const dummy: Section = {
  id: "dummy",
  title: "A dummy result",
  paper: "§0, Table 0",
  experiments: ["dummy"],
  command: "deno task dummy",
  published: ["figure1"],
  async render(ctx) {
    const { run, note } = ctx.pick("dummy")!;
    const seeds = ctx.runsOf("dummy", "small");
    const s = run.summary as Summary;
    const hm = await ctx.figure(
      "probs",
      heatmap({
        title: "π | dummy",
        rows: ["x1", "x2"],
        cols: ["y1", "y2"],
        values: s.probs,
        marked: [{ row: 1, col: 0 }],
      }),
      { caption: "Probabilities of the newest small run; the circle marks an uncovered cell.", runs: run },
    );
    const steps = seeds[0].metrics.map((m) => m.step);
    const per = steps.map((_, i) => spread(seeds.map((r) => r.metrics[i]["charts/reward_mean"] as number)));
    const curve = await ctx.figure(
      "reward",
      lineChart({
        title: "Reward over training",
        series: [{
          name: "dummy",
          x: steps,
          mean: per.map((p) => p.mean),
          lo: per.map((p) => p.min),
          hi: per.map((p) => p.max),
        }],
        xLabel: "step",
        yLabel: "reward",
      }),
      { caption: "Mean over 3 seeds; the band spans min to max.", runs: seeds },
    );
    const table = ctx.table("uncovered", {
      title: "Mass on uncovered cells",
      header: ["method", "ours", "paper"],
      rows: [["DPO | dummy", fmtSpread(spread(seeds.map((r) => (r.summary as Summary).uncovered))), "0.23"]],
      caption: "Ours over seeds beside the paper's §4.2 number.",
      runs: seeds,
    });
    return { body: [note, hm, curve, table].join("\n"), choices: ["Two prompts (not in paper)."], verdict: "Agrees." };
  },
};

const fallback: Section = {
  id: "fallback",
  title: "Only a tiny run exists",
  paper: "§1",
  experiments: ["other"],
  command: "deno task other",
  published: [],
  render(ctx) {
    return { body: ctx.pick("other")!.note };
  },
};
const planned: Section = {
  id: "later",
  title: "Not yet",
  paper: "§9",
  experiments: ["later"],
  command: "deno task later",
  published: ["table1"],
  plannedIn: "the issue for §9 (a test issue)",
};
const empty: Section = { ...fallback, id: "empty", experiments: ["nothing"], command: "deno task nothing" };
const SECTIONS = [dummy, fallback, planned, empty];

async function readTree(dir: string, prefix = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const names = [...Deno.readDirSync(dir)].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of names) {
    const rel = prefix + e.name;
    if (e.isDirectory) { for (const [k, v] of await readTree(join(dir, e.name), rel + "/")) out.set(k, v); }
    else out.set(rel, await Deno.readFile(join(dir, e.name)));
  }
  return out;
}

Deno.test("report: identical outputs when re-run, from a copied runs/ elsewhere, and after deleting figures/", async () => {
  const runs = await fixture(), copy = await Deno.makeTempDir({ prefix: "elsewhere-" });
  const outA = await Deno.makeTempDir(), outB = await Deno.makeTempDir();
  try {
    const first = await buildReport({ runsDir: runs, outDir: outA, sections: SECTIONS });
    assert.deepEqual(first.failed, []);
    assert.deepEqual(first.files, [
      "README.md",
      "figures/dummy_probs.png",
      "figures/dummy_probs.svg",
      "figures/dummy_reward.png",
      "figures/dummy_reward.svg",
      "tables/dummy_uncovered.md",
    ]);
    const a = await readTree(outA);
    await buildReport({ runsDir: runs, outDir: outA, sections: SECTIONS });
    assert.deepEqual(await readTree(outA), a, "second run in place");
    await new Deno.Command("cp", { args: ["-r", runs + "/.", copy] }).output();
    await buildReport({ runsDir: copy, outDir: outB, sections: SECTIONS });
    assert.deepEqual(await readTree(outB), a, "no machine paths: another runs/ location gives the same bytes");
    await Deno.remove(join(outA, "figures"), { recursive: true });
    await buildReport({ runsDir: runs, outDir: outA, sections: SECTIONS });
    assert.deepEqual(await readTree(outA), a, "figures restored identically");
  } finally {
    for (const d of [runs, copy, outA, outB]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("report: README has each status, provenance, the paper's numbers, choices and verdict", async () => {
  const runs = await fixture(), out = await Deno.makeTempDir();
  try {
    await buildReport({ runsDir: runs, outDir: out, sections: SECTIONS });
    const md = await Deno.readTextFile(join(out, "README.md"));
    const prov = "made by `deno task dummy --scale small --set seed=3` at commit 0123456789ab on llvmpipe (LLVM " +
      "15.0.6, 256 bits), gl backend, software";
    assert.ok(md.includes(`<sub>${prov}</sub>`), "provenance of the newest small run, not the newer tiny one");
    assert.ok(md.includes("![Probabilities of the newest small run; the circle marks an uncovered cell.]"));
    assert.ok(md.includes("| DPO \\| dummy | 0.22 ± 0.01 (n=3) | 0.23 |"), "escaped pipe, spread over seeds");
    assert.ok(md.includes("**Choices where the paper is silent.**\n\n- Two prompts (not in paper)."));
    assert.ok(md.includes("**Agreement with the paper.** Agrees."));
    assert.ok(md.includes("<details><summary>The paper's published numbers (Figure 1)</summary>"));
    assert.ok(md.includes("Shown at scale `tiny` (`runs/other/tiny`): no `small` run of `other` was found."));
    assert.ok(md.includes("**Not implemented yet:** the issue for §9 (a test issue) implements it."));
    assert.ok(md.includes("### The paper's published numbers (Table 1)"), "a planned section shows the paper's table");
    assert.ok(md.includes("**No runs yet.** Run `deno task nothing`"));
    assert.ok(md.includes("| `runs/dummy/small-seed1` | small |"), "the runs table");
    assert.ok(!md.includes("half-made"), "a run without config.json is skipped");
    assert.ok(!md.includes(runs) && !md.includes(out), "no machine paths");
    const table = await Deno.readTextFile(join(out, "tables", "dummy_uncovered.md"));
    assert.ok(table.startsWith("### Mass on uncovered cells\n\n| method | ours | paper |"));
    assert.ok(
      table.includes(
        "made by `deno task dummy --scale small --set seed=3`, `deno task dummy --scale small --set seed=2` and " +
          "`deno task dummy --scale small --set seed=1` at commit 0123456789ab on llvmpipe",
      ),
      "a table names all its runs, grouped by commit and adapter",
    );
    const svg = await Deno.readTextFile(join(out, "figures", "dummy_reward.svg"));
    assert.ok(svg.includes("Mean over 3 seeds; the band spans min to max."), "caption inside the figure");
  } finally {
    for (const d of [runs, out]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("report: a failing section is reported and drops its files; stale figures are removed", async () => {
  const runs = await fixture(), out = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(out, "figures"));
    await Deno.writeTextFile(join(out, "figures", "old_figure.svg"), "<svg/>");
    await Deno.writeTextFile(join(out, "figures", "keep.txt"), "not ours");
    const broken: Section = {
      ...dummy,
      id: "broken",
      async render(ctx) {
        await ctx.figure("half", heatmap({ rows: ["a"], cols: ["b"], values: [[1]] }), {
          caption: "c",
          runs: ctx.runs[0],
        });
        throw new Error("summary.json lacks 'probs'");
      },
    };
    const result = await buildReport({ runsDir: runs, outDir: out, sections: [broken, dummy] });
    assert.deepEqual(result.failed, ["broken"]);
    assert.deepEqual(result.removed, ["figures/old_figure.svg"]);
    assert.ok(!result.files.some((f) => f.includes("broken_half")), "a failed section's files are dropped");
    assert.ok(result.files.includes("figures/dummy_probs.png"), "other sections still render");
    assert.ok(await Deno.stat(join(out, "figures", "keep.txt")), "only .svg/.png/.md files are owned");
    const md = await Deno.readTextFile(join(out, "README.md"));
    assert.ok(md.includes("**This section failed to render:** summary.json lacks 'probs'"));
  } finally {
    for (const d of [runs, out]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("report: bad sections are errors naming the section", async () => {
  const out = await Deno.makeTempDir();
  try {
    const opts = { runsDir: join(out, "none"), outDir: out };
    await assert.rejects(() => buildReport({ ...opts, sections: [dummy, dummy] }), /Two sections have the id 'dummy'/);
    const bare = { ...planned, plannedIn: undefined };
    await assert.rejects(() => buildReport({ ...opts, sections: [bare] }), /'later' has neither render nor plannedIn/);
    await assert.rejects(
      () => buildReport({ ...opts, sections: [{ ...planned, id: "Bad-Id" }] }),
      /Section id must be/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
