/**
 * Preference data on the GPU: pairs and groups of responses as rows of fixed-width token batches (the buffers and
 * widths of algorithms/batch.ts), and per-sequence quantities (sequence log-probabilities, last-token scores) of a
 * whole data set computed in one submit.
 *
 * Layout: a batch of P pairs is 2P rows, the P chosen responses first and the P rejected after them, so one forward
 * and one backward serve both halves (bigger matmuls than two passes of P rows), and the per-row results split with
 * two copies. A group batch (RRHF, PRO) is G·k rows, group-major. Every batch of a run has the same width T (the
 * longest sequence of the data set), so one workspace serves every step. Token rows are `BOS prompt SEP response
 * EOS` (testbeds/tokenizer.ts), the EOS counted as a response token as ReaLHF's datasets append it (PAPER.md §9.2).
 *
 * Sequence log-probability = Σ of token log-probs over response tokens only (PAPER.md §8 item 2, ReaLHF
 * `dpo_loss`): the prompt is excluded by the tokenizer's response mask.
 *
 * @example
 * ```ts
 * const rows = pairRows(pairs);                                  // 2P examples: chosen..., rejected...
 * const width = widthOf(tok, rows, model.config.ctx);            // algorithms/batch.ts
 * const ref = await sequenceValues(reference, tok, rows, { width, rows: 64, kind: "seqLogp" });  // [2P], once
 * const bufs = new BatchBuffers(gpu, 2 * batchPairs, width);     // algorithms/batch.ts
 * bufs.write(fixedWidth(tok, pairRows(batch), width));           // queue writes, no round trip
 * ```
 * @module
 */
import type { Gpt } from "../nn/gpt.ts";
import type { PreferencePair } from "../testbeds/sanity.ts";
import type { Example, TokenBatch, Tokenizer } from "../testbeds/tokenizer.ts";
import { fixedWidth } from "./batch.ts";

/** The 2P rows of P pairs: chosen responses first, rejected after. */
export function pairRows(pairs: readonly PreferencePair[]): Example[] {
  return [
    ...pairs.map((p) => ({ prompt: p.prompt, response: p.chosen })),
    ...pairs.map((p) => ({ prompt: p.prompt, response: p.rejected })),
  ];
}

/** 1 / (number of response targets) of each row of a batch (0 for a row without any). */
export function responseInverseLengths(batch: TokenBatch): Float32Array {
  const out = new Float32Array(batch.B);
  for (let b = 0; b < batch.B; b++) {
    let n = 0;
    for (let t = 0; t < batch.T; t++) n += batch.mask[b * batch.T + t];
    out[b] = n > 0 ? 1 / n : 0;
  }
  return out;
}

/** What {@link sequenceValues} computes per sequence. */
export type SequenceValueKind = "seqLogp" | "score";

/**
 * Per-sequence values of `model` over all `examples`, `rows` sequences per forward, every chunk recorded into one
 * encoder with one readback at the end: "seqLogp" = Σ response-token log-probs (DPO's reference log-probs, computed
 * once per data set), "score" = the scalar head at the last token (reward-model evaluation). Rows are padded to a
 * multiple of `rows` with empty sequences, which are not returned.
 */
export async function sequenceValues(
  model: Gpt,
  tok: Tokenizer,
  examples: readonly Example[],
  { width, rows, kind }: { width: number; rows: number; kind: SequenceValueKind },
): Promise<Float32Array> {
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`sequenceValues: rows must be >= 1, got ${rows}`);
  if (kind === "seqLogp" && !model.config.lmHead) throw new RangeError("sequenceValues: seqLogp needs an LM head");
  if (kind === "score" && !model.config.scalarHead) throw new RangeError("sequenceValues: score needs a scalar head");
  const n = examples.length, chunks = Math.ceil(n / rows), padded = chunks * rows;
  const gpu = model.gpu;
  const batch = fixedWidth(tok, examples, width);
  const grow = <A extends Uint32Array | Float32Array>(a: A, make: (k: number) => A): A => {
    const out = make(padded * (a.length / n));
    out.set(a);
    return out;
  };
  // Padding rows: PAD tokens, no response targets (seqLogp 0), last index 0.
  const all = {
    tokens: gpu.fromArray(grow(batch.tokens, (k) => new Uint32Array(k)), [padded, width], "u32", "seqvals.tokens"),
    targets: gpu.fromArray(grow(batch.targets, (k) => new Uint32Array(k)), [padded, width], "u32", "seqvals.targets"),
    mask: gpu.fromArray(grow(batch.mask, (k) => new Float32Array(k)), [padded, width], "f32", "seqvals.all_mask"),
    lastIndex: gpu.fromArray(grow(batch.lastIndex, (k) => new Uint32Array(k)), [padded], "u32", "seqvals.all_last"),
  };
  const ws = model.workspace(rows, width, { grad: false, label: "seqvals.ws" });
  const mask = gpu.tensor([rows, width], "f32", "seqvals.mask"); // bound by the masked row sum: must start aligned
  const last = gpu.tensor([rows], "u32", "seqvals.last");
  const out = gpu.tensor([padded], "f32", "seqvals.out");
  const enc = gpu.encoder(`sequence values (${kind})`);
  for (let c = 0; c < chunks; c++) {
    const at = c * rows * width, shape = [rows, width];
    model.forward(enc, ws, all.tokens.view(at, shape));
    if (kind === "seqLogp") {
      model.tokenLogprobs(enc, ws, all.targets.view(at, shape));
      enc.copy(all.mask.view(at, shape), mask);
      enc.copy(model.sequenceLogprobs(enc, ws, mask), out.view(c * rows, [rows]));
    } else {
      enc.copy(all.lastIndex.view(c * rows, [rows]), last);
      enc.copy(model.lastTokenScore(enc, ws, last), out.view(c * rows, [rows]));
    }
  }
  const r = enc.read(out);
  await enc.submit();
  const values = (await r).slice(0, n);
  for (const t of [mask, last, out]) t.destroy();
  ws.destroy();
  for (const t of Object.values(all)) t.destroy();
  return values;
}
