/**
 * The shared fixture of the RLHF tests (and of the RL benchmark): on the sanity task (testbeds/sanity.ts), a
 * "pretrained base" model and the SFT policy made from it, trained once per test process; each test clones the SFT
 * policy ({@link sanityPolicy}) and never modifies the shared one. Also the test-scale PPO and GRPO settings.
 *
 * The policy is made as the paper's are, in two supervised phases (algorithms/sft.ts, one submit per step):
 * 1. base pretraining on {@link SanityTask.baseExample}: each answer letter copies a letter of the prompt (any of
 *    them, not the judge's target). It stands in for the pretrained LLM the paper starts from (Llama 2, CodeLlama),
 *    which already has the abilities RLHF draws out: here, looking back at the prompt. Without it a tiny model
 *    trained from scratch on the random-letter SFT data has no such circuit, and RL has to discover one from a
 *    reward that reaches it through 1 letter in 8 (testbeds/sanity.ts `baseResponse` has the measurements);
 * 2. SFT on the testbed's own data ({@link SanityTask.sftExample}: uniform random letters), short as fine-tuning
 *    is, so the SFT policy's gold score is back near 1/8: the start every algorithm must improve on.
 *
 * Sizes: the xs preset's d 64 and 4 heads, 1 layer, context 24 ({@link SANITY_MODEL}): one layer keeps a PPO iteration
 * near 0.15 s on llvmpipe, and the context holds the longest rollout (7 prompt + 16 new tokens).
 *
 * @example
 * ```ts
 * const fx = await sanityFixture(gpu);                  // trained on first use in this process (~6 s on llvmpipe)
 * const policy = await sanityPolicy(gpu, "dpo-policy"); // a fresh copy of fx.sft to train
 * const before = await fx.evaluate(fx.sft), after = await fx.evaluate(policy);
 * after["charts/gold_mean"] > before["charts/gold_mean"];
 * ```
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import type { Gpt } from "../nn/gpt.ts";
import { cloneGpt } from "../nn/gpt_copy.ts";
import type { GptPresetName } from "../nn/gpt_config.ts";
import { Sampler } from "../nn/sampler.ts";
import { type SanityOptions, SanityTask } from "../testbeds/sanity.ts";
import { type Overrides, resolveConfig } from "../util/config.ts";
import type { GRPO_SCHEMA } from "./grpo.ts";
import { evaluatePolicy } from "./policy_eval.ts";
import type { PPO_SCHEMA } from "./ppo.ts";
import { GoldScorer } from "./scorer.ts";
import { SFT_SCHEMA, trainSft } from "./sft.ts";

/** The test-scale model (see the module doc). */
export const SANITY_MODEL = { preset: "xs" as GptPresetName, layers: 1, ctx: 24 };

/** Settings of {@link sanityFixture}; each distinct setting is trained once per process. */
export interface SanityFixtureOptions {
  /** Seed of the initialisation, the data and its order (default 1). */
  seed?: number;
  /** Settings of the sanity task (default: testbeds/sanity.ts's SANITY_DEFAULTS). */
  task?: Partial<SanityOptions>;
  /** Model size preset (default xs: d 64, 4 heads) and the blocks (default 1; 0 keeps the preset's). */
  preset?: GptPresetName;
  layers?: number;
  /** Steps of base pretraining (default 200) and of SFT (default 20), each a batch of 32. */
  baseSteps?: number;
  sftSteps?: number;
}

/** What the RLHF tests start from. */
export interface SanityFixture {
  task: SanityTask;
  /** The pretrained base (phase 1) and the SFT policy (phase 2); shared by the process's tests, never modified. */
  base: Gpt | null;
  sft: Gpt;
  /** The task's gold judge as a Scorer. */
  gold: GoldScorer;
  /** 256 prompts for evaluation, drawn apart from any training data. */
  evalPrompts: string[];
  /**
   * Gold score of a policy's greedy (`charts/gold_greedy`) and sampled (temperature 1, `charts/gold_mean`) answers
   * to `evalPrompts`, at most 10 new tokens, the sampled answers' {@link targetShare} (`charts/target_share`) and
   * mean length in letters (`charts/response_len`). The random draws are the same on every call, so policies are
   * compared on equal terms.
   */
  evaluate(policy: Gpt): Promise<Record<string, number>>;
  /** Seconds the two training phases took. */
  seconds: number;
}

const fixtures = new Map<string, Promise<SanityFixture>>();

/** The sanity fixture (see the module doc), trained on the first call with these options in this process. */
export function sanityFixture(gpu: Gpu, o: SanityFixtureOptions = {}): Promise<SanityFixture> {
  const { seed = 1, preset = SANITY_MODEL.preset, layers = SANITY_MODEL.layers, baseSteps = 200, sftSteps = 20 } = o;
  const task = new SanityTask(o.task);
  const key = JSON.stringify([seed, task.options, preset, layers, baseSteps, sftSteps]);
  let fx = fixtures.get(key);
  if (!fx) fixtures.set(key, fx = makeFixture(gpu, task, seed, preset, layers, baseSteps, sftSteps));
  return fx;
}

/** A fresh trainable copy of the fixture's SFT policy. */
export async function sanityPolicy(gpu: Gpu, label = "policy", o: SanityFixtureOptions = {}): Promise<Gpt> {
  return cloneGpt((await sanityFixture(gpu, o)).sft, label);
}

async function makeFixture(
  gpu: Gpu,
  task: SanityTask,
  seed: number,
  preset: GptPresetName,
  layers: number,
  baseSteps: number,
  sftSteps: number,
): Promise<SanityFixture> {
  Deno.env.set("PROGRESS", "0");
  const rng = new Rng(seed), B = 32, t0 = performance.now();
  // Both phases: a constant rate of 3e-3 with no warm-up or decay (measured: the base's copying forms within 200
  // steps; a cosine schedule would spend half of them below half the rate), no weight decay (short fits, not the
  // runs under study), batches of 32, each example seen once.
  const phase = (steps: number) =>
    resolveConfig(SFT_SCHEMA, {
      sets: [
        `seed=${seed}`,
        `preset=${preset}`,
        `layers=${layers}`,
        `ctx=${SANITY_MODEL.ctx}`,
        `batchSize=${B}`,
        `steps=${steps}`,
        "lr=3e-3",
        "warmupProportion=0",
        "minLrRatio=1",
        "weightDecay=0",
        `logEvery=${steps}`,
        `evalEvery=${steps}`,
        `checkpointEvery=${steps}`,
      ],
    });
  const data = (name: string, steps: number, make: (r: Rng) => { prompt: string; response: string }) => ({
    tokenizer: task.tokenizer,
    train: SanityTask.many(rng.split(name), steps * B, make),
    heldout: [],
  });
  const base = baseSteps > 0
    ? (await trainSft(gpu, phase(baseSteps), data("base", baseSteps, (r) => task.baseExample(r)))).model
    : null;
  const sftData = data("sft", sftSteps, (r) => task.sftExample(r));
  const sft = (await trainSft(gpu, phase(sftSteps), sftData, { init: base ?? undefined })).model;
  const seconds = (performance.now() - t0) / 1000;

  const gold = new GoldScorer(gpu, "sanity-gold", (p, r) => task.gold(p, r));
  const evalPrompts = SanityTask.many(rng.split("eval"), 256, (r) => task.prompt(r));
  const samplers = new Map<Gpt, Sampler>();
  const evaluate = async (policy: Gpt) => {
    let s = samplers.get(policy);
    if (!s) samplers.set(policy, s = new Sampler(policy, { maxBatch: 128 }));
    const key = rng.split("eval-samples"), tok = task.tokenizer;
    const g = await evaluatePolicy(s, tok, evalPrompts, gold, { maxNewTokens: 10, greedy: true }, key);
    const t = await evaluatePolicy(s, tok, evalPrompts, gold, { maxNewTokens: 10 }, key);
    return {
      "charts/gold_greedy": g.mean,
      "charts/gold_mean": t.mean,
      "charts/target_share": targetShare(task, t.samples.prompts, t.samples.responses),
      "charts/response_len": t.responseLen,
    };
  };
  return { task, base, sft, gold, evalPrompts, evaluate, seconds };
}

/**
 * The share of target letters among the scored letters of each response (the first `scored`), averaged over the
 * responses that have any: the gold score without its reward for length (a 4-letter answer of 4 targets scores
 * gold 0.5, share 1), so a test can tell a policy that finds the target from one that only talks longer.
 */
export function targetShare(task: SanityTask, prompts: readonly string[], responses: readonly string[]): number {
  let sum = 0, n = 0;
  responses.forEach((r, i) => {
    const scored = Math.min([...r].length, task.options.scored);
    if (scored === 0) return;
    sum += (task.gold(prompts[i], r) * task.options.scored) / scored;
    n++;
  });
  return n > 0 ? sum / n : 0;
}

/**
 * PPO at test scale on the sanity task, and why each value leaves PPO_SCHEMA's defaults (the paper's): a batch of 32
 * (512 is minutes per iteration on 2 CPU cores), the task's prompts (≤ 5 letters + BOS + SEP) and 16 new tokens
 * (the schema's default; the best answer is 8 letters + EOS, and with 10 a policy that overshoots by two letters is
 * cut, gets no task reward (§8.3) and was measured to collapse), gold scores ×5 (the gold judge gives [0, 1]; the
 * reward must be large next to the β = 0.1 KL penalty for the policy to move, yet at ×10 the penalty was too weak to
 * stop answers running past the 8 scored letters: the KL to the reference spiked to 26-32 nats in 3 of 18 measured
 * runs, against at most 21.5 in 9 at ×5), a constant learning rate (ReaLHF's cosine would spend half of a
 * 70-iteration run below half the rate) of 2e-3 (measured on this fixture: 3e-3 overshoots more often), and the
 * critic from the policy (the gold judge has no reward model to start it from).
 */
export const SANITY_PPO: Overrides<typeof PPO_SCHEMA> = {
  iterations: 70,
  batchSize: 32,
  maxPromptLen: 7,
  generation: { maxNewTokens: 16 },
  reward: { scale: 5 },
  criticInit: "policy",
  actor: { lr: 2e-3, minLrRatio: 1 },
  critic: { lr: 1e-3, minLrRatio: 1 },
};

/** GRPO at test scale on the sanity task: 8 prompts × 4 responses (32 rollouts, PPO's batch), otherwise as PPO's. */
export const SANITY_GRPO: Overrides<typeof GRPO_SCHEMA> = {
  iterations: 70,
  prompts: 8,
  groupSize: 4,
  maxPromptLen: 7,
  generation: { maxNewTokens: 10 },
  actor: { lr: 3e-3, minLrRatio: 1 },
};
