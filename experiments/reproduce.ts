/**
 * `deno task reproduce [--scale tiny|small|full]`: runs every implemented section of the paper (the commands the
 * report's section registry lists) at the given scale (default `small`, minutes on a 2-core CPU), then regenerates
 * `paper/` with `deno task report`. Stops at the first command that fails.
 * @module
 */
import { parseArgs } from "node:util";
import { reproduceCommands } from "../paper/sections/registry.ts";
import { SCALES } from "../util/cli.ts";

const { values } = parseArgs({ args: Deno.args, options: { scale: { type: "string", default: "small" } } });
if (!SCALES.includes(values.scale as typeof SCALES[number])) {
  console.error(`error: --scale must be one of ${SCALES.join(", ")}; got '${values.scale}'`);
  Deno.exit(2);
}

/** Runs `deno task <name> <args>` with this process's Deno, inheriting stdio; returns its exit code. */
async function task(command: string): Promise<number> {
  const words = command.split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "task") throw new TypeError(`Not a deno task command: '${command}'`);
  console.error(`\n== ${command}`);
  const child = new Deno.Command(Deno.execPath(), { args: words.slice(1), stdout: "inherit", stderr: "inherit" });
  return (await child.spawn().status).code;
}

const started = performance.now();
for (const command of reproduceCommands()) {
  const code = await task(`${command} --scale ${values.scale}`);
  if (code !== 0) {
    console.error(`error: '${command}' failed with exit code ${code}; paper/ was not regenerated`);
    Deno.exit(code);
  }
}
const code = await task("deno task report");
console.error(`\nreproduce: done in ${((performance.now() - started) / 1000).toFixed(0)} s; see paper/README.md`);
Deno.exit(code);
