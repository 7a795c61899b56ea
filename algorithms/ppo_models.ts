/**
 * The models of an RLHF run, all resident on one device (DESIGN.md, "Models"): the actor and the reference start
 * as copies of the SFT policy; PPO's critic starts from the reward model, as ReaLHF's example scripts initialise it
 * (PAPER.md §5.5, §9.6), or, when the reward is a gold judge with no reward model, from the SFT policy's body with a
 * fresh scalar head. The reward itself is a Scorer (algorithms/scorer.ts), not one of these.
 *
 * @example
 * ```ts
 * const actor = cloneGpt(sft, "actor");                               // trainable copy
 * const ref = cloneGpt(sft, "ref");                                   // frozen (or EMA-tracked) copy
 * const critic = criticFrom(rewardModel ?? sft, rng.split("critic"));  // scalar head, no LM head
 * ```
 * @module
 */
import type { Rng } from "../kernels/rng.ts";
import { Gpt } from "../nn/gpt.ts";
import type { GptConfig } from "../nn/gpt_config.ts";

/** A new model with `src`'s configuration and a copy of its parameters (one GPU copy, one submit). */
export async function cloneGpt(src: Gpt, label: string): Promise<Gpt> {
  const dst = new Gpt(src.gpu, src.config, label);
  const enc = src.gpu.encoder(`clone ${label}`);
  enc.copy(src.params.params, dst.params.params);
  await enc.submit();
  return dst;
}

/**
 * A critic (scalar head, no LM head) initialised from `src`: every parameter `src` also has (same name and shape)
 * is copied, the rest (the scalar head, when `src` is a policy) keeps the GPT-2 initialisation drawn from `rng`.
 * From a reward model this is an exact copy, as ReaLHF initialises the critic (PAPER.md §5.5).
 */
export async function criticFrom(src: Gpt, rng: Rng, label = "critic"): Promise<Gpt> {
  const config: GptConfig = { ...src.config, lmHead: false, scalarHead: true };
  const critic = new Gpt(src.gpu, config, label);
  critic.params.initialize(rng);
  const enc = src.gpu.encoder(`init ${label}`);
  for (const e of critic.params.entries) {
    const from = src.params.entries.find((s) => s.name === e.name);
    if (!from) continue;
    if (from.shape.join() !== e.shape.join()) {
      throw new RangeError(`criticFrom: parameter '${e.name}' is [${from.shape}] in the source, [${e.shape}] here`);
    }
    enc.copy(src.params.get(e.name), critic.params.get(e.name));
  }
  await enc.submit();
  return critic;
}
