/**
 * `deno task reproduce [--scale tiny|small|full] [--only SECTION,...] [--seeds N]`: runs every implemented section
 * of the paper (the commands of the report's section registry) at the given scale, then regenerates `paper/` with
 * `deno task report`.
 *
 * - Resumable: each experiment keys its run by its resolved config and source (util/run_dir.ts `RunDir.start`), so a
 *   finished run is skipped, and an interrupted one starts again with the models it had finished loaded from the
 *   model store (experiments/model_cache.ts). Training is deterministic, so the result is the uninterrupted one's.
 * - One progress display: sections done, the current one, and an ETA from the rates measured on this machine (the
 *   last reproduce's times in `runs/reproduce/<scale>/timings.json`, else the figures below).
 * - Each section's output goes to `runs/reproduce/<scale>/<section>.log`; a failing section stops the run with the
 *   command that reruns it alone, and nothing already written is touched.
 * - `--only` narrows to some sections (by id or experiment name), `--seeds N` sets every seeded experiment's seeds
 *   (its run is then named `<scale>-seeds<N>`, beside the default one).
 *
 * @example
 * ```sh
 * deno task reproduce                         # small: the whole study, about 80 minutes on a 2-core CPU
 * deno task reproduce --scale tiny            # minutes
 * deno task reproduce --only code,dialogue --seeds 5
 * ```
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import process from "node:process";
import cliProgress from "cli-progress";
import { SECTIONS } from "../paper/sections/registry.ts";
import type { Section } from "../paper/section.ts";
import { type Scale, SCALES } from "../util/cli.ts";
import { atomicWriteJson, exists, readJson } from "../util/fs.ts";
import { runsRoot } from "../util/run_dir.ts";

/**
 * Seconds each section took on this project's 2-core machine (AMD EPYC, llvmpipe), the ETA's prior; ppo_factors's
 * is its time with §6's models in the store (2020 s without).
 */
const MEASURED: Record<Scale, Record<string, number>> = {
  tiny: { theory: 2, synthetic: 10, safety: 30, ppo_factors: 55, benchmarks: 25, code: 25 },
  small: { theory: 2, synthetic: 150, safety: 965, benchmarks: 870, code: 1030, ppo_factors: 1080 },
  full: { theory: 2, synthetic: 600, safety: 20000, ppo_factors: 20000, benchmarks: 20000, code: 40000 },
};
/** Sections whose experiment has no `seeds` setting. */
const UNSEEDED = new Set(["theory"]);

/** The command line of a section at this scale (and seeds), as a reader would type it to rerun it alone. */
export function sectionCommand(s: Section, scale: Scale, seeds?: number): string {
  const seeded = seeds !== undefined && !UNSEEDED.has(s.id);
  return `${s.command} --scale ${scale}${seeded ? ` --set seeds=${seeds} --name ${scale}-seeds${seeds}` : ""}`;
}

/**
 * Sections run after the others: §5 starts from §6's models (the dialogue and code experiments' base, SFT and
 * reward models), which it then finds in the model store instead of training them itself.
 */
const RUN_LAST = new Set(["ppo_factors"]);

/**
 * The sections to run, in run order (the paper's, with {@link RUN_LAST} at the end); `only` names some (section ids
 * or experiment names), and an unknown one is an error listing the names.
 */
export function selectSections(only: string | undefined): Section[] {
  const implemented = [
    ...SECTIONS.filter((s) => s.render && !RUN_LAST.has(s.id)),
    ...SECTIONS.filter((s) => s.render && RUN_LAST.has(s.id)),
  ];
  if (!only) return implemented;
  const names = only.split(",").map((x) => x.trim()).filter((x) => x);
  const known = implemented.flatMap((s) => [s.id, ...s.experiments]);
  const bad = names.filter((n) => !known.includes(n));
  if (bad.length || names.length === 0) {
    throw new RangeError(`--only: unknown section '${bad.join(", ") || only}'; choose from ${known.join(", ")}`);
  }
  return implemented.filter((s) => names.includes(s.id) || s.experiments.some((e) => names.includes(e)));
}

const fmtTime = (s: number) => (s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);

/** Runs `deno task ...` with its output appended to `log`; calls `onLine` with each line; returns the exit code. */
async function runLogged(command: string, log: string, onLine: (line: string) => void): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: command.split(/\s+/).slice(1),
    env: { PROGRESS: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const file = await Deno.open(log, { create: true, write: true, truncate: true });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      await file.write(new TextEncoder().encode(chunk));
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const l of lines) if (l.trim()) onLine(l.trim());
    }
  };
  await Promise.all([pump(child.stdout), pump(child.stderr)]);
  const { code } = await child.status;
  file.close();
  return code;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      scale: { type: "string", default: "small" },
      only: { type: "string" },
      seeds: { type: "string" },
      out: { type: "string", default: "paper" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "deno task reproduce [--scale tiny|small|full] [--only SECTION,...] [--seeds N] [--out DIR]\n\n--out: where " +
        "the report goes (default paper/). Sections: " +
        SECTIONS.filter((s) => s.render).map((s) => `${s.id} (${s.command})`).join(", "),
    );
    return 0;
  }
  const scale = values.scale as Scale;
  if (!SCALES.includes(scale)) throw new RangeError(`--scale must be one of ${SCALES.join(", ")}; got '${scale}'`);
  const seeds = values.seeds === undefined ? undefined : Number(values.seeds);
  if (seeds !== undefined && !(Number.isInteger(seeds) && seeds >= 1)) {
    throw new RangeError(`--seeds must be an integer >= 1; got '${values.seeds}'`);
  }
  const sections = selectSections(values.only);
  const dir = join(runsRoot(), "reproduce", scale + (seeds ? `-seeds${seeds}` : ""));
  await Deno.mkdir(dir, { recursive: true });
  const timingsFile = join(dir, "timings.json");
  const prior = (await exists(timingsFile)) ? await readJson<Record<string, number>>(timingsFile) : {};
  const expected = sections.map((s) => prior[s.id] ?? MEASURED[scale][s.id] ?? 60);
  const quiet = Deno.env.get("PROGRESS") === "0";
  const bar = quiet ? null : new cliProgress.SingleBar({
    stream: process.stderr,
    format: "reproduce [{bar}] {sections} | elapsed {elapsed} | ETA {left} | {status}",
    noTTYOutput: true,
    notTTYSchedule: 10000,
    hideCursor: false,
  }, cliProgress.Presets.shades_classic);
  const total = expected.reduce((a, b) => a + b, 0), started = performance.now();
  bar?.start(total, 0, { sections: `0/${sections.length}`, elapsed: "0 s", left: fmtTime(total), status: "" });
  const times: Record<string, number> = {};
  let doneExpected = 0;
  for (const [i, s] of sections.entries()) {
    const command = sectionCommand(s, scale, seeds), log = join(dir, `${s.id}.log`), t0 = performance.now();
    let status = s.id;
    const tick = () => {
      const secs = (performance.now() - t0) / 1000, spent = (performance.now() - started) / 1000;
      // The ETA scales the remaining expected time by how this machine compares with the measurements so far.
      const within = Math.min(secs, 0.95 * expected[i]), done = doneExpected + within;
      const rate = done > 0 ? spent / done : 1;
      bar?.update(done, {
        sections: `${i}/${sections.length} ${s.id}`,
        elapsed: fmtTime(spent),
        left: fmtTime(Math.max(0, (total - done) * rate)),
        status: status.slice(0, 60),
      });
    };
    const timer = setInterval(tick, 1000);
    if (quiet) console.error(`reproduce: [${i + 1}/${sections.length}] ${command}`);
    const code = await runLogged(command, log, (line) => {
      status = line;
      tick();
    }).finally(() => clearInterval(timer));
    times[s.id] = (performance.now() - t0) / 1000;
    doneExpected += expected[i];
    tick();
    if (code !== 0) {
      bar?.stop();
      const tail = (await Deno.readTextFile(log)).trimEnd().split("\n").slice(-15).join("\n");
      console.error(`${tail}\n\nerror: section '${s.id}' failed (exit code ${code}); its output is in ${log}.`);
      console.error(`Rerun it alone with: ${command}`);
      console.error(
        "Finished runs are kept; `deno task reproduce` again resumes from them. paper/ was not regenerated.",
      );
      return code;
    }
    if (quiet) console.error(`reproduce: ${s.id} done in ${fmtTime(times[s.id])}: ${status}`);
  }
  bar?.stop();
  await atomicWriteJson(timingsFile, { ...prior, ...times });
  const report = await new Deno.Command(Deno.execPath(), {
    args: ["task", "report", "--out", values.out!],
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn().status;
  const all = (performance.now() - started) / 1000;
  console.error(
    `\nreproduce --scale ${scale}: ${sections.map((s) => `${s.id} ${fmtTime(times[s.id])}`).join(", ")}; ` +
      `total ${fmtTime(all)}. See paper/README.md.`,
  );
  return report.code;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(2);
  }
}
