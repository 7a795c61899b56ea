/**
 * A progress bar with an ETA on stderr (cli-progress), quiet when PROGRESS=0.
 * @module
 */
import cliProgress from "cli-progress";
import process from "node:process";

/** A running progress bar. */
export interface Progress {
  /** Sets the position and, optionally, a short status such as `loss=1.23`. */
  update(value: number, status?: string): void;
  /** Finishes the bar. */
  stop(): void;
}

/** Starts a progress bar for `total` units of `task`. */
export function progress(task: string, total: number): Progress {
  if (Deno.env.get("PROGRESS") === "0") return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: "{task} [{bar}] {percentage}% | ETA {eta_formatted} | {value}/{total} {status}",
    noTTYOutput: true,
    notTTYSchedule: 5000,
    hideCursor: false,
  }, cliProgress.Presets.shades_classic);
  bar.start(total, 0, { task, status: "" });
  return {
    update: (value, status) => bar.update(value, status === undefined ? {} : { status }),
    stop: () => bar.stop(),
  };
}
