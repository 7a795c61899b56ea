/**
 * Preference batches: row layout, widths, inverse response lengths, and the one-submit per-sequence values
 * (response-only sequence log-probs, last-token scores) against the float64 CPU model on a data set that is not a
 * multiple of the chunk size.
 */
import assert from "node:assert/strict";
import { assertClose, gpuTest } from "../kernels/testing.ts";
import { Gpt } from "../nn/gpt.ts";
import type { GptConfig } from "../nn/gpt_config.ts";
import { GptCpu } from "../nn/gpt_cpu.ts";
import { flatten, randomParams, roundToF32 } from "../nn/gpt_testing.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { fixedWidth, widthOf } from "./batch.ts";
import { pairRows, responseInverseLengths, sequenceValues } from "./preference_batch.ts";

const task = new SanityTask();
const tok = task.tokenizer;
const PAIRS = [
  { prompt: "ab", chosen: "aaa", rejected: "bcd" },
  { prompt: "hgfe", chosen: "hh", rejected: "gfedcbah" },
  { prompt: "c", chosen: "c", rejected: "" },
  { prompt: "dab", chosen: "ddda", rejected: "e" },
];

Deno.test("preference batch: pair rows and inverse response lengths", () => {
  const rows = pairRows(PAIRS);
  assert.deepEqual(rows.map((r) => r.response), ["aaa", "hh", "c", "ddda", "bcd", "gfedcbah", "", "e"]);
  assert.deepEqual(rows.map((r) => r.prompt), ["ab", "hgfe", "c", "dab", "ab", "hgfe", "c", "dab"]);
  const b = fixedWidth(tok, rows, 16);
  // Response targets = response characters + EOS.
  assert.deepEqual(
    [...responseInverseLengths(b)],
    [1 / 4, 1 / 3, 1 / 2, 1 / 5, 1 / 4, 1 / 9, 1, 1 / 2].map(Math.fround),
  );
});

gpuTest("preference batch: sequence values match the float64 CPU model (7 rows in chunks of 3)", async (gpu) => {
  const config: GptConfig = {
    vocab: tok.vocabSize,
    ctx: 16,
    d: 16,
    layers: 2,
    heads: 2,
    lmHead: true,
    scalarHead: true,
  };
  const model = new Gpt(gpu, config);
  const p = roundToF32(randomParams(config, 5));
  model.params.params.write(flatten(model.params.entries, model.params.total, p));
  const rows = pairRows(PAIRS).slice(0, 7);
  const width = widthOf(tok, rows, config.ctx);
  const b = fixedWidth(tok, rows, width);
  const cpu = new GptCpu(config, p), cache = cpu.forward(b.tokens, b.B, b.T);
  const { logp } = cpu.tokenLogprobs(cache, b.targets);
  const wantSeq = Array.from({ length: b.B }, (_, r) => {
    let s = 0;
    for (let t = 0; t < b.T; t++) s += b.mask[r * b.T + t] * logp[r * b.T + t];
    return s;
  });
  const wantScore = Array.from(b.lastIndex, (j: number, r) => cache.values![r * b.T + j]);
  const seq = await sequenceValues(model, tok, rows, { width, rows: 3, kind: "seqLogp" });
  const score = await sequenceValues(model, tok, rows, { width, rows: 3, kind: "score" });
  assert.equal(seq.length, 7);
  const r1 = assertClose(seq, wantSeq, { atol: 1e-4, rtol: 1e-4, label: "sequence log-probs" });
  const r2 = assertClose(score, wantScore, { atol: 1e-4, rtol: 1e-4, label: "last-token scores" });
  console.log(`max |GPU - CPU|: seqLogp ${r1.maxAbs.toExponential(2)}, score ${r2.maxAbs.toExponential(2)}`);
  // One chunk holding everything gives the same values.
  assertClose(await sequenceValues(model, tok, rows, { width, rows: 8, kind: "seqLogp" }), seq, {
    atol: 1e-6,
    label: "one chunk vs three",
  });
});

gpuTest("preference batch: bad chunk sizes and kinds are errors naming them", async (gpu) => {
  const lm = new Gpt(gpu, {
    vocab: tok.vocabSize,
    ctx: 16,
    d: 8,
    layers: 1,
    heads: 1,
    lmHead: true,
    scalarHead: false,
  });
  const rows = pairRows(PAIRS);
  await assert.rejects(sequenceValues(lm, tok, rows, { width: 15, rows: 0, kind: "seqLogp" }), /rows must be >= 1/);
  await assert.rejects(sequenceValues(lm, tok, rows, { width: 15, rows: 4, kind: "score" }), /needs a scalar head/);
});
