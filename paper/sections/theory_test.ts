import assert from "node:assert/strict";
import { join } from "node:path";
import { auditFile } from "../../experiments/audit.ts";
import { buildReport } from "../report.ts";
import { section } from "./theory.ts";

const example = (stem: string) => new URL(`../../examples/${stem}.yaml`, import.meta.url).pathname;

/** Writes theory runs for `stems` (with `sets`) into a temporary runs root, builds the report, returns its README. */
async function report(stems: string[], sets: string[] = []): Promise<{ readme: string; out: string; files: string[] }> {
  const runs = await Deno.makeTempDir();
  const out = await Deno.makeTempDir();
  for (const stem of stems) {
    await auditFile(example(stem), {
      root: runs,
      experiment: "theory",
      name: stem,
      sets,
      extraConfig: { scale: "small" },
    });
  }
  const { files, failed } = await buildReport({ runsDir: runs, outDir: out, sections: [section] });
  assert.deepEqual(failed, []);
  const readme = await Deno.readTextFile(join(out, "README.md"));
  await Deno.remove(runs, { recursive: true });
  return { readme, out, files };
}

Deno.test("theory section: Table 1 regenerated beside the paper's, with its figure and an exact agreement", async () => {
  const { readme, out, files } = await report(["table1", "extrapolation"]);
  try {
    assert.match(readme, /\| π_DPO: an explicit DPO optimum \| 0\.1 \| 0 \| 0\.9 \| 0\.1 \/ 0 \/ 0\.9 \|/);
    assert.match(readme, /\| π_PPO: PPO's target \(a limit\) \| 1 \| 0 \| 0 \| 1 \/ 0 \/ 0 \|/);
    assert.match(readme, /\*\*Agreement with the paper\.\*\* Agrees exactly/);
    assert.match(readme, /leaves y3 at 0 after 300 steps/);
    assert.match(readme, /\| extrapolation \| .* \| tabular: 0 → 0; linear: 9\.9e−5 → 0\.978 \|/);
    for (const f of ["figures/theory_table1.png", "figures/theory_extrapolation.svg", "tables/theory_table1.md"]) {
      assert.ok(files.includes(f), f);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("theory section: a run that does not match the paper's numbers is reported as a disagreement", async () => {
  const { readme, out } = await report(["table1"], ["witnessMass=0.2"]);
  try {
    assert.match(readme, /Disagrees: our explicit DPO optimum is \(0\.2 \/ 0 \/ 0\.8\)/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
