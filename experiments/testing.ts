/**
 * Test helper of the experiment scripts: runs one as a user would, into a scratch runs directory.
 * @module
 */

/** Runs `experiments/<script>` with `args`, its runs written under `runs`; returns its exit code and output. */
export async function runExperiment(script: string, runs: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `experiments/${script}`, ...args],
    env: { RUNS_DIR: runs, PROGRESS: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
}
