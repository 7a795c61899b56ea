import assert from "node:assert/strict";
import { join } from "node:path";
import { SECTIONS } from "../paper/sections/registry.ts";
import { sectionCommand, selectSections } from "./reproduce.ts";

Deno.test("reproduce: --only picks sections by id or experiment; an unknown one is named", () => {
  assert.deepEqual(selectSections("code,benchmarks").map((s) => s.id), ["benchmarks", "code"]);
  assert.deepEqual(selectSections("dialogue").map((s) => s.id), ["benchmarks"]);
  const all = selectSections(undefined).map((s) => s.id);
  assert.equal(all.length, SECTIONS.filter((s) => s.render).length);
  assert.equal(all.at(-1), "ppo_factors", "§5 runs after §6, whose models it starts from");
  assert.throws(() => selectSections("code,nope"), /--only: unknown section 'nope'; choose from .*ppo-factors/);
});

Deno.test("reproduce: the rerun command names the scale, and seeds go to a run of their own", () => {
  const code = SECTIONS.find((s) => s.id === "code")!, theory = SECTIONS.find((s) => s.id === "theory")!;
  assert.equal(sectionCommand(code, "tiny"), "deno task code --scale tiny");
  assert.equal(sectionCommand(code, "small", 5), "deno task code --scale small --set seeds=5 --name small-seeds5");
  assert.equal(sectionCommand(theory, "small", 5), "deno task theory --scale small");
});

Deno.test("reproduce: a second run skips what is complete and writes the same report", async () => {
  const root = await Deno.makeTempDir({ prefix: "reproduce-" });
  try {
    const runs = join(root, "runs"), out = join(root, "paper");
    const go = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "experiments/reproduce.ts", "--scale", "tiny", "--only", "theory", "--out", out],
        env: { RUNS_DIR: runs, PROGRESS: "0", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const read = async () => {
      const files: Record<string, string> = {};
      for (const dir of ["", "tables", "figures"]) {
        for await (const e of Deno.readDir(join(out, dir))) {
          if (e.isFile) files[join(dir, e.name)] = await Deno.readTextFile(join(out, dir, e.name));
        }
      }
      return files;
    };
    const first = await go();
    assert.equal(first.code, 0, new TextDecoder().decode(first.stderr));
    const before = await read();
    const second = await go();
    assert.equal(second.code, 0);
    const log = await Deno.readTextFile(join(runs, "reproduce", "tiny", "theory.log"));
    assert.match(log, /already complete/);
    assert.deepEqual(await read(), before);
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "experiments/reproduce.ts", "--only", "nope"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bad.code, 2);
    assert.match(new TextDecoder().decode(bad.stderr), /unknown section 'nope'/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("reproduce: a failing section stops the run, names its log and the command to rerun it, and writes no report", async () => {
  const root = await Deno.makeTempDir({ prefix: "reproduce-fail-" });
  try {
    const runs = join(root, "runs"), out = join(root, "paper");
    await Deno.mkdir(runs, { recursive: true });
    await Deno.writeTextFile(join(runs, "theory"), "a file where the theory runs' folder should be\n");
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "experiments/reproduce.ts", "--scale", "tiny", "--only", "theory,synthetic", "--out", out],
      env: { RUNS_DIR: runs, PROGRESS: "0", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.stderr);
    assert.notEqual(r.code, 0);
    assert.match(text, /section 'theory' failed/);
    assert.match(text, /Rerun it alone with: deno task theory --scale tiny/);
    assert.match(text, /theory\.log/);
    assert.doesNotMatch(text, /\[2\/2\]/, "the sections after the failing one do not run");
    await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
