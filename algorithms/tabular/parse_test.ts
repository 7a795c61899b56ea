import assert from "node:assert/strict";
import { ConfigError } from "../../util/config.ts";
import { parseCase } from "./parse.ts";

const BASE = `beta: 0.1
prompts:
  x1:
    reference: { y1: 0.5, y2: 0.5, y3: 0 }
  x2:
    reference: { a: 1/3, b: 1/3, c: 1/3 }
pairs:
  - { prompt: x1, chosen: y1, rejected: y2, count: 2 }
  - x2: a > b * 3
  - "x2: b > c"
`;

/** Asserts parseCase(text) throws `kind` with a message matching every pattern. */
function fails(text: string, kind: ErrorConstructor | typeof ConfigError, ...patterns: RegExp[]): void {
  assert.throws(() => parseCase(text, "t.yaml"), (e: Error) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${e.name}: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

Deno.test("parse: the full, compact and mapping forms of a pair agree; fractions and defaults are read", () => {
  const c = parseCase(BASE, "t.yaml");
  assert.deepEqual(c.prompts.map((p) => p.responses), [["y1", "y2", "y3"], ["a", "b", "c"]]);
  assert.deepEqual(c.prompts[1].ref, [1 / 3, 1 / 3, 1 / 3].map((v) => v / (3 * (1 / 3))));
  assert.deepEqual(
    c.pairs.map(({ prompt, chosen, rejected, count, line }) => [prompt, chosen, rejected, count, line]),
    [
      [0, 0, 1, 2, 8],
      [1, 0, 1, 3, 9],
      [1, 1, 2, 1, 10],
    ],
  );
  const one = parseCase("prompts:\n  x: { reference: { p: 0.25, q: 0.75 } }\npairs: ['q ≻ p × 2.5']\n", "o.yaml");
  assert.deepEqual([one.pairs[0].chosen, one.pairs[0].rejected, one.pairs[0].count], [1, 0, 2.5]);
  assert.equal(one.settings.beta, 0.1, "β defaults to the paper's 0.1");
});

Deno.test("parse: settings come from the file and --set, and are validated with the place named", () => {
  const c = parseCase(BASE + "unseenReward: 0\ngd: { steps: 7, model: mlp }\n", "t.yaml", ["gd.lr=0.5", "beta=0.2"]);
  assert.equal(c.settings.unseenReward, "0");
  assert.deepEqual([c.settings.gd.steps, c.settings.gd.model, c.settings.gd.lr, c.settings.beta], [7, "mlp", 0.5, 0.2]);
  assert.equal(parseCase(BASE, "t.yaml", ["unseenReward=-1.5"]).settings.unseenReward, "-1.5");
  fails(BASE.replace("beta: 0.1", "beta: 0"), RangeError, /t\.yaml line 1: beta must be > 0, got 0/);
  fails(BASE.replace("beta: 0.1", "beta: -2"), RangeError, /line 1: beta must be > 0, got -2/);
  assert.throws(() => parseCase(BASE, "t.yaml", ["beta=-1"]), /--set beta=-1: beta must be > 0/);
  fails(BASE + "gd:\n  stepz: 3\n", ConfigError, /Unknown config key 'gd\.stepz' \(t\.yaml line 12\)/);
  fails(BASE + "gd:\n  lr: -1\n", ConfigError, /'gd\.lr' must be >= 0.*t\.yaml line 12/);
  fails(BASE + "witnessMass: 0\n", RangeError, /t\.yaml line 11: witnessMass must be > 0, got 0/);
  fails(BASE + "unseenReward: lots\n", RangeError, /t\.yaml line 11: unseenReward must be 'min', 'max' or a finite/);
  fails(BASE + "pair: []\n", RangeError, /t\.yaml line 11: unknown key 'pair'; known keys: prompts, pairs/);
});

Deno.test("parse: each kind of bad input names the field and the line", () => {
  fails(
    BASE.replace("y2: 0.5, y3: 0", "y2: 0.4, y3: 0"),
    RangeError,
    /t\.yaml line 4: prompts\.x1\.reference sums to 0\.9, not 1/,
  );
  fails(
    BASE.replace("rejected: y2", "rejected: y4"),
    RangeError,
    /t\.yaml line 8: pairs\[0\]\.rejected 'y4' is not a declared response of prompt 'x1' \(declared: y1, y2, y3\)/,
  );
  fails(
    BASE.replace("a > b * 3", "a > d"),
    RangeError,
    /line 9: pairs\[1\]\.rejected 'd' is not a declared response of prompt 'x2'/,
  );
  fails(BASE.replace("count: 2", "count: -2"), RangeError, /line 8: pairs\[0\]\.count must be positive, got -2/);
  fails(
    BASE.replace("count: 2", "count: 0"),
    RangeError,
    /pairs\[0\]\.count must be positive, got 0 \(drop the pair\)/,
  );
  fails(
    BASE.replace("count: 2", "count: two"),
    TypeError,
    /line 8: pairs\[0\]\.count must be a finite number, got "two"/,
  );
  fails(BASE.replace(/pairs:[\s\S]*/, "pairs: []\n"), RangeError, /line 7: pairs is empty/);
  fails(BASE.replace(/pairs:[\s\S]*/, "pairs:\n"), RangeError, /line 7: pairs is empty/);
  fails(BASE.replace(/pairs:[\s\S]*/, ""), RangeError, /t\.yaml: the case has no 'pairs'/);
  fails(
    BASE.replace("chosen: y1, rejected: y2", "chosen: y1, rejected: y3"),
    RangeError,
    /line 8: pairs\[0\]\.rejected 'y3' has π_ref = 0 in prompt 'x1'/,
  );
  fails(
    BASE.replace("chosen: y1, rejected: y2", "chosen: y2, rejected: y2"),
    RangeError,
    /pairs\[0\]: chosen and rejected are both 'y2'/,
  );
  fails(
    BASE.replace("prompt: x1,", "prompt: x9,"),
    RangeError,
    /line 8: pairs\[0\]\.prompt 'x9' is not a declared prompt \(x1, x2\)/,
  );
  fails(
    BASE.replace("prompt: x1,", ""),
    RangeError,
    /line 8: pairs\[0\]\.prompt is missing and the case has 2 prompts/,
  );
  fails(BASE.replace("count: 2", "weight: 2"), RangeError, /line 8: pairs\[0\]\.weight is not a pair field/);
  fails(BASE.replace('"x2: b > c"', '"b >> c"'), RangeError, /line 10: pairs\[2\] 'b >> c' is not of the form/);
  fails(
    BASE.replace("y1: 0.5, y2", "y1: 1.5, y2"),
    RangeError,
    /line 4: prompts\.x1\.reference\.y1 must lie in \[0, 1\], got 1\.5/,
  );
  fails(
    BASE.replace("y1: 0.5, y2", "y1: half, y2"),
    TypeError,
    /line 4: prompts\.x1\.reference\.y1 must be a probability/,
  );
  fails(
    BASE.replace("reference: { a", "referenc: { a"),
    RangeError,
    /line 6: prompts\.x2\.referenc is not a prompt field/,
  );
  fails(
    BASE.replace("reference: { y1: 0.5, y2: 0.5, y3: 0 }", "reference: {}"),
    RangeError,
    /line 4: prompts\.x1\.reference is empty/,
  );
  fails(BASE.replace("y1: 0.5, y2: 0.5", "y1: 0.5, y1: 0.5"), SyntaxError, /Malformed YAML in t\.yaml at line 4/);
  fails("prompts: [\n", SyntaxError, /Malformed YAML in t\.yaml at line/);
  fails("", RangeError, /t\.yaml is empty/);
});

Deno.test("parse: features must cover every response, share one length, and exist for every prompt", () => {
  const F = BASE.replace(
    "    reference: { y1: 0.5, y2: 0.5, y3: 0 }",
    "    reference: { y1: 0.5, y2: 0.5, y3: 0 }\n    features: { y1: [1, 0], y2: [0, 1], y3: [1, 1] }",
  );
  fails(F, RangeError, /line 6: prompts\.x2 has no features but prompts\.x1 has/);
  const both = F.replace(
    "    reference: { a: 1/3, b: 1/3, c: 1/3 }",
    "    reference: { a: 1/3, b: 1/3, c: 1/3 }\n    features: { a: [1, 0], b: [0, 1], c: [2, 2] }",
  );
  assert.deepEqual(parseCase(both, "t.yaml").prompts[1].features, [[1, 0], [0, 1], [2, 2]]);
  fails(both.replace("c: [2, 2]", "c: [2]"), RangeError, /prompts\.x2\.features\.c has 1 numbers; prompts\.x1 uses 2/);
  fails(
    both.replace("c: [2, 2] }", "c: [2, 2], d: [0, 0] }"),
    RangeError,
    /line 8: prompts\.x2\.features\.d: 'd' is not a declared response/,
  );
  fails(both.replace(", c: [2, 2]", ""), RangeError, /line 8: prompts\.x2\.features has no vector for c/);
  fails(
    both.replace("c: [2, 2]", "c: [2, x]"),
    TypeError,
    /line 8: prompts\.x2\.features\.c\[1\] must be a finite number/,
  );
});

Deno.test("parse: candidates are checked like reference tables", () => {
  const c = parseCase(BASE + "candidates:\n  mine: { x1: { y1: 0.1, y3: 0.9 } }\n", "t.yaml");
  assert.deepEqual(c.candidates[0].policy.get(0), [0.1, 0, 0.9]);
  fails(
    BASE + "candidates:\n  mine: { x1: { y1: 0.1 } }\n",
    RangeError,
    /line 12: candidates\.mine\.x1 sums to 0\.1, not 1/,
  );
  fails(
    BASE + "candidates:\n  mine: { x3: { y1: 1 } }\n",
    RangeError,
    /line 12: candidates\.mine\.x3: 'x3' is not a declared prompt/,
  );
  fails(
    BASE + "candidates:\n  mine: { x1: { y9: 1 } }\n",
    RangeError,
    /candidates\.mine\.x1\.y9: 'y9' is not a declared response/,
  );
});
