/**
 * RRHF and PRO: one step's gradient (ranking term on length-normalised log-probs plus the SFT term on the best
 * response) against the float64 CPU model and finite differences; the best-response indicator agrees with the
 * kernel's `best`; on the sanity task both train from the shared SFT fixture (algorithms/testing.ts) without
 * diverging.
 */
import assert from "node:assert/strict";
import { proLossCpu, rrhfLossCpu } from "../kernels/ranking_loss.ts";
import { Rng } from "../kernels/rng.ts";
import { assertClose, gpuTest } from "../kernels/testing.ts";
import type { GptConfig } from "../nn/gpt_config.ts";
import { GptCpu, type ParamMap } from "../nn/gpt_cpu.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { resolveConfig } from "../util/config.ts";
import { BatchBuffers, fixedWidth } from "./batch.ts";
import { PRO_SCHEMA, trainPro } from "./pro.ts";
import { responseInverseLengths } from "./preference_batch.ts";
import { assertGradsClose, finiteDifferenceCheck, twinModels } from "./gradient_testing.ts";
import { bestIndicator, groupRows, type RankingGroup, RankingStep } from "./ranking_train.ts";
import { RRHF_SCHEMA, trainRrhf } from "./rrhf.ts";
import { sanityFixture, sanityPolicy } from "./testing.ts";

Deno.env.set("PROGRESS", "0");
const GROUPS: RankingGroup[] = [
  { prompt: "ab", responses: ["aaab", "bcd", "a", "ddd"], scores: [0.375, 0, 0.125, 0] },
  { prompt: "hgfe", responses: ["hh", "gfedcbah", "", "hhhh"], scores: [0.25, 0.125, 0, 0.5] },
  { prompt: "c", responses: ["ccc", "", "cac", "bbbbbbb"], scores: [0.375, 0, 0.25, 0] },
];

gpuTest("ranking: RRHF and PRO steps match the float64 CPU model and finite differences", async (gpu) => {
  const tok = new SanityTask().tokenizer;
  const config: GptConfig = { vocab: 12, ctx: 16, d: 16, layers: 2, heads: 2, lmHead: true, scalarHead: false };
  const G = GROUPS.length, k = 4, b = fixedWidth(tok, groupRows(GROUPS), 16), inv = responseInverseLengths(b);
  const rewards = GROUPS.flatMap((g) => g.scores), ind = bestIndicator(GROUPS);
  for (const [kind, w] of [["rrhf", 1], ["pro", 0.5]] as const) {
    const { model, cpu, p } = twinModels(gpu, config, kind === "rrhf" ? 40 : 41);
    const bufs = new BatchBuffers(gpu, G * k, b.T);
    bufs.write(b);
    const ws = model.workspace(G * k, b.T), step = new RankingStep(gpu, G, k, kind, w);
    step.invLength.write(inv);
    step.rewards.write(rewards);
    step.bestInd.write(ind);
    const enc = gpu.encoder();
    enc.zero(model.params.grads);
    step.record(enc, model, ws, bufs);
    const [rg, rs] = [enc.read(model.params.grads), enc.read(step.stats)];
    await enc.submit();
    // CPU: p = Σ log π / |y|, the ranking loss, the SFT term −w·mean p_best, and the chain rule back to the tokens.
    const lossOf = (q: ParamMap) => {
      const m = new GptCpu(config, q), { logp } = m.tokenLogprobs(m.forward(b.tokens, b.B, b.T), b.targets);
      const pn = Array.from({ length: b.B }, (_, r) => {
        let s = 0;
        for (let t = 0; t < b.T; t++) s += b.mask[r * b.T + t] * logp[r * b.T + t];
        return s * inv[r];
      });
      const rank = (kind === "rrhf" ? rrhfLossCpu : proLossCpu)(pn, rewards, G, k);
      const sft = pn.reduce((s, x, i) => s + ind[i] * x, 0);
      return { rank, sft, total: rank.loss + w * sft };
    };
    const want = lossOf(p);
    const dseq = Array.from(want.rank.dlogp, (d, i) => (d + w * ind[i]) * inv[i]);
    const dlogp = Float64Array.from(b.mask, (m, i) => m * dseq[Math.floor(i / b.T)]);
    const grads = cpu.backward(cpu.forward(b.tokens, b.B, b.T), { dlogp, targets: b.targets });
    const stats = await rs;
    assertClose(stats, [...want.rank.stats, want.sft], { atol: 1e-5, rtol: 1e-4, label: `${kind} stats` });
    const fd = finiteDifferenceCheck((q) => lossOf(q).total, p, grads);
    console.log(`${kind}: ${assertGradsClose(await rg, model, grads, 1e-4)}; CPU vs FD ${fd.toExponential(2)}`);
    step.destroy();
    ws.destroy();
    bufs.destroy();
  }
  // The best response of each group: first maximal score, as the kernels' `best`.
  assert.deepEqual([...ind].map((x, i) => (x !== 0 ? i % 4 : -1)).filter((x) => x >= 0), [0, 3, 0]);
  assert.ok(ind.every((x) => x === 0 || Math.abs(x + 1 / 3) < 1e-7));
});

for (const kind of ["rrhf", "pro"] as const) {
  gpuTest(
    `ranking: ${kind.toUpperCase()} trains on the sanity task from the SFT policy without diverging`,
    async (gpu) => {
      const s = await sanityFixture(gpu);
      const policy = await sanityPolicy(gpu);
      const pairs = SanityTask.many(new Rng(9).split("pairs"), 256, (r) => s.task.pair(r));
      const sets = ["samplesPerPrompt=2", "groupsPerStep=8", "epochs=2", "logEvery=8"];
      const base = { policy, tokenizer: s.task.tokenizer, pairs, scorer: s.gold, evaluate: () => s.evaluate(policy) };
      const t0 = performance.now();
      const r = kind === "rrhf"
        ? await trainRrhf(gpu, { ...base, config: resolveConfig(RRHF_SCHEMA, { sets }) })
        : await trainPro(gpu, { ...base, config: resolveConfig(PRO_SCHEMA, { sets }) });
      const secs = (performance.now() - t0) / 1000;
      const col = (key: string) => r.metrics.filter((m) => key in m).map((m) => m[key] as number);
      const loss = col(`losses/${kind}`), sft = col(`${kind}/sft`), gold = col("charts/gold_mean");
      const greedy = col("charts/gold_greedy"), len = col("charts/response_len");
      const acc = col(kind === "rrhf" ? "rrhf/pair_accuracy" : "pro/top1_accuracy");
      console.log(
        `${kind}: ${r.steps} steps (${r.groups.length} groups of ${r.groups[0].responses.length}) in ${
          secs.toFixed(1)
        } s;` +
          ` loss ${loss[0].toFixed(3)} -> ${loss.at(-1)!.toFixed(3)}, SFT term ${sft[0].toFixed(3)} -> ` +
          `${sft.at(-1)!.toFixed(3)}, ranking accuracy ${acc[0].toFixed(3)} -> ${acc.at(-1)!.toFixed(3)}; gold of ` +
          `samples ${gold[0].toFixed(3)} -> ${gold.at(-1)!.toFixed(3)}, greedy ${greedy[0].toFixed(3)} -> ` +
          `${greedy.at(-1)!.toFixed(3)}; response length ${len[0].toFixed(2)} -> ${len.at(-1)!.toFixed(2)}`,
      );
      assert.ok(loss.every(Number.isFinite), "every logged loss is finite");
      assert.ok(loss.at(-1)! < loss[0], `the loss ${loss.at(-1)} should fall below its first window's ${loss[0]}`);
      // Baselines: no divergence means the policy's samples are no worse than the SFT's (within sampling noise).
      assert.ok(gold.at(-1)! > gold[0] - 0.02, `gold of samples ${gold.at(-1)} should not fall below ${gold[0]}`);
      assert.ok(len.at(-1)! > 1, `responses (mean length ${len.at(-1)}) should not collapse`);
    },
  );
}
