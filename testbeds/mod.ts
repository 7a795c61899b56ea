/**
 * testbeds: re-exports only.
 * @module
 */
export * from "./sanity.ts";
export * from "./synthetic.ts";
export * from "./tokenizer.ts";
export * from "./code/mod.ts";
export * from "./assistant/mod.ts";
