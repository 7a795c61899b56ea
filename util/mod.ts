/**
 * util: re-exports only.
 * @module
 */
export * from "./cli.ts";
export * from "./config.ts";
export * from "./fs.ts";
export * from "./git.ts";
export * from "./progress.ts";
export * from "./run_dir.ts";
