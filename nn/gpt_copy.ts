/**
 * Copies between GPT models on the GPU, one submit each: a whole model ({@link cloneGpt}: the actor and the
 * reference of an RLHF run start as copies of the SFT policy), or every parameter two models share
 * ({@link copySharedParams}: a reward model starts from the SFT model's transformer, PPO's critic from the reward
 * model, both as ReaLHF builds them; PAPER.md §5.5, §8 item 1). Two configurations share a parameter when it has
 * the same name and shape in both; a scalar head and an LM head are never shared, so the head that one model lacks
 * keeps the destination's own initialisation.
 *
 * @example
 * ```ts
 * const actor = await cloneGpt(sft, "actor");                      // same config, same parameters
 * const rm = new Gpt(gpu, { ...sft.config, lmHead: false, scalarHead: true }, "rm");
 * rm.params.initialize(rng.split("rm-init"));                      // the fresh scalar head
 * await copySharedParams(sft, rm);                                 // the transformer from the SFT model
 * ```
 * @module
 */
import { Gpt } from "./gpt.ts";

/** A new model with `src`'s configuration and a copy of its parameters (one GPU copy, one submit). */
export async function cloneGpt(src: Gpt, label: string): Promise<Gpt> {
  const dst = new Gpt(src.gpu, src.config, label);
  const enc = src.gpu.encoder(`clone ${label}`);
  enc.copy(src.params.params, dst.params.params);
  await enc.submit();
  return dst;
}

/**
 * Copies every parameter of `src` that `dst` also has (same name) into `dst`, in one submit; `dst`'s other
 * parameters are left as they are. Returns the names copied. A shared name whose shapes differ (models of
 * different widths) is a RangeError naming the parameter and both shapes; so is a pair with nothing in common.
 */
export async function copySharedParams(src: Gpt, dst: Gpt): Promise<string[]> {
  const copied: string[] = [];
  const enc = src.gpu.encoder("copy shared params");
  for (const e of dst.params.entries) {
    const from = src.params.entries.find((s) => s.name === e.name);
    if (!from) continue;
    if (from.shape.join() !== e.shape.join()) {
      throw new RangeError(
        `copySharedParams: parameter '${e.name}' is [${from.shape}] in the source but [${e.shape}] in the destination`,
      );
    }
    enc.copy(src.params.get(e.name), dst.params.get(e.name));
    copied.push(e.name);
  }
  if (copied.length === 0) throw new RangeError("copySharedParams: the two models share no parameter");
  await enc.submit();
  return copied;
}
