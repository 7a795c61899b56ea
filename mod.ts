/**
 * Public API of the DPO-vs-PPO reproduction: re-exports only.
 * @module
 */
export * from "./kernels/mod.ts";
