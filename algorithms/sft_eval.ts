/**
 * The held-out loss of an SFT model: the masked cross-entropy over every response token of a held-out set, all its
 * batches in one submit (algorithms/sft.ts logs it as `losses/sft_heldout`).
 * @module
 */
import type { Gpt } from "../nn/gpt.ts";
import type { GptWorkspace } from "../nn/gpt_workspace.ts";
import type { StackedBatches } from "./batch.ts";

/**
 * Mean negative log-likelihood per response token over `set` (each batch's mean weighted by its token count), on
 * the workspace `ws` ([B, T] of the set's batches). One submit, one read.
 */
export async function heldoutLoss(model: Gpt, ws: GptWorkspace, set: StackedBatches): Promise<number> {
  const gpu = model.gpu;
  const losses = gpu.tensor([set.count], "f32", "sft.heldout_losses");
  const enc = gpu.encoder("sft heldout");
  for (let i = 0; i < set.count; i++) {
    const b = set.batch(i);
    model.forward(enc, ws, b.tokens);
    enc.copy(model.crossEntropy(enc, ws, b.targets, b.mask), losses.view(i, [1]));
  }
  const r = enc.read(losses);
  await enc.submit();
  const per = await r;
  losses.destroy();
  let sum = 0, count = 0;
  set.tokensPerBatch.forEach((n, i) => {
    if (n > 0) [sum, count] = [sum + per[i] * n, count + n];
  });
  return sum / count;
}
