/**
 * Evaluation on the code testbed (PAPER.md §6.3-6.4, TESTBEDS.md §1): n programs per problem sampled on the GPU in
 * batches (algorithms/policy_eval.ts, a few submits per batch), each run by the interpreter against the problem's
 * public and hidden tests (testbeds/code/), then pass@k per tier with the unbiased estimator, the APPS 1 : 3 : 1
 * average, k@n (filtered on the public tests, as Table 8), and the share of each outcome kind (passed, wrong
 * answer, syntax error, runtime error, step limit; the paper's DPO "outputs many meaningless code snippets").
 *
 * A problem counts as solved by a sample when the sample passes every test, public and hidden (APPS's strict
 * accuracy); for k@n the public verdict filters and the hidden verdict decides. Evaluation alone sees the hidden
 * tests of validation and test problems.
 *
 * @example
 * ```ts
 * const ev = await evaluateCode(sampler, tok, testbed, testbed.problems("apps", "test"), settings, rng.split("eval"));
 * ev.passAtK["5"].introductory; ev.kAtN; ev.outcomes.syntax_error;
 * ```
 * @module
 */
import type { Rng } from "../kernels/rng.ts";
import type { Sampler } from "../nn/sampler.ts";
import { sampleResponses } from "../algorithms/policy_eval.ts";
import type { CodeProblem, CodeTestbed, Outcome, Tier } from "../testbeds/code/mod.ts";
import { OUTCOMES } from "../testbeds/code/mod.ts";
import { kAtN, meanBy, passAtK, TIER_WEIGHTS, tierAverage } from "../testbeds/code/metrics.ts";
import type { Tokenizer } from "../testbeds/tokenizer.ts";

/** How programs are sampled and scored. */
export interface CodeEvalSettings {
  /** Programs sampled per problem (n of pass@k and of k@n). */
  samples: number;
  /** The k of pass@k reported (each ≤ samples). */
  ks: readonly number[];
  /** Submissions of k@n (Table 8: 10). */
  submissions: number;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  /** Programs kept per problem in `examples` (the first samples). */
  keep: number;
}

/** One problem's tally. */
export interface ProblemTally {
  id: string;
  tier: Tier;
  /** Samples that pass every test, and those that pass the public ones. */
  correct: number;
  publicPass: number;
  kAtN: number;
}

/** A sampled program as the run directory keeps it. */
export interface ProgramSample {
  id: string;
  tier: Tier;
  prompt: string;
  program: string;
  outcome: Outcome;
  /** Tests passed of all (public + hidden). */
  passed: number;
  total: number;
}

/** What {@link evaluateCode} returns; every rate is a fraction in [0, 1]. */
export interface CodeEvaluation {
  problems: number;
  samples: number;
  /** pass@k by k, per tier present, `mean` over problems and `average` (1 : 3 : 1; NaN unless all tiers occur). */
  passAtK: Record<string, Record<string, number>>;
  /** Mean k@n over problems, with k = `submissions` and n = `samples`. */
  kAtN: number;
  /** Share of all samples per outcome kind. */
  outcomes: Record<Outcome, number>;
  tallies: ProblemTally[];
  examples: ProgramSample[];
  seconds: number;
}

/** Samples `samples` programs for each problem and scores them (see the module doc). */
export async function evaluateCode(
  sampler: Sampler,
  tok: Tokenizer,
  testbed: CodeTestbed,
  problems: readonly CodeProblem[],
  s: CodeEvalSettings,
  key: Rng,
): Promise<CodeEvaluation> {
  if (problems.length === 0) throw new RangeError("evaluateCode: no problems");
  for (const k of s.ks) {
    if (!(Number.isInteger(k) && k >= 1 && k <= s.samples)) {
      throw new RangeError(`evaluateCode: pass@${k} needs 1 <= k <= samples (${s.samples})`);
    }
  }
  const t0 = performance.now(), n = s.samples;
  const prompts = problems.flatMap((p) => Array<string>(n).fill(p.prompt));
  const out = await sampleResponses(sampler, tok, prompts, {
    maxNewTokens: s.maxNewTokens,
    temperature: s.temperature,
    topK: s.topK,
  }, key);
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const tallies: ProblemTally[] = [], examples: ProgramSample[] = [];
  problems.forEach((problem, i) => {
    const verdicts = out.responses.slice(i * n, (i + 1) * n).map((program, j) => {
      const all = testbed.judge(problem, program, "all");
      counts[all.outcome]++;
      const publicPass = testbed.judge(problem, program, "public").outcome === "passed";
      if (j < s.keep) {
        const { id, tier, prompt } = problem;
        examples.push({ id, tier, prompt, program, outcome: all.outcome, passed: all.passed, total: all.total });
      }
      // Passing all tests implies passing the hidden ones; the hidden verdict alone decides a k@n submission.
      const hiddenPass = all.outcome === "passed" || testbed.judge(problem, program, "hidden").outcome === "passed";
      return { correct: all.outcome === "passed", publicPass, hiddenPass };
    });
    tallies.push({
      id: problem.id,
      tier: problem.tier,
      correct: verdicts.filter((v) => v.correct).length,
      publicPass: verdicts.filter((v) => v.publicPass).length,
      kAtN: kAtN(verdicts, s.submissions),
    });
  });
  const passAt: Record<string, Record<string, number>> = {};
  for (const k of s.ks) {
    const values = tallies.map((t) => passAtK(n, t.correct, k));
    const perTier = meanBy(tallies.map((t) => t.tier), values);
    const complete = Object.keys(TIER_WEIGHTS).every((t) => t in perTier);
    passAt[String(k)] = { ...perTier, mean: mean(values), average: complete ? tierAverage(perTier) : NaN };
  }
  const total = prompts.length;
  return {
    problems: problems.length,
    samples: n,
    passAtK: passAt,
    kAtN: mean(tallies.map((t) => t.kAtN)),
    outcomes: Object.fromEntries(OUTCOMES.map((o) => [o, counts[o] / total])) as Record<Outcome, number>,
    tallies,
    examples,
    seconds: (performance.now() - t0) / 1000,
  };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
