/**
 * The code testbed (TESTBEDS.md §1): a DeepCoder-style list language, its judge, a seeded problem generator with
 * public and hidden tests, and the pass@k and k@n metrics. Re-exports only.
 * @module
 */
export * from "./dsl.ts";
export * from "./generate.ts";
export * from "./judge.ts";
export * from "./metrics.ts";
export * from "./options.ts";
export * from "./problems.ts";
