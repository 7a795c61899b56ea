/**
 * The alignment algorithms on the GPU model: re-exports only.
 *
 * - Supervised: SFT (PAPER.md §5.5), the reward model's Bradley-Terry training (§2.1).
 * - Reward-based: PPO with the paper's key factors (§5), GRPO as the modern critic-free comparison.
 * - Reward-free: DPO, IPO and conservative DPO (§2.2), iterative DPO (§6.3), RRHF and PRO (Table 4 baselines).
 * - Shared pieces: batches, scorers (gold judges and reward models), policy evaluation, FLOP counts.
 * - `tabular`: the audit of DPO's limitations on small tabular cases (§4.1).
 * @module
 */
export * from "./batch.ts";
export * from "./dpo.ts";
export * from "./flops.ts";
export * from "./grpo.ts";
export * from "./iterative_dpo.ts";
export * from "./policy_eval.ts";
export * from "./ppo.ts";
export * from "./ppo_common.ts";
export * from "./ppo_models.ts";
export * from "./ppo_rollout.ts";
export * from "./ppo_update.ts";
export * from "./preference_batch.ts";
export * from "./pro.ts";
export * from "./ranking_train.ts";
export * from "./reward_model.ts";
export * from "./reward_model_eval.ts";
export * from "./rrhf.ts";
export * from "./running_stats.ts";
export * from "./scorer.ts";
export * from "./sft.ts";
export * from "./sft_eval.ts";
export * from "./train_common.ts";
export * as tabular from "./tabular/mod.ts";
