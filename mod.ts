/**
 * Public API of the DPO-vs-PPO reproduction: re-exports only.
 *
 * - `kernels/`: the WebGPU runtime (adapter, tensors, kernels, the one-submit step encoder) and every WGSL op with its
 *   CPU reference.
 * - `testbeds/`: the tokenizer, the sanity task and the synthetic 8x8 task.
 * - `util/`: configs, run directories, progress.
 * @module
 */
export * from "./kernels/mod.ts";
export * from "./testbeds/mod.ts";
export * from "./util/mod.ts";
