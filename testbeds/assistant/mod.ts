/**
 * The assistant testbed (TESTBEDS.md §2): a small world of requests about a knowledge base, harmful requests from a
 * hidden category, gold helpfulness and cost judges, the response generators that wrote the data, and SafeRLHF- and
 * HH-RLHF-style labels. Re-exports only.
 * @module
 */
export * from "./generators.ts";
export * from "./judges.ts";
export * from "./labels.ts";
export * from "./testbed.ts";
export * from "./world.ts";
export * from "./evaluators.ts";
