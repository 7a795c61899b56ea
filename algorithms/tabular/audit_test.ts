import assert from "node:assert/strict";
import { runAudit } from "./audit.ts";
import { auditMarkdown, cell } from "./markdown.ts";
import { parseCase } from "./parse.ts";

const CASE = `beta: 0.5
prompts:
  b: { reference: { u: 1/4, v: 1/4, w: 1/4, z: 1/4 } }
  quiet: { reference: { c: 0.2, d: 0.8 } }
pairs:
  - b: u > v
  - b: v > u * 2
  - b: w > z
gd: { steps: 20 }
`;

Deno.test("audit record: minimal losses in closed form, per prompt and over the dataset", () => {
  const r = runAudit(parseCase(CASE, "t.yaml"));
  const [b, quiet] = r.prompts;
  // {u, v}: σ(r_u - r_v) = 1/3 at the optimum; {w ≻ z}: 0 in the limit. Mean over b's 4 comparisons.
  const uv = -Math.log(1 / 3) - 2 * Math.log(2 / 3);
  assert.ok(Math.abs(b.dpo.minLoss - uv / 4) < 1e-12, `${b.dpo.minLoss}`);
  assert.ok(Math.abs(r.dataset.minDpoLoss - uv / 4) < 1e-12);
  assert.equal(r.dataset.comparisons, 4);
  const uvGap = b.bt.gaps.find((g) => g.a === "u" && g.b === "v")?.gap as number;
  assert.ok(Math.abs(uvGap - Math.log(1 / 2)) < 1e-9, `r(u) - r(v) = log(1/2), got ${uvGap}`);
  assert.equal(b.bt.gaps.find((g) => g.a === "u" && g.b === "w")?.gap, "free");
  assert.equal(b.dpo.attained, true, "z is a beaten singleton that beats nobody");
  // A prompt no pair names: nothing is identified, every policy is DPO-optimal, all mass may sit "outside".
  assert.deepEqual([quiet.dpo.minLoss, quiet.dpo.attained, quiet.dpo.oodSupremum, quiet.dpo.oodAttained], [
    0,
    true,
    1,
    true,
  ]);
  assert.deepEqual(quiet.ppo.target, [0.2, 0.8]);
  assert.equal(quiet.dpo.witness.dpoOptimal, true);
  assert.deepEqual(r.gd.tabular.final[1], [0.2, 0.8], "the descent never touches it");
});

Deno.test("audit record: JSON-safe, and the Markdown has one Table-1-style table per prompt", () => {
  const r = runAudit(parseCase(CASE, "t.yaml"));
  const json = JSON.stringify(r);
  assert.ok(!/Infinity|NaN/.test(json), "infinities are written as +inf/-inf");
  assert.deepEqual(
    JSON.parse(json).prompts[0].bt.gaps.find((g: { a: string; b: string }) => g.a === "w" && g.b === "z").gap,
    "+inf",
  );
  const md = auditMarkdown(r);
  assert.equal(md.match(/^\| Action \|/gm)?.length, 2);
  assert.match(md, /\| D_pref \| \{u ≻ v, v ≻ u \(×2\), w ≻ z\} \|/);
  assert.match(md, /\| BT reward r̂ \| −0\.347 \| 0\.347 \| 0 \| −∞ \(tier −1\) \|/);
  assert.match(md, /No preference pair names this prompt/);
  assert.deepEqual([cell(0.5), cell(1 / 3), cell(0.99999999), cell(-2e-5), cell(1)], [
    "0.5",
    "0.333",
    "1.000",
    "−2.0e−5",
    "1",
  ]);
});
