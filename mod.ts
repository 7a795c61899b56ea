/**
 * Public API of the DPO-vs-PPO reproduction: re-exports only.
 *
 * - `kernels/`: the WebGPU runtime (adapter, tensors, kernels, the one-submit step encoder) and every WGSL op with its
 *   CPU reference.
 * - `nn/`: the GPT model (forward, backward, AdamW, checkpoints, the KV-cache sampler).
 * - `algorithms/`: SFT, the reward model, PPO, GRPO, DPO and relatives, iterative DPO, RRHF, PRO, and the tabular
 *   audit (as `tabular`).
 * - `testbeds/`: the tokenizer, the sanity task and the synthetic 8x8 task.
 * - `util/`: configs, run directories, progress.
 * @module
 */
export * from "./algorithms/mod.ts";
export * from "./kernels/mod.ts";
export * from "./nn/mod.ts";
export * from "./testbeds/mod.ts";
export * from "./util/mod.ts";
