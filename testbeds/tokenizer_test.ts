import assert from "node:assert/strict";
import { buildBatch, CharTokenizer, SPECIALS } from "./tokenizer.ts";

Deno.test("tokenizer: ids, round trip, specials rendered or dropped, deterministic", () => {
  const tok = new CharTokenizer("ab c→");
  assert.equal(tok.vocabSize, 9);
  assert.deepEqual([tok.pad, tok.bos, tok.eos, tok.sep], [0, 1, 2, 3]);
  assert.deepEqual(SPECIALS, { pad: 0, bos: 1, eos: 2, sep: 3 });
  assert.deepEqual(tok.encode("ba →c"), [5, 4, 6, 8, 7]);
  assert.equal(tok.decode(tok.encode("a b→c")), "a b→c");
  assert.equal(tok.decode([1, 4, 3, 5, 2, 0]), "<bos>a<sep>b<eos><pad>");
  assert.equal(tok.decode([1, 4, 3, 5, 2, 0], { specials: "drop" }), "ab");
  assert.ok(tok.isSpecial(2) && !tok.isSpecial(4));
  const other = CharTokenizer.fromTexts(["cab", "ba c"]);
  assert.deepEqual(other.chars, [" ", "a", "b", "c"]);
  assert.deepEqual(CharTokenizer.fromTexts(["ba c", "cab"]).toJSON(), other.toJSON());
  assert.deepEqual(new CharTokenizer(other.toJSON().alphabet).encode("abc"), other.encode("abc"));
});

Deno.test("tokenizer: unknown characters, bad ids and bad alphabets are errors naming what and where", () => {
  const tok = new CharTokenizer("abc");
  assert.throws(() => tok.encode("abxc"), /Unknown character "x" \(U\+0078\) at position 2 of "abxc"/);
  assert.throws(() => tok.encode("a😀"), /Unknown character "😀" \(U\+1F600\) at position 1/);
  assert.throws(() => tok.decode([1, 7]), /Token id 7 at position 1 is outside the vocabulary \[0, 7\)/);
  assert.throws(() => new CharTokenizer("aba"), /Alphabet has 'a' twice \(at 0 and 2\)/);
  assert.throws(() => new CharTokenizer(["a", "bc"]), /Alphabet entry 1 must be one character, got "bc"/);
});

Deno.test("tokenizer: batch layout, shifted targets, response mask with EOS, last index", () => {
  const tok = new CharTokenizer("abc");
  const [a, b, c] = [4, 5, 6];
  const { BOS, EOS, SEP, PAD } = { BOS: 1, EOS: 2, SEP: 3, PAD: 0 };
  const batch = buildBatch(tok, [{ prompt: "ab", response: "c" }, { prompt: "a", response: "bcab" }], {
    context: 10,
  });
  assert.deepEqual([batch.B, batch.T], [2, 8]);
  assert.deepEqual([...batch.tokens], [BOS, a, b, SEP, c, EOS, PAD, PAD, BOS, a, SEP, b, c, a, b, EOS]);
  assert.deepEqual([...batch.targets], [a, b, SEP, c, EOS, PAD, PAD, PAD, a, SEP, b, c, a, b, EOS, PAD]);
  // Row 0: targets c (t=3) and EOS (t=4). Row 1: targets b c a b EOS (t=2..6).
  assert.deepEqual([...batch.mask], [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0]);
  assert.deepEqual([...batch.lengths], [6, 8]);
  assert.deepEqual([...batch.lastIndex], [5, 7]);
  assert.deepEqual([...batch.responseStart], [4, 3]);
  for (let r = 0; r < 2; r++) assert.equal(batch.tokens[r * 8 + batch.lastIndex[r]], EOS);
  // Every masked target is a response token: tokens[t + 1] at or after responseStart.
  batch.mask.forEach((m, i) => {
    const r = Math.floor(i / 8), t = i % 8;
    assert.equal(m === 1, t + 1 >= batch.responseStart[r] && t + 1 <= batch.lastIndex[r], `mask at ${r},${t}`);
  });
});

Deno.test("tokenizer: batch options: token-id inputs, no specials, padTo context, truncation, too long", () => {
  const tok = new CharTokenizer("abc");
  const sampled = buildBatch(tok, [{ prompt: [4, 5], response: [6, 2] }], { context: 6, eos: false, padTo: "context" });
  assert.deepEqual([...sampled.tokens], [1, 4, 5, 3, 6, 2]);
  assert.deepEqual([...sampled.mask], [0, 0, 0, 1, 1, 0]);
  const bare = buildBatch(tok, [{ prompt: "", response: "ab" }], { context: 4, bos: false, sep: false, eos: false });
  assert.deepEqual([...bare.tokens], [4, 5]);
  assert.deepEqual([...bare.mask], [1, 0]); // the first response token has no position that predicts it
  assert.throws(
    () => buildBatch(tok, [{ prompt: "a", response: "b" }, { prompt: "abc", response: "abc" }], { context: 6 }),
    /Example 1 has 9 tokens \(prompt 3, response 3 with specials\), over the context of 6/,
  );
  const cut = buildBatch(tok, [{ prompt: "a", response: "b" }, { prompt: "abc", response: "abc" }], {
    context: 6,
    truncate: true,
  });
  assert.deepEqual([...cut.tokens.subarray(6)], [1, 4, 5, 6, 3, 4]);
  assert.deepEqual([...cut.mask.subarray(6)], [0, 0, 0, 0, 1, 0]);
  assert.deepEqual([...cut.truncated], [0, 1]);
  assert.equal(cut.lastIndex[1], 5);
  assert.throws(() => buildBatch(tok, [{ prompt: "ax", response: "" }], { context: 6 }), /Example 0 prompt: .*"x"/);
  assert.throws(() => buildBatch(tok, [{ prompt: [9], response: "" }], { context: 6 }), /Example 0 prompt: token id 9/);
  assert.throws(() => buildBatch(tok, [], { context: 6 }), /at least one example/);
});
