/**
 * GRPO end to end on the sanity task (fixed seeds, asserted thresholds) from the shared pretrained-base + SFT
 * fixture (algorithms/testing.ts), its group statistics, and its errors.
 */
import assert from "node:assert/strict";
import { gpuTest } from "../kernels/testing.ts";
import { resolveConfig } from "../util/config.ts";
import { degenerateGroups, GRPO_SCHEMA, type GrpoConfig, trainGrpo } from "./grpo.ts";
import { SANITY_GRPO, sanityFixture } from "./testing.ts";

const config = (sets: string[] = []): GrpoConfig =>
  resolveConfig(GRPO_SCHEMA, { presets: [{ name: "sanity-tiny", values: SANITY_GRPO }], sets });
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

gpuTest("GRPO on the sanity task improves the gold reward over the SFT start", async (gpu) => {
  const t0 = performance.now();
  const fx = await sanityFixture(gpu);
  const sftGold = (await fx.evaluate(fx.sft))["charts/gold_mean"];
  const t1 = performance.now();
  const cfg = config();
  const { history } = await trainGrpo(cfg, { policy: fx.sft, task: fx.task, scorer: fx.gold });
  const t2 = performance.now();
  const gold = history.map((r) => r["charts/gold_mean"] as number);
  const kl = history.map((r) => r["losses/kl_penalty"] as number);
  const late = mean(gold.slice(-10));
  console.log(
    `SFT gold ${sftGold.toFixed(3)} -> GRPO last-10 gold ${late.toFixed(3)}; k3 KL per token at the end ` +
      `${kl.at(-1)!.toFixed(3)}; fixture ${((t1 - t0) / 1000).toFixed(1)} s, GRPO ${cfg.iterations} iterations ` +
      `${((t2 - t1) / 1000).toFixed(1)} s`,
  );
  assert.ok(late >= 0.35 && late >= sftGold + 0.2, `GRPO gold ${late} should be well above the SFT's ${sftGold}`);
  assert.ok(kl.every((k) => Number.isFinite(k) && k >= 0), "the k3 KL penalty is finite and non-negative");
});

Deno.test("GRPO: degenerate groups (all k scores equal) are counted", () => {
  assert.equal(degenerateGroups([1, 1, 0, 1, 0.5, 0.5], 2), 2 / 3);
  assert.equal(degenerateGroups([0, 0, 0, 0], 4), 1);
  assert.equal(degenerateGroups([0, 1, 0, 0], 4), 0);
});

gpuTest("GRPO: bad settings are errors naming the field and the value", async (gpu) => {
  const { sft: policy, task, gold: scorer } = await sanityFixture(gpu);
  const go = (...sets: string[]) => trainGrpo(config(["iterations=1", ...sets]), { policy, task, scorer });
  await assert.rejects(go("prompts=3", "groupSize=3"), /prompts·groupSize = 9 is not a multiple of minibatches 4/);
  await assert.rejects(go("earlyStopRatio=0.5"), /earlyStopRatio must be 0 \(off\) or >= 1/);
  assert.throws(() => config(["groupSize=1"]), /groupSize' must be >= 2/);
});
