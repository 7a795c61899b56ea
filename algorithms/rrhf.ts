/**
 * RRHF (Yuan et al. 2023), one of the paper's Table 4 baselines (PAPER.md §6.1): rank k scored responses per prompt
 * by their length-normalised log-probability with a hinge, and fine-tune on the best one:
 *
 *   L = Σ_{r_i < r_j} max(0, p_i − p_j) + sftWeight · (−p_best),   p_i = Σ_t log π(y_i,t) / |y_i|
 *
 * (kernels/ranking_loss.ts `rrhfLoss`; the loop is algorithms/ranking_train.ts). Candidates are the data set's two
 * responses plus samples of the starting policy, scored once by a reward model or the gold judge: RRHF's offline
 * setting. RRHF weighs both terms 1; the paper gives no RRHF settings (PAPER.md §6.1), so every value here is ours.
 *
 * @example
 * ```ts
 * const cfg = resolveConfig(RRHF_SCHEMA, { sets: ["epochs=2"] });
 * const res = await trainRrhf(gpu, { policy, tokenizer, pairs, scorer: gold, config: cfg, evaluate });
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
import type { Evaluate } from "./dpo.ts";
import { buildCandidates, RANKING_FIELDS, type RankingGroup, trainRanking } from "./ranking_train.ts";
import type { Scorer } from "./scorer.ts";

/** RRHF settings. */
export const RRHF_SCHEMA = {
  ...RANKING_FIELDS,
  sftWeight: opt(1, "Weight of the SFT term on the best response (RRHF: 1, the ranking term also 1)", { min: 0 }),
};

/** A resolved RRHF config. */
export type RrhfConfig = ConfigOf<typeof RRHF_SCHEMA>;

/** What {@link trainRrhf} and `trainPro` return. */
export interface RankingResult {
  metrics: MetricRow[];
  steps: number;
  /** The last evaluation's metrics. */
  final: Record<string, number>;
  /** The scored candidates it trained on. */
  groups: RankingGroup[];
}

/** Samples the candidates from `policy` (before any update), scores them, and trains `policy` in place by RRHF. */
export function trainRrhf(gpu: Gpu, opts: RankingRunOptions<RrhfConfig>): Promise<RankingResult> {
  return runRanking(gpu, "rrhf", opts);
}

/** What RRHF and PRO take. */
export interface RankingRunOptions<C> {
  policy: Gpt;
  tokenizer: Tokenizer;
  /** The preference data: each pair's prompt and both responses become one group's first two candidates. */
  pairs: readonly PreferencePair[];
  scorer: Scorer;
  config: C;
  evaluate?: Evaluate;
  run?: RunDir;
}

/** Candidates from the starting policy, then the ranking loop (shared with PRO). */
export async function runRanking(
  gpu: Gpu,
  kind: "rrhf" | "pro",
  opts: RankingRunOptions<RrhfConfig>,
): Promise<RankingResult> {
  const { policy, tokenizer, pairs, scorer, config: cfg } = opts;
  if (pairs.length === 0) throw new RangeError(`${kind.toUpperCase()}: no preference pairs`);
  const sampler = new Sampler(policy, { maxBatch: Math.min(128, pairs.length * Math.max(cfg.samplesPerPrompt, 1)) });
  const groups = await buildCandidates(sampler, tokenizer, pairs, scorer, {
    samplesPerPrompt: cfg.samplesPerPrompt,
    settings: { maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature },
    key: new Rng(cfg.seed).split(`${kind}-candidates`),
  });
  sampler.destroy();
  const r = await trainRanking(gpu, {
    kind,
    policy,
    tokenizer,
    groups,
    config: cfg,
    evaluate: opts.evaluate,
    run: opts.run,
  });
  return { ...r, groups };
}
