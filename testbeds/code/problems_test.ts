import assert from "node:assert/strict";
import { Rng } from "../../kernels/rng.ts";
import { WordTokenizer } from "../tokenizer.ts";
import { formatProgram, parseProgram, runProgram, sameValue } from "./dsl.ts";
import { ALL_FUNCTIONS, mutants, randomInput, randomProgram } from "./generate.ts";
import { judgeProgram } from "./judge.ts";
import { CODE_DEFAULTS, TIERS } from "./options.ts";
import { CodeTestbed } from "./problems.ts";

const SIZES = { appsTrain: 150, appsTest: 40, contestTrain: 30, contestValidation: 10, contestTest: 10 };
const tb = new CodeTestbed(SIZES);
const splits = [["apps", "train"], ["apps", "test"], ["contest", "train"], ["contest", "validation"], [
  "contest",
  "test",
]] as const;
const all = splits.flatMap(([s, p]) => [...tb.problems(s, p)]);

Deno.test("code problems: sizes, tiers, budgets, unique prompts, references pass", () => {
  assert.equal(tb.problems("apps", "test").length, 40);
  const tiers = TIERS.map((t) => tb.problems("apps", "test").filter((p) => p.tier === t).length);
  assert.deepEqual(tiers, [8, 24, 8]); // APPS's test split, 1 : 3 : 1
  // APPS's training split, 2639 : 2000 : 361, within a problem of each share.
  const train = TIERS.map((t) => tb.problems("apps", "train").filter((p) => p.tier === t).length);
  [2639, 2000, 361].forEach((w, i) => assert.ok(Math.abs(train[i] - 150 * w / 5000) <= 1, `${train}`));
  assert.ok(tb.problems("contest", "test").every((p) => p.tier !== "introductory"));
  const tok = new WordTokenizer(tb.vocabulary);
  assert.equal(new Set(all.map((p) => p.prompt)).size, all.length, "prompts are unique");
  for (const p of all) {
    assert.ok(tok.encode(p.prompt).length <= CODE_DEFAULTS.promptBudget, p.id);
    // BOS prompt SEP program EOS fits xs's context of 64.
    assert.ok(tok.encode(p.prompt).length + tok.encode(p.reference).length + 3 <= 64, p.id);
    assert.equal(tb.judge(p, p.reference, "all").outcome, "passed", p.id);
    assert.equal(p.publicTests.length, CODE_DEFAULTS.publicTests);
    assert.equal(p.hiddenTests.length, CODE_DEFAULTS.hiddenTests);
    assert.equal(tb.byPrompt(p.prompt), p);
    assert.equal(p.separated, p.neighbours, `${p.id}: every public-agreeing neighbour is told apart`);
  }
  assert.equal(tb.byPrompt("in 1 = 1"), undefined);
});

const probeRng = new Rng(5), probes = Array.from({ length: 200 }, () => randomInput(probeRng, [1, 8], 9));
/** A program's outputs on 200 fresh probes: equal for two programs that compute one function (almost surely). */
const print = (text: string) => {
  const p = parseProgram(text);
  assert.ok(p.ok);
  return probes.map((x) => JSON.stringify(runProgram(p.program, x))).join();
};
const disjoint = new CodeTestbed({ ...SIZES, disjointSplits: true });

Deno.test("code problems: distinct functions per evaluation split; across splits with disjointSplits", () => {
  const evalSplits = splits.filter(([, p]) => p !== "train");
  for (const testbed of [tb, disjoint]) {
    for (const [s, p] of evalSplits) {
      const ps = testbed.problems(s, p);
      assert.equal(new Set(ps.map((q) => print(q.reference))).size, ps.length, `${s}/${p}`);
    }
  }
  const d = evalSplits.flatMap(([s, p]) => [...disjoint.problems(s, p)]);
  assert.equal(new Set(d.map((q) => print(q.reference))).size, d.length, "no function in two evaluation splits");
  // describe() counts the evaluation problems that a training problem's reference of the same fingerprint solves:
  // at least those whose function a training problem computes on this test's 200 probes, at most those that some
  // training reference solves.
  for (const [testbed, shared] of [[tb, true], [disjoint, false]] as const) {
    const train = ["apps", "contest"].flatMap((s) => testbed.problems(s as "apps", "train")).map((q) => q.reference);
    const trainPrints = new Set(train.map(print));
    const splitsOut = testbed.describe().splits as Record<string, { functionInTrain?: number }>;
    let total = 0;
    for (const [s, p] of splits.filter(([, p]) => p !== "train")) {
      const ps = testbed.problems(s, p);
      const least = ps.filter((q) => trainPrints.has(print(q.reference))).length;
      const most = ps.filter((q) => train.some((r) => testbed.judge(q, r, "all").outcome === "passed")).length;
      const got = splitsOut[`${s}/${p}`].functionInTrain!;
      assert.ok(least <= got && got <= most, `${s}/${p}: ${least} <= ${got} <= ${most}`);
      total += got;
    }
    assert.equal(total > 0, shared);
  }
});

Deno.test("code problems: hidden tests tell apart programs that agree on the public ones", () => {
  // Programs not seen by the generator (a fresh stream): those that agree with the reference on the public tests
  // and differ from it on some hidden test are failed; measure how many that pass every test still differ from the
  // reference on fresh inputs (the tests' false-pass rate).
  const rng = new Rng(11);
  let agreeing = 0, caught = 0, falsePass = 0, passing = 0;
  for (const p of tb.problems("apps", "test")) {
    const ref = parseProgram(p.reference);
    assert.ok(ref.ok);
    const fresh = Array.from({ length: 100 }, () => randomInput(rng, [3, 5], 9));
    const others = [...mutants(ref.program)];
    for (let i = 0; i < 300; i++) {
      const q = randomProgram(rng, { statements: [1, 4], functions: ALL_FUNCTIONS });
      if (q) others.push(q);
    }
    for (const q of others) {
      if (judgeProgram(q, p.publicTests).outcome !== "passed") continue;
      agreeing++;
      const differsHidden = p.hiddenTests.some((t) => {
        const r = runProgram(q, t.input);
        return !r.ok || !sameValue(r.value, t.output);
      });
      if (differsHidden) {
        caught++;
        assert.notEqual(tb.judge(p, formatProgram(q), "all").outcome, "passed");
        continue;
      }
      passing++;
      const differs = fresh.some((x) => {
        const a = runProgram(ref.program, x), b = runProgram(q, x);
        return a.ok && (!b.ok || !sameValue(a.value, b.value));
      });
      if (differs) falsePass++;
    }
  }
  assert.ok(agreeing > 50, `enough public-agreeing programs to measure (${agreeing})`);
  assert.ok(caught > 0);
  assert.ok(falsePass <= 0.1 * passing + 1, `false passes ${falsePass} of ${passing} (caught ${caught})`);
});

Deno.test("code problems: contest incorrect solutions fail the tests, the pairs and SFT data are well formed", () => {
  const pairs = tb.contestPairs();
  assert.equal(pairs.length, SIZES.contestTrain * CODE_DEFAULTS.incorrectPerProblem);
  for (const pair of pairs) {
    const p = tb.byPrompt(pair.prompt)!;
    assert.equal(pair.chosen, p.reference);
    assert.notEqual(tb.judge(p, pair.rejected, "all").outcome, "passed");
    assert.ok(parseProgram(pair.rejected).ok, "incorrect solutions are programs, not noise");
  }
  const plausible = pairs.filter((pair) => tb.judge(tb.byPrompt(pair.prompt)!, pair.rejected, "public").passed > 0);
  assert.ok(plausible.length > pairs.length / 2, `most pass some public test (${plausible.length}/${pairs.length})`);
  assert.equal(tb.sftExamples().length, SIZES.appsTrain + SIZES.contestTrain);
  assert.ok(tb.problems("apps", "train").every((p) => p.incorrect.length === 0));
});

Deno.test("code problems: the pretraining corpus is seeded, and decontaminated with disjointSplits", () => {
  const a = disjoint.pretrainCorpus(300, new Rng(3)), b = disjoint.pretrainCorpus(300, new Rng(3));
  assert.deepEqual(a, b);
  const evalPrints = new Set(
    splits.filter(([, p]) => p !== "train").flatMap(([s, p]) => disjoint.problems(s, p)).map((q) => print(q.reference)),
  );
  assert.ok(a.every((e) => !evalPrints.has(print(e.response))));
  const tok = new WordTokenizer(tb.vocabulary);
  for (const e of a) assert.ok(tok.encode(e.prompt).length <= CODE_DEFAULTS.promptBudget);
  // Each example in the prompt is what its program computes.
  for (const e of a.slice(0, 100)) {
    const program = parseProgram(e.response);
    assert.ok(program.ok);
    const examples = e.prompt.split(/\s*\bin\b\s*/).filter((x) => x !== "");
    assert.equal(examples.length, CODE_DEFAULTS.publicTests, e.prompt);
    for (const ex of examples) {
      const [input, output] = ex.split(/\s*(?:->|=)\s*/);
      const r = runProgram(program.program, input.split(" ").map(Number));
      assert.ok(r.ok);
      const want = ex.includes("=") ? Number(output) : output === "" ? [] : output.split(" ").map(Number);
      assert.ok(sameValue(r.value, want), `${e.response} on ${ex}`);
    }
  }
});

Deno.test("code problems: deterministic from the seed, different across seeds", () => {
  const again = new CodeTestbed(SIZES);
  assert.deepEqual(again.problems("apps", "test"), tb.problems("apps", "test"));
  const other = new CodeTestbed({ ...SIZES, seed: 2 });
  assert.notDeepEqual(other.problems("apps", "test")[0].prompt, tb.problems("apps", "test")[0].prompt);
});

Deno.test("code problems: bad options name the option", () => {
  assert.throws(() => new CodeTestbed({ appsTets: 3 } as never), /option 'appsTets' does not exist/);
  assert.throws(() => new CodeTestbed({ appsTest: 0 }), /'appsTest' must be an integer in \[1, /);
  assert.throws(() => new CodeTestbed({ publicTests: 2.5 }), /'publicTests'/);
  assert.throws(() => new CodeTestbed({ disjointSplits: "yes" } as never), /'disjointSplits' must be a boolean/);
  assert.throws(
    () => new CodeTestbed({ tiers: { hard: {} } } as never),
    /'tiers.hard' does not exist/,
  );
  assert.throws(
    () => new CodeTestbed({ tiers: { interview: { statements: [3, 2] } } } as never),
    /'tiers.interview.statements\[1\]'/,
  );
  assert.throws(
    () => new CodeTestbed({ appsTest: 1000, tiers: { introductory: { statements: [1, 1] } } } as never),
    /no new distinct introductory problem/,
  );
  assert.throws(() => tb.problems("apps", "validation" as never), /No code split 'apps\/validation'/);
});
