/**
 * The WebGPU runtime and kernels: re-exports only.
 * @module
 */
export * from "./gpu.ts";
export * from "./tensor.ts";
export * from "./kernel.ts";
export * from "./encoder.ts";
export * from "./rng.ts";
export * from "./matmul.ts";
