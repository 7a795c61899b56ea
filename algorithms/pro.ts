/**
 * PRO (Song et al. 2023), one of the paper's Table 4 baselines (PAPER.md §6.1): with a prompt's k responses sorted by
 * score, y_1 ≻ … ≻ y_k, maximise the Plackett-Luce likelihood of that ranking over the length-normalised
 * log-probabilities p_i, plus an SFT term on the best response:
 *
 *   L = Σ_{m=1}^{k−1} (log Σ_{i≥m} e^{p_i} − p_m) + sftWeight · (−p_1)
 *
 * (kernels/ranking_loss.ts `proLoss`, without PRO's reward-gap temperature; the loop is algorithms/ranking_train.ts).
 * Candidates and everything else as RRHF (algorithms/rrhf.ts). The paper gives no PRO settings (PAPER.md §6.1): the
 * SFT weight below is our choice, and PRO's own value is not recorded in PAPER.md.
 *
 * @example
 * ```ts
 * const cfg = resolveConfig(PRO_SCHEMA, {});
 * const res = await trainPro(gpu, { policy, tokenizer, pairs, scorer: gold, config: cfg, evaluate });
 * ```
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import { type ConfigOf, opt } from "../util/config.ts";
import { RANKING_FIELDS } from "./ranking_train.ts";
import { type RankingResult, type RankingRunOptions, runRanking } from "./rrhf.ts";

/** PRO settings. */
export const PRO_SCHEMA = {
  ...RANKING_FIELDS,
  sftWeight: opt(1, "Weight β of the SFT term on the best response (our choice; PRO's value not in PAPER.md)", {
    min: 0,
  }),
};

/** A resolved PRO config. */
export type ProConfig = ConfigOf<typeof PRO_SCHEMA>;

/** Samples the candidates from `policy` (before any update), scores them, and trains `policy` in place by PRO. */
export function trainPro(gpu: Gpu, opts: RankingRunOptions<ProConfig>): Promise<RankingResult> {
  return runRanking(gpu, "pro", opts);
}
