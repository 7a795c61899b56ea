/**
 * The WebGPU runtime and kernels: re-exports only.
 * @module
 */
export * from "./adamw.ts";
export * from "./attention.ts";
export * from "./attention_decode.ts";
export * from "./attention_fused.ts";
export * from "./autotune.ts";
export * from "./bradley_terry.ts";
export * from "./decode_commit.ts";
export * from "./elementwise.ts";
export * from "./ema.ts";
export * from "./embedding.ts";
export * from "./embedding_decode.ts";
export * from "./encoder.ts";
export * from "./gae.ts";
export * from "./gather.ts";
export * from "./gpu.ts";
export * from "./grpo.ts";
export * from "./grpo_kl.ts";
export * from "./kernel.ts";
export * from "./kl_reward.ts";
export * from "./layernorm.ts";
export * from "./loss_common.ts";
export * from "./matmul.ts";
export * from "./matmul_epilogue.ts";
export * from "./matmul_regblock.ts";
export * from "./matmul_tiled.ts";
export * from "./matmul_variants.ts";
export * from "./ppo_loss.ts";
export * from "./preference_loss.ts";
export * from "./ranking_loss.ts";
export * from "./reduce.ts";
export * from "./rng.ts";
export * from "./sample.ts";
export * from "./softmax.ts";
export * from "./tensor.ts";
export * from "./token_head.ts";
export * from "./value_loss.ts";
export * from "./whiten.ts";
