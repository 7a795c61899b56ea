/**
 * The GPT model on WebGPU and what trains it: re-exports only.
 *
 * - The model: configuration and presets, parameters carved from one buffer, the forward and backward layers, the
 *   workspace, copies between models, and the float64 CPU reference.
 * - Training: AdamW, learning-rate schedules, checkpoints (safetensors).
 * - Generation: the KV cache and the GPU sampler with its CPU reference.
 * @module
 */
export * from "./adamw.ts";
export * from "./checkpoint.ts";
export * from "./gpt.ts";
export * from "./gpt_config.ts";
export * from "./gpt_copy.ts";
export * from "./gpt_cpu.ts";
export * from "./gpt_layers.ts";
export * from "./gpt_workspace.ts";
export * from "./kv_cache.ts";
export * from "./mlp.ts";
export * from "./params.ts";
export * from "./safetensors.ts";
export * from "./sampler.ts";
export * from "./sampler_cpu.ts";
export * from "./sampler_setup.ts";
export * from "./schedule.ts";
