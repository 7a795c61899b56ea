/**
 * The models of an RLHF run, all resident on one device (DESIGN.md, "Models"): the actor and the reference start
 * as copies of the SFT policy (nn/gpt_copy.ts `cloneGpt`); PPO's critic starts from the reward model, as ReaLHF's
 * example scripts initialise it (PAPER.md §5.5, §9.6), or, when the reward is a gold judge with no reward model,
 * from the SFT policy's body with a fresh scalar head. The reward itself is a Scorer (algorithms/scorer.ts), not
 * one of these.
 *
 * @example
 * ```ts
 * const actor = await cloneGpt(sft, "actor");                              // trainable copy
 * const ref = await cloneGpt(sft, "ref");                                  // frozen (or EMA-tracked) copy
 * const critic = await criticFrom(rewardModel ?? sft, rng.split("critic")); // scalar head, no LM head
 * ```
 * @module
 */
import type { Rng } from "../kernels/rng.ts";
import { Gpt } from "../nn/gpt.ts";
import type { GptConfig } from "../nn/gpt_config.ts";
import { copySharedParams } from "../nn/gpt_copy.ts";

/**
 * A critic (scalar head, no LM head) initialised from `src`: every parameter `src` also has (same name and shape)
 * is copied, the rest (the scalar head, when `src` is a policy) keeps the GPT-2 initialisation drawn from `rng`.
 * From a reward model this is an exact copy, as ReaLHF initialises the critic (PAPER.md §5.5).
 */
export async function criticFrom(src: Gpt, rng: Rng, label = "critic"): Promise<Gpt> {
  const config: GptConfig = { ...src.config, lmHead: false, scalarHead: true };
  const critic = new Gpt(src.gpu, config, label);
  critic.params.initialize(rng);
  await copySharedParams(src, critic);
  return critic;
}
