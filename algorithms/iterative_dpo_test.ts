/**
 * Iterative DPO: the pairing rule (best vs worst, ties skipped, the reference solution as winner when no sample is
 * correct), sampled responses decode to text, and on the sanity task rounds of sample, gold-label, DPO raise the
 * gold score of the policy's samples above the start, the shared SFT fixture (algorithms/testing.ts).
 */
import assert from "node:assert/strict";
import { Rng } from "../kernels/rng.ts";
import { gpuTest } from "../kernels/testing.ts";
import { Gpt } from "../nn/gpt.ts";
import { Sampler } from "../nn/sampler.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { resolveConfig } from "../util/config.ts";
import { formPairs, ITERATIVE_DPO_SCHEMA, trainIterativeDpo } from "./iterative_dpo.ts";
import { sampleResponses } from "./policy_eval.ts";
import { RewardModelScorer } from "./scorer.ts";
import { sanityFixture, sanityPolicy } from "./testing.ts";

Deno.env.set("PROGRESS", "0");

Deno.test("iterative dpo: pairs are best vs worst, ties are skipped, the reference wins when none is correct", () => {
  const prompts = ["ab", "cd", "ef"];
  const responses = ["a1", "a2", "a3", "c1", "c2", "c3", "e1", "e2", "e3"];
  const scores = [0.25, 0.5, 0, 0.5, 0.5, 0.5, 0.125, 1, 1];
  const plain = formPairs(prompts, responses, scores, 3);
  assert.deepEqual(plain.pairs, [
    { prompt: "ab", chosen: "a2", rejected: "a3" },
    { prompt: "ef", chosen: "e2", rejected: "e1" }, // first of the tied best
  ]);
  assert.deepEqual([plain.ties, plain.referenceWins], [1, 0]);
  const ref = formPairs(prompts, responses, scores, 3, {
    referenceWinner: true,
    correctThreshold: 1,
    reference: (p) => p[0].repeat(4),
  });
  assert.deepEqual(ref.pairs, [
    { prompt: "ab", chosen: "aaaa", rejected: "a3" },
    { prompt: "cd", chosen: "cccc", rejected: "c1" }, // all tied and none correct: the reference still wins
    { prompt: "ef", chosen: "e2", rejected: "e1" },
  ]);
  assert.deepEqual([ref.ties, ref.referenceWins], [0, 2]);
  assert.throws(() => formPairs(prompts, responses, scores, 1), /k must be an integer >= 2/);
  assert.throws(() => formPairs(prompts, responses.slice(1), scores, 3), /needs 9 responses and scores, got 8 and 9/);
  assert.throws(() => formPairs(prompts, responses, scores, 3, { referenceWinner: true }), /needs a reference/);
});

gpuTest("iterative dpo: sampled responses decode to text; greedy decoding is deterministic", async (gpu) => {
  const s = await sanityFixture(gpu);
  const sampler = new Sampler(s.sft, { maxBatch: 16 });
  const prompts = s.evalPrompts.slice(0, 40); // three sampler calls of 16, 16 and 8
  const a = await sampleResponses(sampler, s.task.tokenizer, prompts, { maxNewTokens: 10, greedy: true }, new Rng(1));
  const b = await sampleResponses(sampler, s.task.tokenizer, prompts, { maxNewTokens: 10, greedy: true }, new Rng(2));
  assert.deepEqual(a, b);
  const t = await sampleResponses(sampler, s.task.tokenizer, prompts, { maxNewTokens: 10 }, new Rng(3));
  assert.equal(t.responses.length, 40);
  for (const [i, r] of t.responses.entries()) {
    assert.match(r, /^[a-h]*$/, `response ${i} ${JSON.stringify(r)} holds only letters`);
    assert.ok(r.length <= (t.terminated[i] ? 9 : 10), `response ${i} is at most maxNewTokens long`);
  }
  sampler.destroy();
});

gpuTest(
  "iterative dpo: rounds of sampling, gold labels and DPO raise the gold score above the SFT start",
  async (gpu) => {
    const s = await sanityFixture(gpu);
    const policy = await sanityPolicy(gpu);
    const prompts = SanityTask.many(new Rng(5).split("prompts"), 1024, (r) => s.task.prompt(r));
    const cfg = resolveConfig(ITERATIVE_DPO_SCHEMA, {
      sets: ["rounds=5", "promptsPerRound=256", "samplesPerPrompt=5", "dpo.logEvery=16", "dpo.lr=1e-3"],
    });
    const t0 = performance.now();
    const r = await trainIterativeDpo(gpu, {
      policy,
      tokenizer: s.task.tokenizer,
      prompts,
      scorer: s.gold,
      config: cfg,
      evaluate: () => s.evaluate(policy),
    });
    const secs = (performance.now() - t0) / 1000;
    const gold = r.metrics.filter((m) => "charts/gold_mean" in m).map((m) => m["charts/gold_mean"] as number);
    const greedy = r.metrics.filter((m) => "charts/gold_greedy" in m).map((m) => m["charts/gold_greedy"] as number);
    const len = r.metrics.filter((m) => "charts/response_len" in m).map((m) => m["charts/response_len"] as number);
    console.log(
      `${r.rounds.length} rounds in ${secs.toFixed(1)} s; per round (on-policy sample score, pairs, ties): ${
        r.rounds.map((x) => `${x["iter/sample_score_mean"].toFixed(3)}/${x["iter/pairs"]}/${x["iter/ties"]}`).join(" ")
      }; gold of samples ${gold.map((x) => x.toFixed(3)).join(" -> ")}; greedy ${
        greedy.map((x) => x.toFixed(3)).join(" -> ")
      }; response length ${len.map((x) => x.toFixed(2)).join(" -> ")}`,
    );
    assert.equal(r.rounds.length, 5);
    assert.equal(gold.length, 6, "evaluated at the start and after each round");
    assert.ok(gold.at(-1)! > gold[0] + 0.03, `gold of samples ${gold.at(-1)} should rise above the SFT's ${gold[0]}`);
    assert.ok(
      greedy.at(-1)! > greedy[0] + 0.03,
      `gold of greedy responses ${greedy.at(-1)} should rise above ${greedy[0]}`,
    );
    // Rounds sample from the latest policy: the on-policy score of the last round's samples is above the first's.
    assert.ok(r.rounds[4]["iter/sample_score_mean"] > r.rounds[0]["iter/sample_score_mean"]);
  },
);

gpuTest("iterative dpo: a round labelled by a reward model pairs responses by the model's scores", async (gpu) => {
  const s = await sanityFixture(gpu);
  const policy = await sanityPolicy(gpu);
  // A reward model of the policy's size (any scalar-head Gpt scores; this one is untrained, which is all the
  // labelling path needs).
  const rm = new Gpt(gpu, { ...s.sft.config, lmHead: false, scalarHead: true }, "rm");
  rm.params.initialize(new Rng(3).split("rm"));
  const scorer = new RewardModelScorer(rm, s.task.tokenizer);
  const prompts = SanityTask.many(new Rng(6).split("prompts"), 64, (r) => s.task.prompt(r));
  const cfg = resolveConfig(ITERATIVE_DPO_SCHEMA, { sets: ["rounds=1", "promptsPerRound=32", "samplesPerPrompt=3"] });
  const r = await trainIterativeDpo(gpu, { policy, tokenizer: s.task.tokenizer, prompts, scorer, config: cfg });
  assert.equal(r.rounds[0]["iter/pairs"] + r.rounds[0]["iter/ties"], 32);
  assert.ok(r.metrics.some((m) => "losses/dpo" in m), "DPO trained on the RM-labelled pairs");
  // The rule on RM scores: every pair's chosen response outscores its rejected one.
  const sampler = new Sampler(s.sft, { maxBatch: 96 });
  const samples = await sampleResponses(sampler, s.task.tokenizer, prompts.slice(0, 32).flatMap((p) => [p, p, p]), {
    maxNewTokens: 10,
  }, new Rng(4));
  const scores = await scorer.score(samples.prompts, samples.responses);
  const { pairs } = formPairs(prompts.slice(0, 32), samples.responses, scores, 3);
  const [c, w] = await Promise.all([
    scorer.score(pairs.map((p) => p.prompt), pairs.map((p) => p.chosen)),
    scorer.score(pairs.map((p) => p.prompt), pairs.map((p) => p.rejected)),
  ]);
  assert.ok(pairs.length > 0 && pairs.every((_, i) => c[i] > w[i]), "chosen outscores rejected under the RM");
  sampler.destroy();
  scorer.destroy();
});

gpuTest("iterative dpo: a fixed reference model equals the latest-policy reference in round 1 only", async (gpu) => {
  const s = await sanityFixture(gpu);
  const prompts = SanityTask.many(new Rng(7).split("prompts"), 64, (r) => s.task.prompt(r));
  const run = async (rounds: number, fixed: boolean) => {
    const policy = await sanityPolicy(gpu);
    const cfg = resolveConfig(ITERATIVE_DPO_SCHEMA, {
      sets: [`rounds=${rounds}`, "promptsPerRound=32", "samplesPerPrompt=3", "dpo.lr=1e-3"],
    });
    const referenceModel = fixed ? await sanityPolicy(gpu, "fixed reference") : undefined;
    await trainIterativeDpo(gpu, {
      policy,
      tokenizer: s.task.tokenizer,
      prompts,
      scorer: s.gold,
      config: cfg,
      referenceModel,
    });
    return await policy.params.params.read();
  };
  // In round 1 the latest policy is the SFT model, so a fixed copy of it changes nothing, bit for bit.
  assert.deepEqual(await run(1, true), await run(1, false));
  // From round 2 on the fixed reference keeps pulling towards the SFT model: the parameters differ.
  assert.notDeepEqual(await run(2, true), await run(2, false));
});
