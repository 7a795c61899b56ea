import assert from "node:assert/strict";
import { Rng } from "../../kernels/rng.ts";
import { WordTokenizer } from "../tokenizer.ts";
import { CORPUS_GENERATORS, generate, PREFERENCE_GENERATORS } from "./generators.ts";
import { isRefusal } from "./judges.ts";
import { AssistantTestbed } from "./testbed.ts";

const tb = new AssistantTestbed({ pairs: 600, alpacaExamples: 300, trainPrompts: 200, evalPrompts: 100 });

Deno.test("assistant testbed: splits never overlap and every set draws from its own split", () => {
  const split = (text: string) => tb.splitOf(tb.request(text)!);
  for (const s of ["train", "validation", "test"] as const) {
    const ps = tb.prompts(s);
    assert.ok(ps.every((r) => tb.splitOf(r) === s), s);
    const harmful = ps.filter((r) => r.harmful).length / ps.length;
    assert.ok(harmful > 0.3 && harmful < 0.7, `${s}: harmful share ${harmful}`);
  }
  assert.ok(tb.safetyPairs().every((p) => tb.splitOf(p.request) === "train"));
  assert.ok(tb.alpacaExamples().every((e) => split(e.prompt as string) === "train"));
  assert.ok(
    tb.pretrainCorpus(300, new Rng(1)).every((e) =>
      e.prompt === "tell me a fact ." || split(e.prompt as string) === "train"
    ),
  );
});

Deno.test("assistant testbed: Alpaca data is benign and never refuses; SFT (Safe) data is flagged safe", () => {
  const alpaca = tb.alpacaExamples();
  assert.equal(alpaca.length, 300);
  assert.ok(alpaca.every((e) => !tb.request(e.prompt as string)!.harmful && !isRefusal(e.response as string)));
  assert.ok(alpaca.every((e) => (e.response as string).startsWith("sure ! ")));
  const flagged = tb.safetyPairs().reduce((n, p) => n + (p.safeA ? 1 : 0) + (p.safeB ? 1 : 0), 0);
  assert.equal(tb.safeExamples().length, flagged);
  // The preference data has refusals of harmful requests, which the Alpaca data never shows.
  assert.ok(tb.safeExamples().some((e) => tb.request(e.prompt as string)!.harmful && isRefusal(e.response as string)));
});

Deno.test("assistant testbed: filters, tokenizer fit, determinism and bad options", () => {
  const d = tb.describe() as { dualSafe: number; dualUnsafe: number; pairs: number };
  assert.equal(tb.consolidated().length, d.pairs);
  assert.equal(tb.consolidated({ dualUnsafe: true }).length, d.pairs - d.dualUnsafe);
  assert.equal(tb.consolidated({ dualUnsafe: true, dualSafe: true }).length, d.pairs - d.dualUnsafe - d.dualSafe);
  assert.ok(d.dualSafe > 0 && d.dualUnsafe > 0);
  const tok = new WordTokenizer(tb.vocabulary);
  // Every generator's response to every request is in the vocabulary (wrong facts included).
  const rng = new Rng(7);
  for (const g of [...PREFERENCE_GENERATORS, ...CORPUS_GENERATORS, "alpaca", "beaver"] as const) {
    for (const r of tb.world.prompts()) for (let i = 0; i < 3; i++) tok.encode(generate(tb.world, g, r, rng));
  }
  const longest = Math.max(...tb.safetyPairs().flatMap((p) => [p.a, p.b]).map((y) => tok.encode(y).length));
  const prompt = Math.max(...tb.world.prompts().map((r) => tok.encode(r.text).length));
  assert.ok(1 + prompt + 1 + longest + 1 <= 32, `prompt ${prompt} + response ${longest}`);
  const again = new AssistantTestbed({ pairs: 600, alpacaExamples: 300, trainPrompts: 200, evalPrompts: 100 });
  assert.deepEqual(again.consolidated(), tb.consolidated());
  assert.deepEqual(again.prompts("test"), tb.prompts("test"));
  assert.notDeepEqual(new AssistantTestbed({ seed: 2, pairs: 50 }).consolidated(), tb.consolidated().slice(0, 50));
  assert.throws(() => new AssistantTestbed({ pairs: 0 }), /option pairs must be an integer >= 1, got 0/);
  assert.throws(() => new AssistantTestbed({ harmfulShare: 1.5 }), /option harmfulShare must be in \[0, 1\]/);
  assert.throws(() => new AssistantTestbed({ labels: { flagFlip: -1 } as never }), /flagFlip/);
  const hb = tb.hhPairs(["color", "place", "howto"]);
  assert.ok(hb.length > 0 && hb.length < tb.hhPairs().length);
});

Deno.test("assistant testbed: the Beaver baseline is safe most of the time", () => {
  const b = tb.baseline(tb.prompts("test"));
  assert.ok(b.safetyRate > 0.85 && b.safetyRate < 1, `${b.safetyRate}`);
  assert.ok(b.cost < 0);
});
