/**
 * Evaluation cost on the code testbed (`deno task bench:code`): how long evaluating the APPS-style test split takes
 * (200 problems × 20 programs by default) at the `xs` and `s` presets, split into sampling on the GPU and judging
 * on the CPU, with the judge's share as the peer in the same run (what the interpreter costs next to the sampler).
 *
 *   deno task bench:code [--presets xs,s] [--problems 200] [--samples 20]
 *
 * The models are freshly initialised (seed 1), so most programs run to the 24-token limit: the worst case of a
 * trained model's lengths. Sampling is experiments/code_eval.ts's (batches of 256, one submit per batch); judging
 * re-runs every sampled program against its problem's public and hidden tests. A JSON record goes to bench/results/.
 * @module
 */
import { parseArgs } from "node:util";
import { getGpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { Gpt } from "../nn/gpt.ts";
import { gptPreset, type GptPresetName } from "../nn/gpt_config.ts";
import { Sampler } from "../nn/sampler.ts";
import { sampleResponses } from "../algorithms/policy_eval.ts";
import { CodeTestbed } from "../testbeds/code/mod.ts";
import { WordTokenizer } from "../testbeds/tokenizer.ts";
import { evaluateCode } from "../experiments/code_eval.ts";
import { fmt, printTable, writeRecord } from "./common.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    presets: { type: "string", default: "xs,s" },
    problems: { type: "string", default: "200" },
    samples: { type: "string", default: "20" },
  },
});
const presets = a.presets!.split(",") as GptPresetName[], n = Number(a.samples);
const gpu = await getGpu();
console.log(`adapter: ${gpu.info.description} (${gpu.info.backend}); load average ${Deno.loadavg().join(" ")}`);
const testbed = new CodeTestbed({ appsTest: Number(a.problems) });
const tok = new WordTokenizer(testbed.vocabulary), problems = testbed.problems("apps", "test");
const settings = { samples: n, ks: [1, 5], submissions: 5, maxNewTokens: 24, temperature: 1, topK: 0, keep: 0 };

const rows: string[][] = [], record: Record<string, unknown>[] = [];
for (const preset of presets) {
  const model = new Gpt(gpu, gptPreset(preset, { vocab: tok.vocabSize, ctx: 64 }), preset);
  model.params.initialize(new Rng(1).split("init"));
  const sampler = new Sampler(model, { maxBatch: 256 });
  // Warm-up: compile the pipelines on a few problems.
  await evaluateCode(sampler, tok, testbed, problems.slice(0, 2), { ...settings, samples: 2, ks: [1] }, new Rng(0));
  const t0 = performance.now();
  const ev = await evaluateCode(sampler, tok, testbed, problems, settings, new Rng(2));
  const total = (performance.now() - t0) / 1000;
  // The judge alone, on the same number of programs (sampled once more, then judged on the clock).
  const prompts = problems.flatMap((p) => Array.from({ length: n }, () => p.prompt));
  const { responses } = await sampleResponses(sampler, tok, prompts, settings, new Rng(3));
  const t1 = performance.now();
  responses.forEach((program, i) => testbed.judge(problems[Math.floor(i / n)], program, "all"));
  const judge = (performance.now() - t1) / 1000;
  sampler.destroy();
  const count = problems.length * n;
  rows.push([preset, String(count), fmt(total, 2), fmt(judge, 2), fmt(judge / total, 3), fmt(count / total, 0)]);
  record.push({ preset, programs: count, seconds: total, judgeSeconds: judge, syntaxErrors: ev.outcomes.syntax_error });
}
printTable(["preset", "programs", "evaluate s", "judge s", "judge / evaluate", "programs/s"], rows);
console.log(`record: ${await writeRecord(gpu, "code", { problems: problems.length, samples: n, rows: record })}`);
