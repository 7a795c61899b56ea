import assert from "node:assert/strict";
import { adapterDescription, pickRun, provenance, type RunInfo, runScale } from "./runs.ts";
import type { RunRecord } from "../util/run_dir.ts";

function run(experiment: string, name: string, started: string, extra: Partial<RunRecord> = {}): RunInfo {
  const record: RunRecord = {
    experiment,
    name,
    command: `deno task ${experiment} --name ${name}`,
    git: { commit: "abc", dirty: false },
    adapter: null,
    started,
    config: {},
    ...extra,
  };
  return {
    experiment,
    name,
    id: `runs/${experiment}/${name}`,
    dir: "/x",
    record,
    summary: null,
    metrics: [],
    scale: runScale(record),
  };
}

Deno.test("runScale: from config.scale, else from a run name that starts with a scale", () => {
  assert.equal(runScale(run("e", "small", "t").record), "small");
  assert.equal(runScale(run("e", "tiny-seed2", "t").record), "tiny");
  assert.equal(runScale(run("e", "mine", "t", { config: { scale: "full" } }).record), "full");
  assert.equal(runScale(run("e", "smallish", "t").record), undefined);
  assert.equal(runScale(run("e", "table1", "t").record), undefined);
});

Deno.test("pickRun: newest at the wanted scale, else small, full, tiny, unknown, with a note saying so", () => {
  const runs = [
    run("e", "tiny", "2026-03-01"),
    run("e", "small-seed1", "2026-01-01"),
    run("e", "small-seed2", "2026-01-02"),
    run("e", "full", "2026-01-03"),
    run("f", "custom", "2026-01-01"),
    run("g", "tiny", "2026-01-01"),
  ];
  assert.deepEqual(pickRun(runs, "e"), { run: runs[2], note: "" });
  assert.equal(pickRun(runs, "e", "tiny")!.run, runs[0]);
  const f = pickRun(runs, "f")!;
  assert.equal(f.run, runs[4]);
  assert.equal(f.note, "Shown of unrecorded scale (`runs/f/custom`): no `small` run of `f` was found.");
  assert.match(pickRun(runs, "g")!.note, /^Shown at scale `tiny` \(`runs\/g\/tiny`\): no `small` run/);
  assert.equal(pickRun(runs, "h"), undefined);
  // Same start time: the id breaks the tie, so the choice never depends on directory order.
  const tie = [run("e", "small-b", "2026-01-01"), run("e", "small-a", "2026-01-01")];
  assert.equal(pickRun(tie, "e")!.run.name, "small-a");
});

Deno.test("adapterDescription and provenance: readable, grouped by commit and adapter", () => {
  assert.equal(adapterDescription(null), "the CPU (no GPU adapter used)");
  assert.equal(
    adapterDescription({ description: "", vendor: "nvidia", architecture: "hopper", backend: "auto" }),
    "nvidia hopper",
  );
  assert.equal(
    adapterDescription({ description: "llvmpipe", backend: "vulkan", isFallbackAdapter: true }),
    "llvmpipe, vulkan backend, software",
  );
  const a = run("e", "small", "t"),
    b = run("e", "tiny", "t"),
    c = run("e", "full", "t", { git: { commit: "def", dirty: true } });
  assert.equal(provenance(a), "made by `deno task e --name small` at commit abc on the CPU (no GPU adapter used)");
  assert.equal(
    provenance([a, b, c, a]),
    "made by `deno task e --name small` and `deno task e --name tiny` at commit abc on the CPU (no GPU adapter used); " +
      "and by `deno task e --name full` at commit def (with uncommitted changes) on the CPU (no GPU adapter used)",
  );
  assert.throws(() => provenance([]), RangeError);
});
