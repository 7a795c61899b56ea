import assert from "node:assert/strict";
import { join } from "node:path";
import { auditFile } from "./audit.ts";
import type { AuditRecord } from "../algorithms/tabular/audit.ts";

const EXAMPLES = new URL("../examples/", import.meta.url).pathname;
const examplePath = (stem: string) => join(EXAMPLES, `${stem}.yaml`);

Deno.test("audit: Table 1 reproduces the paper's conclusion exactly, in the record, the Markdown and the run", async () => {
  const root = await Deno.makeTempDir();
  try {
    const { record: r, path, markdown } = await auditFile(examplePath("table1"), { root });
    const pa = r.prompts[0];
    assert.deepEqual(pa.reference, [0.5, 0.5, 0]);
    assert.deepEqual(pa.bt.gaps, [{ a: "y1", b: "y2", gap: "+inf" }]);
    assert.deepEqual(pa.ppo.target, [1, 0, 0], "π_PPO");
    assert.equal(pa.ppo.limit, true);
    assert.equal(pa.ppo.reach.status, "limit");
    assert.equal(pa.dpo.minLoss, 0);
    assert.equal(pa.dpo.attained, true);
    assert.deepEqual([pa.dpo.oodSupremum, pa.dpo.oodAttained], [1, false], "mass on y3 up to 1, not attained");
    assert.deepEqual(pa.dpo.witness.policy.map((v) => Math.round(v * 1e12) / 1e12), [0.1, 0, 0.9], "π_DPO");
    assert.equal(pa.dpo.witness.dpoLoss, 0);
    assert.equal(pa.dpo.witness.dpoOptimal, true);
    assert.equal(pa.dpo.witness.ppo.status, "unreachable");
    // The paper's own rows, given as candidates, get the same verdicts.
    assert.deepEqual(pa.candidates.map((c) => [c.name, c.dpoOptimal, c.ppo.status]), [
      ["pi_DPO (paper)", true, "unreachable"],
      ["pi_PPO (paper)", true, "limit"],
    ]);
    assert.equal(r.gd.tabular.final[0][2], 0, "tabular descent leaves y3 at 0");
    assert.ok("skipped" in r.gd.shared);
    assert.match(markdown, /\| π_PPO \(target, limit\) \| 1 \| 0 \| 0 \|/);
    assert.match(markdown, /\| π_DPO \(explicit optimum\) \| 0\.1 \| 0 \| 0\.9 \|/);
    for (const f of ["config.json", "summary.json", "report.md", "audit.svg", "audit.png"]) {
      assert.ok((await Deno.stat(join(path, f))).size > 0, f);
    }
    const saved = JSON.parse(await Deno.readTextFile(join(path, "summary.json"))) as AuditRecord;
    assert.deepEqual(saved.prompts[0].ppo.target, [1, 0, 0]);
    assert.equal(path, join(root, "audit", "table1"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("audit: every example runs end to end and shows the behaviour its header promises", async () => {
  const root = await Deno.makeTempDir();
  try {
    const stems: string[] = [];
    for await (const e of Deno.readDir(EXAMPLES)) if (e.name.endsWith(".yaml")) stems.push(e.name.slice(0, -5));
    assert.ok(stems.length >= 3, "Table 1 and at least two more");
    const rec = new Map<string, AuditRecord>();
    for (const stem of stems) rec.set(stem, (await auditFile(examplePath(stem), { root })).record);
    const ex = rec.get("extrapolation")!;
    assert.ok("trajectory" in ex.gd.shared && ex.gd.shared.oodFinal[0] > 0.9 && ex.gd.shared.oodInitial[0] < 1e-3);
    assert.equal(ex.gd.tabular.oodFinal[0], 0);
    const noisy = rec.get("noisy_finite")!.prompts[0];
    assert.equal(noisy.bt.finite, true);
    assert.ok(noisy.dpo.minLoss > 0 && noisy.dpo.attained && !noisy.ppo.limit);
    assert.equal(noisy.ppo.reach.status, "reachable");
    assert.equal(noisy.ppo.target[4], 0, "π_ref(y5) = 0");
    // The explicit optimum sends the mass outside the data to y5 (π_ref = 0, which PPO never reaches), not y4.
    assert.deepEqual([noisy.dpo.witness.policy[3], noisy.dpo.witness.policy[4]], [0, 0.9]);
    assert.equal(noisy.dpo.witness.dpoOptimal, true);
    const [a, b] = rec.get("chain")!.prompts;
    assert.equal(a.dpo.attained, false, "a chain's infimum is not attained");
    assert.equal(a.dpo.witness.ppo.status, "limit", "mass on y4 (π_ref > 0) is a PPO limit");
    assert.deepEqual(a.ppo.target, [0.5, 0, 0, 0.5], "unseenReward max: y4 ties y1");
    assert.ok(b.bt.gaps.some((g) => g.gap === "free"));
    assert.deepEqual([b.dpo.oodSupremum, b.dpo.oodAttained], [0, true], "everything covered");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("audit: bad input is rejected before anything is written, so an earlier run survives", async () => {
  const root = await Deno.makeTempDir();
  try {
    const { path } = await auditFile(examplePath("table1"), { root });
    const before = await Deno.readTextFile(join(path, "summary.json"));
    const bad = join(root, "table1.yaml");
    const text = await Deno.readTextFile(examplePath("table1"));
    await Deno.writeTextFile(bad, text.replace("y2: 0.5, y3: 0", "y2: 0.5, y3: 0.2"));
    await assert.rejects(() => auditFile(bad, { root }), /table1\.yaml line \d+: prompts\.x\.reference sums to 1\.2/);
    await assert.rejects(() => auditFile(examplePath("table1"), { root, sets: ["beta=0"] }), /beta must be > 0/);
    await assert.rejects(() => auditFile(join(root, "missing.yaml"), { root }), /Cannot read the case file/);
    assert.equal(await Deno.readTextFile(join(path, "summary.json")), before);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("audit: the command prints the table and exits with status 2 and one line on bad input", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cmd = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", new URL("./audit.ts", import.meta.url).pathname, ...args],
        env: { NO_COLOR: "1" },
      }).output();
    const ok = await cmd([examplePath("table1"), "--out", root]);
    const out = new TextDecoder().decode(ok.stdout);
    assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
    assert.match(out, /\| π_ref \| 0\.5 \| 0\.5 \| 0 \|/);
    assert.match(out, /Wrote .*audit\/table1\//);
    const bad = await cmd([examplePath("table1"), "--out", root, "--set", "gd.steps=-1"]);
    assert.equal(bad.code, 2);
    assert.match(new TextDecoder().decode(bad.stderr), /^error: Config key 'gd\.steps' must be >= 0, got -1 \(--set/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
