/**
 * Iterative DPO ("DPO-Iter", PAPER.md §4.2 Table 2, §6.3): each round samples k responses per prompt from the
 * current policy, labels them with a scorer (a learned reward model as on SafeRLHF and HH-RLHF, or the gold judge as
 * the paper's test-case reward on code), forms preference pairs, trains DPO on them, and the next round's reference
 * is the latest policy (in {@link trainDpo} the policy is its own reference: its log-probs at the start of a round),
 * unless a fixed `referenceModel` is given (Table 9 compares the pretrained base with the SFT model as reference).
 *
 * Pairing (not in the paper, PAPER.md §4.2 "Not in paper"; our choice): per prompt, the best-scored sample is the
 * winner and the worst the loser (first index on ties of score), and a prompt whose samples all score the same is
 * skipped: a tie carries no preference. With `referenceWinner` (the paper's rule on APPS, §6.3), a prompt where no
 * sample reaches `correctThreshold` takes the testbed's reference solution as the winner against its worst sample.
 *
 * @example
 * ```ts
 * const cfg = resolveConfig(ITERATIVE_DPO_SCHEMA, { sets: ["rounds=3", "samplesPerPrompt=5"] });
 * const res = await trainIterativeDpo(gpu, { policy, tokenizer, prompts, scorer: gold, config: cfg, evaluate });
 * ```
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import type { Gpt } from "../nn/gpt.ts";
import { Sampler } from "../nn/sampler.ts";
import type { PreferencePair } from "../testbeds/sanity.ts";
import type { Tokenizer } from "../testbeds/tokenizer.ts";
import { type ConfigOf, opt } from "../util/config.ts";
import type { MetricRow, RunDir } from "../util/run_dir.ts";
import { DPO_SCHEMA, type Evaluate, trainDpo } from "./dpo.ts";
import { sampleResponses } from "./policy_eval.ts";
import type { Scorer } from "./scorer.ts";

/** Iterative-DPO settings. */
export const ITERATIVE_DPO_SCHEMA = {
  seed: opt(1, "Run seed: prompt order and sampling derive from it", { int: true }),
  rounds: opt(3, "Rounds of sample, label, train (paper: 4 on SafeRLHF, Table 2)", { int: true, min: 1 }),
  promptsPerRound: opt(128, "Prompts sampled each round (not in paper)", { int: true, min: 1 }),
  samplesPerPrompt: opt(5, "Responses sampled per prompt (paper: 5 on APPS, §6.3)", { int: true, min: 2 }),
  maxNewTokens: opt(10, "Most new tokens per response, EOS included", { int: true, min: 1 }),
  minNewTokens: opt(0, "EOS forbidden before this many tokens (never = maxNewTokens, PAPER.md §9.6)", {
    int: true,
    min: 0,
  }),
  temperature: opt(1, "Sampling temperature (the paper samples at 1)", { min: 0 }),
  referenceWinner: opt(false, "Use the reference solution as the winner when no sample is correct (paper, APPS)"),
  correctThreshold: opt(1, "Score at or above which a sample counts as correct (with referenceWinner)"),
  samplerBatch: opt(128, "Prompts per sampler call (GPU memory for the KV cache)", { int: true, min: 1 }),
  dpo: DPO_SCHEMA,
};

/** A resolved iterative-DPO config. */
export type IterativeDpoConfig = ConfigOf<typeof ITERATIVE_DPO_SCHEMA>;

/** What {@link formPairs} made of one round's samples. */
export interface PairingResult {
  pairs: PreferencePair[];
  /** Prompts skipped because every sample scored the same. */
  ties: number;
  /** Prompts whose winner is the reference solution. */
  referenceWins: number;
}

/**
 * Best-vs-worst pairs from `k` scored samples per prompt (`responses[i·k + j]` is sample j of prompt i). See the
 * module doc for the rule; `reference` is required with `referenceWinner`.
 */
export function formPairs(
  prompts: readonly string[],
  responses: readonly string[],
  scores: ArrayLike<number>,
  k: number,
  opts: { referenceWinner?: boolean; correctThreshold?: number; reference?: (prompt: string) => string } = {},
): PairingResult {
  if (!(Number.isInteger(k) && k >= 2)) throw new RangeError(`formPairs: k must be an integer >= 2, got ${k}`);
  if (responses.length !== prompts.length * k || scores.length !== responses.length) {
    throw new RangeError(
      `formPairs: ${prompts.length} prompts x k ${k} needs ${prompts.length * k} responses and scores, got ` +
        `${responses.length} and ${scores.length}`,
    );
  }
  if (opts.referenceWinner && !opts.reference) throw new TypeError("formPairs: referenceWinner needs a reference");
  const out: PairingResult = { pairs: [], ties: 0, referenceWins: 0 };
  prompts.forEach((prompt, i) => {
    let best = i * k, worst = i * k;
    for (let j = i * k + 1; j < (i + 1) * k; j++) {
      if (scores[j] > scores[best]) best = j;
      if (scores[j] < scores[worst]) worst = j;
    }
    if (opts.referenceWinner && scores[best] < (opts.correctThreshold ?? 1)) {
      out.pairs.push({ prompt, chosen: opts.reference!(prompt), rejected: responses[worst] });
      out.referenceWins++;
    } else if (scores[best] === scores[worst]) out.ties++;
    else out.pairs.push({ prompt, chosen: responses[best], rejected: responses[worst] });
  });
  return out;
}

/** What {@link trainIterativeDpo} returns. */
export interface IterativeDpoResult {
  metrics: MetricRow[];
  /** Per round: mean score of its samples, pairs formed, ties, reference wins, and DPO's last evaluation. */
  rounds: Record<string, number>[];
}

/** Runs `config.rounds` rounds of iterative DPO on `policy` (trained in place). */
export async function trainIterativeDpo(gpu: Gpu, opts: {
  policy: Gpt;
  tokenizer: Tokenizer;
  /** The prompt pool; each round draws `promptsPerRound` of them. */
  prompts: readonly string[];
  scorer: Scorer;
  config: IterativeDpoConfig;
  /** The reference solution of a prompt (for `referenceWinner`). */
  reference?: (prompt: string) => string;
  /** A fixed KL reference for every round instead of the latest policy (Table 9: the pretrained base). */
  referenceModel?: Gpt;
  evaluate?: Evaluate;
  run?: RunDir;
}): Promise<IterativeDpoResult> {
  const { policy, tokenizer, prompts, scorer, config: cfg, run } = opts;
  const k = cfg.samplesPerPrompt, rng = new Rng(cfg.seed);
  if (prompts.length === 0) throw new RangeError("Iterative DPO: no prompts");
  // A DPO row is BOS prompt SEP response EOS; a response cut at maxNewTokens gets its EOS appended there.
  const longest = Math.max(...prompts.map((p) => tokenizer.encode(p).length)) + 3 + cfg.maxNewTokens;
  if (longest > policy.config.ctx) {
    throw new RangeError(
      `Iterative DPO: prompts up to ${longest - 3 - cfg.maxNewTokens} tokens + maxNewTokens ` +
        `${cfg.maxNewTokens} + 3 specials need ${longest} positions, over the policy's context ${policy.config.ctx}`,
    );
  }
  const sampler = new Sampler(policy, { maxBatch: Math.min(cfg.samplerBatch, cfg.promptsPerRound * k) });
  const metrics: MetricRow[] = [], rounds: Record<string, number>[] = [];
  let step = 0;
  for (let round = 0; round < cfg.rounds; round++) {
    // 1. Sample k responses per prompt from the current policy (prompt i's samples are rows i·k .. i·k + k − 1).
    const pick = rng.split(`prompts-${round}`).shuffle([...prompts.keys()]);
    const chosen = Array.from({ length: cfg.promptsPerRound }, (_, i) => prompts[pick[i % prompts.length]]);
    const s = await sampleResponses(sampler, tokenizer, chosen.flatMap((p) => Array(k).fill(p)), {
      maxNewTokens: cfg.maxNewTokens,
      minNewTokens: cfg.minNewTokens,
      temperature: cfg.temperature,
    }, rng.split(`samples-${round}`));
    // 2. Label them, 3. pair them.
    const scores = await scorer.score(s.prompts, s.responses);
    const paired = formPairs(chosen, s.responses, scores, k, {
      referenceWinner: cfg.referenceWinner,
      correctThreshold: cfg.correctThreshold,
      reference: opts.reference,
    });
    const info: Record<string, number> = {
      "iter/round": round + 1,
      "iter/sample_score_mean": scores.reduce((a, b) => a + b, 0) / scores.length,
      "iter/pairs": paired.pairs.length,
      "iter/ties": paired.ties,
      "iter/reference_wins": paired.referenceWins,
    };
    metrics.push({ step, ...info });
    await run?.log(step, info);
    // 4. DPO against the policy as it is now (the reference of this round: the latest policy), or a fixed model.
    if (paired.pairs.length > 0) {
      const dpo = {
        ...cfg.dpo,
        seed: cfg.dpo.seed + round,
        batchPairs: Math.min(cfg.dpo.batchPairs, paired.pairs.length),
      };
      const r = await trainDpo(gpu, {
        policy,
        reference: opts.referenceModel ?? policy,
        tokenizer,
        pairs: paired.pairs,
        config: dpo,
        evaluate: opts.evaluate,
        run,
        stepOffset: step,
        evalAtStart: round === 0, // later rounds start where the previous one was evaluated
        label: `dpo round ${round + 1}`,
      });
      step += r.steps;
      metrics.push(...r.metrics);
      Object.assign(info, r.final);
    }
    rounds.push(info);
  }
  sampler.destroy();
  await run?.writeSummary({ steps: step, rounds }); // each DPO round's own summary is overwritten by this one
  return { metrics, rounds };
}
