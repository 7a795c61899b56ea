/**
 * Fixtures of the PPO and GRPO tests and the RL benchmark: a small SFT policy on the sanity task
 * (testbeds/sanity.ts) and the test-scale PPO and GRPO settings.
 *
 * The policy is made in two supervised phases, one submit per step:
 * 1. "pretraining" on a generic copying objective: each response letter is drawn from the prompt's letters (any of
 *    them, not the judge's target). It stands in for the pretrained base model of the paper (Llama 2, CodeLlama),
 *    which already has the abilities RLHF draws out;
 * 2. SFT on the testbed's own data: uniform random letters, so the SFT policy's gold score is about 1/8, the start
 *    every RL run must improve on.
 * Why phase 1: from a random-init base, a tiny model has no circuit that looks back at the prompt, and RL must
 * discover one from a reward that touches it only through 1 token in 8. Measured on llvmpipe (d 64, 1 layer, batch
 * 32, actor lr 1e-3 to 6e-3): PPO's gold stays at the SFT level for 60-200 iterations before it takes off, too long
 * and too seed-dependent for a test. After phase 1 it takes off within about 40 iterations (see ppo_test.ts).
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { AdamW } from "../nn/adamw.ts";
import { Gpt } from "../nn/gpt.ts";
import { Sampler } from "../nn/sampler.ts";
import { type GptConfig, gptPreset, type GptPresetName } from "../nn/gpt_config.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { buildBatch, type Example } from "../testbeds/tokenizer.ts";
import type { Overrides } from "../util/config.ts";
import type { GRPO_SCHEMA } from "./grpo.ts";
import type { PPO_SCHEMA } from "./ppo.ts";
import { evaluatePolicy } from "./policy_eval.ts";
import { GoldScorer } from "./scorer.ts";

/** Settings of {@link sanitySft}. */
export interface SanitySftOptions {
  seed?: number;
  /** Model size preset (default xs) and the fields that replace its sizes (default {@link SANITY_MODEL}). */
  preset?: GptPresetName;
  overrides?: Partial<GptConfig>;
  /** Steps of phase 1 (copying prompt letters) and of phase 2 (the testbed's SFT data). */
  pretrainSteps?: number;
  sftSteps?: number;
  batch?: number;
  lr?: number;
}

/** The test-scale model: one layer keeps a PPO iteration near 0.25 s on llvmpipe. */
export const SANITY_MODEL: Partial<GptConfig> = { d: 64, heads: 4, layers: 1, ctx: 24 };

/** A phase-1 example: the response's letters drawn from the prompt's letters. */
function copyExample(task: SanityTask, rng: Rng): Example {
  const letters = [...task.prompt(rng)];
  const n = task.options.responseLen[1];
  return {
    prompt: letters.join(""),
    response: Array.from({ length: n }, () => letters[rng.int(letters.length)]).join(""),
  };
}

/** An SFT policy on the sanity task (see the module doc), and the task. */
export async function sanitySft(
  gpu: Gpu,
  o: SanitySftOptions = {},
): Promise<{ policy: Gpt; task: SanityTask; loss: number }> {
  const { seed = 1, preset = "xs", pretrainSteps = 60, sftSteps = 60, batch = 32, lr = 3e-3 } = o;
  const task = new SanityTask();
  const tok = task.tokenizer;
  const config = gptPreset(preset, { vocab: tok.vocabSize, ...(o.overrides ?? SANITY_MODEL) });
  const policy = new Gpt(gpu, config, "sft");
  const rng = new Rng(seed);
  policy.params.initialize(rng.split("init"));
  // No weight decay: these are short supervised fits, not the runs under study.
  const opt = new AdamW(policy.params, { weightDecay: 0 });
  const T = Math.min(config.ctx, task.maxSequence);
  const ws = policy.workspace(batch, T, "sft.ws");
  const [tokens, targets] = [gpu.tensor([batch, T], "u32", "sft.tokens"), gpu.tensor([batch, T], "u32", "sft.targets")];
  const mask = gpu.tensor([batch, T], "f32", "sft.mask");
  const steps = pretrainSteps + sftSteps;
  let last: Promise<Float32Array> | null = null;
  for (let s = 0; s < steps; s++) {
    const make = (r: Rng) => (s < pretrainSteps ? copyExample(task, r) : task.sftExample(r));
    const b = buildBatch(tok, SanityTask.many(rng.split(`data-${s}`), batch, make), { context: T, padTo: "context" });
    tokens.write(b.tokens);
    targets.write(b.targets);
    mask.write(b.mask);
    const enc = gpu.encoder("sft step");
    opt.zeroGrad(enc);
    policy.forward(enc, ws, tokens);
    const loss = policy.crossEntropy(enc, ws, targets, mask);
    policy.backward(enc, ws, { dlogp: ws.dlogp });
    opt.step(enc, { lr });
    if (s === steps - 1) last = enc.read(loss);
    await enc.submit();
  }
  const loss = (await last!)[0];
  ws.destroy();
  [tokens, targets, mask].forEach((t) => t.destroy());
  return { policy, task, loss };
}

/** Mean gold score of `n` responses sampled from `policy` (temperature 1; algorithms/policy_eval.ts). */
export async function sampledGold(policy: Gpt, task: SanityTask, n: number, seed: number): Promise<number> {
  const sampler = new Sampler(policy, { maxBatch: n, maxLen: task.maxSequence });
  const rng = new Rng(seed);
  const prompts = Array.from({ length: n }, (_, i) => task.prompt(rng.split("prompts").split(i)));
  const gold = new GoldScorer(policy.gpu, "sanity-gold", (p, r) => task.gold(p, r));
  const ev = await evaluatePolicy(sampler, task.tokenizer, prompts, gold, { maxNewTokens: 10 }, rng.split("sample"));
  sampler.destroy();
  return ev.mean;
}

/**
 * PPO at test scale on the sanity task, and why each value leaves PPO_SCHEMA's defaults (the paper's): a batch of 32
 * (512 is minutes per iteration on 2 CPU cores), the task's prompts (≤ 5 letters + BOS + SEP) and answers (≤ 8
 * letters + EOS), gold scores ×10 (the gold judge gives [0, 1]; the paper's code reward is 10/0 and ReaLHF's EMA
 * example scales its reward by 10, so that the task reward is large next to the β = 0.1 KL penalty), a constant
 * learning rate (ReaLHF's cosine would spend half of a 70-iteration run below half the rate), and the critic from
 * the policy (the gold judge has no reward model to start it from).
 */
export const SANITY_PPO: Overrides<typeof PPO_SCHEMA> = {
  iterations: 70,
  batchSize: 32,
  maxPromptLen: 7,
  generation: { maxNewTokens: 10 },
  reward: { scale: 10 },
  criticInit: "policy",
  actor: { lr: 3e-3, minLrRatio: 1 },
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
