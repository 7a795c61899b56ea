import assert from "node:assert/strict";
import { join } from "node:path";
import type { AuditRecord } from "../algorithms/tabular/audit.ts";
import type { RunRecord } from "../util/run_dir.ts";

Deno.test("theory: `deno task theory` writes runs/theory/<example>/ with the scale recorded, Table 1 first", async () => {
  const root = await Deno.makeTempDir();
  try {
    const run = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", new URL("./theory.ts", import.meta.url).pathname, ...args],
        env: { NO_COLOR: "1", RUNS_DIR: root },
        cwd: new URL("..", import.meta.url).pathname,
      }).output();
    const out = await run(["--scale", "tiny", "--set", "only=table1,chain"]);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    assert.match(lines[0], /^table1: Table 1/);
    assert.match(lines[1], /^chain: /);
    const dir = join(root, "theory", "table1");
    const record = JSON.parse(await Deno.readTextFile(join(dir, "config.json"))) as RunRecord;
    assert.equal((record.config as { scale: string }).scale, "tiny");
    const summary = JSON.parse(await Deno.readTextFile(join(dir, "summary.json"))) as AuditRecord;
    assert.deepEqual(summary.prompts[0].ppo.target, [1, 0, 0]);
    const bad = await run(["--set", "only=table9"]);
    assert.equal(bad.code, 2);
    assert.match(new TextDecoder().decode(bad.stderr), /only: no table9 in examples/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
