import assert from "node:assert/strict";
import { buildBatch, CharTokenizer, SPECIALS, tokenizerFromJSON, WordTokenizer } from "./tokenizer.ts";

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

Deno.test("word tokenizer: one id per word, whitespace-normalised round trip, specials rendered or dropped", () => {
  const tok = new WordTokenizer(["let", "x", "=", "12", "+", "→"]);
  assert.equal(tok.vocabSize, 10);
  assert.deepEqual([tok.pad, tok.bos, tok.eos, tok.sep], [0, 1, 2, 3]);
  assert.deepEqual(tok.encode("let x = 12 + 12"), [4, 5, 6, 7, 8, 7]);
  assert.deepEqual(tok.encode("  let\tx\n\n=  12 "), [4, 5, 6, 7]);
  assert.deepEqual(tok.encode(""), []);
  assert.deepEqual(tok.encode(" \n\t "), []);
  assert.equal(tok.decode(tok.encode("let x = 12 → x")), "let x = 12 → x");
  assert.equal(tok.decode(tok.encode(" let  x\n= 12 ")), "let x = 12");
  assert.equal(tok.decode([1, 4, 5, 3, 7, 2, 0]), "<bos> let x <sep> 12 <eos> <pad>");
  assert.equal(tok.decode([1, 4, 5, 3, 7, 2, 0], { specials: "drop" }), "let x 12");
  assert.equal(tok.decode([]), "");
  assert.ok(tok.isSpecial(3) && !tok.isSpecial(4));
  assert.deepEqual(tok.toJSON(), { kind: "word", words: ["let", "x", "=", "12", "+", "→"] });
});

Deno.test("word tokenizer: unknown words, bad ids and bad word lists are errors naming what and where", () => {
  const tok = new WordTokenizer(["a", "bb", "c"]);
  assert.throws(() => tok.encode("a bb  zz c"), /^RangeError: Unknown word "zz" at word position 2 of "a bb {2}zz c"$/);
  assert.throws(() => tok.encode("a ab"), /Unknown word "ab" at word position 1/);
  assert.throws(() => tok.encode("q " + "a ".repeat(40)), /Unknown word "q" at word position 0 of "q a a .*\.\.\."$/);
  assert.throws(() => tok.decode([1, 7]), /Token id 7 at position 1 is outside the vocabulary \[0, 7\)/);
  assert.throws(() => tok.decode([4, 1.5]), /Token id 1.5 at position 1/);
  assert.throws(() => new WordTokenizer(["a", "b", "a"]), /^RangeError: Word list has 'a' twice \(at 0 and 2\)$/);
  assert.throws(
    () => new WordTokenizer(["a", "b c"]),
    /^RangeError: Word list entry 1 must be .*without whitespace, got "b c"$/,
  );
  assert.throws(() => new WordTokenizer(["a\n"]), /Word list entry 0 must be .*without whitespace, got "a\\n"/);
  assert.throws(() => new WordTokenizer(["a", ""]), /Word list entry 1 must be a non-empty word/);
  assert.throws(
    () => new WordTokenizer(["a", "<eos>"]),
    /^RangeError: Word list entry 1 is the special token name '<eos>'$/,
  );
  assert.throws(() => new WordTokenizer([3 as unknown as string]), /^TypeError: Word list entry 0 must be a string/);
});

Deno.test("word tokenizer: batch layout, shifted targets, response mask with EOS, last index", () => {
  const tok = new WordTokenizer(["if", "x", "then", "y", "else", "0"]);
  const [IF, X, THEN, Y, ELSE, ZERO] = [4, 5, 6, 7, 8, 9];
  const { BOS, EOS, SEP, PAD } = { BOS: 1, EOS: 2, SEP: 3, PAD: 0 };
  const batch = buildBatch(tok, [{ prompt: "if x", response: "then y" }, {
    prompt: "x",
    response: " then  0 else\ty ",
  }], { context: 10 });
  // Row 0: BOS if x SEP then y EOS (7 tokens); row 1: BOS x SEP then 0 else y EOS (8 tokens), T = 8.
  assert.deepEqual([batch.B, batch.T], [2, 8]);
  assert.deepEqual([...batch.tokens], [BOS, IF, X, SEP, THEN, Y, EOS, PAD, BOS, X, SEP, THEN, ZERO, ELSE, Y, EOS]);
  assert.deepEqual([...batch.targets], [IF, X, SEP, THEN, Y, EOS, PAD, PAD, X, SEP, THEN, ZERO, ELSE, Y, EOS, PAD]);
  // Row 0: targets then y EOS (t=3..5). Row 1: targets then 0 else y EOS (t=2..6).
  assert.deepEqual([...batch.mask], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0]);
  assert.deepEqual([...batch.lengths], [7, 8]);
  assert.deepEqual([...batch.lastIndex], [6, 7]);
  assert.deepEqual([...batch.responseStart], [4, 3]);
  assert.equal(tok.decode(batch.tokens.subarray(8), { specials: "drop" }), "x then 0 else y");
  assert.throws(
    () => buildBatch(tok, [{ prompt: "if x", response: "then y" }], { context: 6 }),
    /Example 0 has 7 tokens \(prompt 2, response 2 with specials\), over the context of 6/,
  );
  assert.throws(
    () => buildBatch(tok, [{ prompt: "if z", response: "" }], { context: 6 }),
    /Example 0 prompt: Unknown word "z" at word position 1/,
  );
});

Deno.test("tokenizerFromJSON: both kinds round trip; malformed records are errors naming where", () => {
  const char = new CharTokenizer("ab c");
  const c2 = tokenizerFromJSON(JSON.parse(JSON.stringify(char)), "run/config.json");
  assert.ok(c2 instanceof CharTokenizer);
  assert.deepEqual(c2.toJSON(), { kind: "char", alphabet: ["a", "b", " ", "c"] });
  assert.deepEqual(c2.encode("ba c"), char.encode("ba c"));
  const word = new WordTokenizer(["let", "x", "="]);
  const w2 = tokenizerFromJSON(JSON.parse(JSON.stringify(word)), "run/config.json");
  assert.ok(w2 instanceof WordTokenizer);
  assert.deepEqual(w2.words, ["let", "x", "="]);
  assert.deepEqual(w2.encode("let x = x"), word.encode("let x = x"));
  const at = "ckpt/config.json";
  assert.throws(
    () => tokenizerFromJSON(null, at),
    /^TypeError: ckpt\/config.json: tokenizer must be an object, got null$/,
  );
  assert.throws(() => tokenizerFromJSON("char", at), /^TypeError: ckpt\/config.json: tokenizer must be an object/);
  assert.throws(() => tokenizerFromJSON([], at), /^TypeError: ckpt\/config.json: tokenizer must be an object/);
  assert.throws(
    () => tokenizerFromJSON({ kind: "bpe", merges: [] }, at),
    /^TypeError: ckpt\/config.json: tokenizer.kind must be "char" or "word", got "bpe"$/,
  );
  assert.throws(() => tokenizerFromJSON({ alphabet: ["a"] }, at), /tokenizer.kind must be .*, got undefined$/);
  assert.throws(
    () => tokenizerFromJSON({ kind: "word", alphabet: ["a"] }, at),
    /^TypeError: ckpt\/config.json: a word tokenizer's words must be an array of strings$/,
  );
  assert.throws(
    () => tokenizerFromJSON({ kind: "char", alphabet: "ab" }, at),
    /^TypeError: ckpt\/config.json: a char tokenizer's alphabet must be an array of strings$/,
  );
  assert.throws(() => tokenizerFromJSON({ kind: "word", words: ["a", 1] }, at), /words must be an array of strings/);
  assert.throws(
    () => tokenizerFromJSON({ kind: "word", words: ["a", "a"] }, at),
    /^RangeError: ckpt\/config.json: Word list has 'a' twice \(at 0 and 1\)$/,
  );
  assert.throws(
    () => tokenizerFromJSON({ kind: "char", alphabet: ["a", "bc"] }, at),
    /^TypeError: ckpt\/config.json: Alphabet entry 1 must be one character/,
  );
});
