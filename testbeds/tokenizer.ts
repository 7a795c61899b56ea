/**
 * Deterministic tokenizers with special tokens behind one {@link Tokenizer} interface, and the right-padded
 * prompt+response batches that SFT, DPO and the reward model feed the transformer.
 *
 * Two kinds: {@link CharTokenizer} (one token per character; the sanity testbed's) and {@link WordTokenizer} (one
 * token per whitespace-separated word; the code testbed's DSL keywords, numbers and symbols). Both use ids 0 PAD,
 * 1 BOS, 2 EOS, 3 SEP, then their alphabet or word list in the order given. A sequence is `BOS prompt SEP response EOS` (each special optional); like ReaLHF's datasets
 * (PAPER.md §9.2, `rw_paired_dataset.py`) the response ends with EOS, which is part of the response: the policy
 * learns to stop, and the reward model reads its score at that last token (PAPER.md §8.1).
 *
 * @example
 * ```ts
 * const tok = new CharTokenizer("abc ");
 * const batch = buildBatch(tok, [{ prompt: "ab", response: "c" }], { context: 8 });
 * // batch.tokens [1, 8]: BOS a b SEP c EOS PAD PAD; batch.mask marks the targets c and EOS
 * tok.decode([...batch.tokens]); // "<bos>ab<sep>c<eos><pad><pad>"
 * ```
 * @module
 */

/** Ids of the special tokens (the same in every tokenizer). */
export const SPECIALS = { pad: 0, bos: 1, eos: 2, sep: 3 } as const;
const SPECIAL_NAMES = ["<pad>", "<bos>", "<eos>", "<sep>"];

/** How {@link Tokenizer.decode} shows special tokens. */
export interface DecodeOptions {
  /** "render" writes `<eos>` and so on (default); "drop" leaves them out. */
  specials?: "render" | "drop";
}

/** What a checkpoint's config records to rebuild a tokenizer ({@link tokenizerFromJSON} reads it back). */
export type TokenizerJSON = { kind: "char"; alphabet: string[] } | { kind: "word"; words: string[] };

/** What the algorithms use of a tokenizer: the special ids, the vocabulary size, encode and decode. */
export interface Tokenizer {
  readonly pad: number;
  readonly bos: number;
  readonly eos: number;
  readonly sep: number;
  /** Number of ids: the 4 specials plus the tokenizer's own tokens. */
  readonly vocabSize: number;
  /** Ids of `text` (no specials added); an unknown token is a RangeError naming it and its position. */
  encode(text: string): number[];
  /** The text of `ids`; specials rendered as `<pad>`, `<bos>`, `<eos>`, `<sep>` or dropped. */
  decode(ids: Iterable<number>, opts?: DecodeOptions): string;
  /** Whether `id` is one of PAD, BOS, EOS, SEP. */
  isSpecial(id: number): boolean;
  /** What a checkpoint's config records to rebuild this tokenizer. */
  toJSON(): TokenizerJSON;
}

/** A tokenizer over a fixed alphabet of characters plus PAD, BOS, EOS and SEP. */
export class CharTokenizer implements Tokenizer {
  /** The alphabet's characters in id order (id = index + 4). */
  readonly chars: readonly string[];
  readonly pad = SPECIALS.pad;
  readonly bos = SPECIALS.bos;
  readonly eos = SPECIALS.eos;
  readonly sep = SPECIALS.sep;
  readonly #ids: Map<string, number>;

  /** `alphabet`: a string (split into code points) or an array of single characters; duplicates are an error. */
  constructor(alphabet: string | readonly string[]) {
    const chars = typeof alphabet === "string" ? Array.from(alphabet) : [...alphabet];
    this.#ids = new Map();
    chars.forEach((c, i) => {
      if (typeof c !== "string" || Array.from(c).length !== 1) {
        throw new TypeError(`Alphabet entry ${i} must be one character, got ${JSON.stringify(c)}`);
      }
      if (this.#ids.has(c)) throw new RangeError(`Alphabet has '${c}' twice (at ${this.#ids.get(c)! - 4} and ${i})`);
      this.#ids.set(c, i + SPECIAL_NAMES.length);
    });
    this.chars = chars;
  }

  /** A tokenizer over every character that occurs in `texts`, sorted by code point (so the order is canonical). */
  static fromTexts(texts: Iterable<string>): CharTokenizer {
    const set = new Set<string>();
    for (const t of texts) for (const c of t) set.add(c);
    return new CharTokenizer([...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!));
  }

  /** Number of ids: the 4 specials plus the alphabet. */
  get vocabSize(): number {
    return SPECIAL_NAMES.length + this.chars.length;
  }

  /** Ids of `text`'s characters (no specials added). An unknown character names itself and its position. */
  encode(text: string): number[] {
    const out: number[] = [];
    let pos = 0;
    for (const c of text) {
      const id = this.#ids.get(c);
      if (id === undefined) {
        const cp = c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
        throw new RangeError(
          `Unknown character ${JSON.stringify(c)} (U+${cp}) at position ${pos} of ${JSON.stringify(clip(text))}`,
        );
      }
      out.push(id);
      pos++;
    }
    return out;
  }

  /** The text of `ids`; specials are rendered as `<pad>`, `<bos>`, `<eos>`, `<sep>` or dropped. */
  decode(ids: Iterable<number>, { specials = "render" }: DecodeOptions = {}): string {
    let s = "";
    let pos = 0;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`Token id ${id} at position ${pos} is outside the vocabulary [0, ${this.vocabSize})`);
      }
      if (id < SPECIAL_NAMES.length) {
        if (specials === "render") s += SPECIAL_NAMES[id];
      } else s += this.chars[id - SPECIAL_NAMES.length];
      pos++;
    }
    return s;
  }

  /** Whether `id` is one of PAD, BOS, EOS, SEP. */
  isSpecial(id: number): boolean {
    return id >= 0 && id < SPECIAL_NAMES.length;
  }

  /** What a checkpoint's config records to rebuild this tokenizer. */
  toJSON(): { kind: "char"; alphabet: string[] } {
    return { kind: "char", alphabet: [...this.chars] };
  }
}

/**
 * A tokenizer over a fixed list of words plus PAD, BOS, EOS and SEP: text is split on runs of whitespace and each
 * word is one token, so a DSL keyword, number or symbol costs one position of the context, not one per character.
 * Decoding joins the words (and rendered specials) with single spaces, so `decode(encode(t))` is `t` with its
 * whitespace normalised.
 *
 * @example
 * ```ts
 * const tok = new WordTokenizer(["let", "x", "=", "1", "+"]);
 * tok.encode("let x = 1 + 1"); // [4, 5, 6, 7, 8, 7]
 * const batch = buildBatch(tok, [{ prompt: "let x", response: "= 1" }], { context: 8 });
 * tok.decode([...batch.tokens]); // "<bos> let x <sep> = 1 <eos>"
 * tok.decode([...batch.tokens], { specials: "drop" }); // "let x = 1"
 * ```
 */
export class WordTokenizer implements Tokenizer {
  /** The words in id order (id = index + 4). */
  readonly words: readonly string[];
  readonly pad = SPECIALS.pad;
  readonly bos = SPECIALS.bos;
  readonly eos = SPECIALS.eos;
  readonly sep = SPECIALS.sep;
  readonly #ids: Map<string, number>;

  /** `words`: non-empty strings without whitespace, none a special's name (`<pad>` …); duplicates are an error. */
  constructor(words: readonly string[]) {
    const list = [...words];
    this.#ids = new Map();
    list.forEach((w, i) => {
      if (typeof w !== "string") throw new TypeError(`Word list entry ${i} must be a string, got ${typeof w}`);
      if (w.length === 0 || /\s/.test(w)) {
        throw new RangeError(
          `Word list entry ${i} must be a non-empty word without whitespace, got ${JSON.stringify(w)}`,
        );
      }
      if (SPECIAL_NAMES.includes(w)) throw new RangeError(`Word list entry ${i} is the special token name '${w}'`);
      if (this.#ids.has(w)) throw new RangeError(`Word list has '${w}' twice (at ${this.#ids.get(w)! - 4} and ${i})`);
      this.#ids.set(w, i + SPECIAL_NAMES.length);
    });
    this.words = list;
  }

  /** Number of ids: the 4 specials plus the words. */
  get vocabSize(): number {
    return SPECIAL_NAMES.length + this.words.length;
  }

  /** Ids of `text`'s whitespace-separated words (no specials added); blank text has none. */
  encode(text: string): number[] {
    const trimmed = text.trim();
    if (trimmed === "") return [];
    return trimmed.split(/\s+/).map((w, pos) => {
      const id = this.#ids.get(w);
      if (id === undefined) {
        throw new RangeError(
          `Unknown word ${JSON.stringify(w)} at word position ${pos} of ${JSON.stringify(clip(text))}`,
        );
      }
      return id;
    });
  }

  /** The words of `ids` joined by single spaces; specials are rendered as `<pad>`, `<bos>`, … or dropped. */
  decode(ids: Iterable<number>, { specials = "render" }: DecodeOptions = {}): string {
    const out: string[] = [];
    let pos = 0;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`Token id ${id} at position ${pos} is outside the vocabulary [0, ${this.vocabSize})`);
      }
      if (id < SPECIAL_NAMES.length) {
        if (specials === "render") out.push(SPECIAL_NAMES[id]);
      } else out.push(this.words[id - SPECIAL_NAMES.length]);
      pos++;
    }
    return out.join(" ");
  }

  /** Whether `id` is one of PAD, BOS, EOS, SEP. */
  isSpecial(id: number): boolean {
    return id >= 0 && id < SPECIAL_NAMES.length;
  }

  /** What a checkpoint's config records to rebuild this tokenizer. */
  toJSON(): { kind: "word"; words: string[] } {
    return { kind: "word", words: [...this.words] };
  }
}

/**
 * Rebuilds the tokenizer that {@link Tokenizer.toJSON} recorded (e.g. in a checkpoint's config.json). Anything
 * malformed is a TypeError (wrong kinds) or RangeError (bad entries) whose message starts with `where`.
 */
export function tokenizerFromJSON(j: unknown, where: string): Tokenizer {
  if (typeof j !== "object" || j === null || Array.isArray(j)) {
    throw new TypeError(`${where}: tokenizer must be an object, got ${j === null ? "null" : typeof j}`);
  }
  const o = j as Record<string, unknown>;
  if (o.kind !== "char" && o.kind !== "word") {
    throw new TypeError(`${where}: tokenizer.kind must be "char" or "word", got ${JSON.stringify(o.kind)}`);
  }
  const key = o.kind === "char" ? "alphabet" : "words", entries = o[key];
  if (!Array.isArray(entries) || !entries.every((x) => typeof x === "string")) {
    throw new TypeError(`${where}: a ${o.kind} tokenizer's ${key} must be an array of strings`);
  }
  try {
    return o.kind === "char" ? new CharTokenizer(entries) : new WordTokenizer(entries);
  } catch (e) {
    const E = e instanceof RangeError ? RangeError : TypeError;
    throw new E(`${where}: ${(e as Error).message}`);
  }
}

/** Shortens long text for error messages. */
function clip(text: string): string {
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
}

/** One prompt and its response, as text or as token ids (ids are taken verbatim, checked against the vocabulary). */
export interface Example {
  prompt: string | readonly number[];
  response: string | readonly number[];
}

/** Options of {@link buildBatch}. */
export interface BatchOptions {
  /** The transformer's context: no sequence may be longer (unless `truncate`). */
  context: number;
  /** Width T of the batch: the longest sequence (default) or the whole context. */
  padTo?: "longest" | "context";
  /** Keep the first `context` tokens of a longer sequence instead of throwing (the response loses its end). */
  truncate?: boolean;
  /** Put BOS first (default true). */
  bos?: boolean;
  /** Put SEP between prompt and response (default true). */
  sep?: boolean;
  /** Append EOS to the response (default true); pass false for sampled ids that already end as they ended. */
  eos?: boolean;
}

/** A right-padded batch; every [B, T] array is row-major. */
export interface TokenBatch {
  B: number;
  T: number;
  /** [B, T] token ids, PAD after each sequence. */
  tokens: Uint32Array;
  /** [B, T] next-token targets: targets[b, t] = tokens[b, t + 1]; PAD from the last real token on. */
  targets: Uint32Array;
  /** [B, T] 1 where targets[b, t] is a response token (the EOS that ends it included), else 0. */
  mask: Float32Array;
  /** [B] number of real tokens of each sequence. */
  lengths: Uint32Array;
  /** [B] index of each sequence's last real token (its EOS when it has one): where a reward model reads its score. */
  lastIndex: Uint32Array;
  /** [B] index in `tokens` of the first response token. */
  responseStart: Uint32Array;
  /** [B] 1 where `truncate` cut the sequence. */
  truncated: Uint8Array;
}

/** Ids of a prompt or response given as text or ids; ids are checked, the error names the example and field. */
function idsOf(tok: Tokenizer, x: string | readonly number[], where: string): number[] {
  if (typeof x === "string") {
    try {
      return tok.encode(x);
    } catch (e) {
      throw new RangeError(`${where}: ${(e as Error).message}`);
    }
  }
  x.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= tok.vocabSize) {
      throw new RangeError(`${where}: token id ${id} at position ${i} is outside [0, ${tok.vocabSize})`);
    }
  });
  return [...x];
}

/**
 * Builds the right-padded [B, T] batch of `BOS prompt SEP response EOS` sequences with next-token targets, the loss
 * mask of response targets, and each sequence's last index. A sequence longer than `context` throws a RangeError
 * naming its index and length, unless `truncate` is set.
 */
export function buildBatch(tok: Tokenizer, examples: readonly Example[], opts: BatchOptions): TokenBatch {
  const { context, padTo = "longest", truncate = false, bos = true, sep = true, eos = true } = opts;
  if (!Number.isInteger(context) || context < 1) throw new RangeError(`Batch context must be >= 1, got ${context}`);
  if (examples.length === 0) throw new RangeError("Batch needs at least one example, got none");
  const seqs = examples.map((ex, b) => {
    const prompt = idsOf(tok, ex.prompt, `Example ${b} prompt`);
    const response = idsOf(tok, ex.response, `Example ${b} response`);
    const head = [...(bos ? [tok.bos] : []), ...prompt, ...(sep ? [tok.sep] : [])];
    const ids = [...head, ...response, ...(eos ? [tok.eos] : [])];
    if (ids.length === 0) throw new RangeError(`Example ${b} has no tokens at all (empty prompt and response)`);
    if (ids.length > context && !truncate) {
      throw new RangeError(
        `Example ${b} has ${ids.length} tokens (prompt ${prompt.length}, response ${response.length} with ` +
          `specials), over the context of ${context}; shorten it or pass truncate: true`,
      );
    }
    return { ids: ids.slice(0, context), start: head.length, cut: ids.length > context };
  });
  const B = seqs.length;
  const T = padTo === "context" ? context : Math.max(...seqs.map((s) => s.ids.length));
  const batch: TokenBatch = {
    B,
    T,
    tokens: new Uint32Array(B * T).fill(tok.pad),
    targets: new Uint32Array(B * T).fill(tok.pad),
    mask: new Float32Array(B * T),
    lengths: new Uint32Array(B),
    lastIndex: new Uint32Array(B),
    responseStart: new Uint32Array(B),
    truncated: new Uint8Array(B),
  };
  seqs.forEach(({ ids, start, cut }, b) => {
    const L = ids.length, row = b * T;
    batch.tokens.set(ids, row);
    batch.targets.set(ids.slice(1), row);
    // Position t predicts ids[t + 1]; it is a response target when t + 1 >= start.
    for (let t = Math.max(start - 1, 0); t < L - 1; t++) batch.mask[row + t] = 1;
    batch.lengths[b] = L;
    batch.lastIndex[b] = Math.max(L - 1, 0);
    batch.responseStart[b] = Math.min(start, L);
    batch.truncated[b] = cut ? 1 : 0;
  });
  return batch;
}
