/**
 * Test helpers of the preference algorithms: a GPU model and its float64 CPU twin with the same random parameters,
 * gradient comparison and central finite differences of a CPU objective, and the sanity-task SFT policy the
 * end-to-end tests start from (trained once per test process).
 * @module
 */
import assert from "node:assert/strict";
import type { Gpu } from "../kernels/gpu.ts";
import { Rng } from "../kernels/rng.ts";
import { Gpt } from "../nn/gpt.ts";
import type { GptConfig } from "../nn/gpt_config.ts";
import { GptCpu, type ParamMap } from "../nn/gpt_cpu.ts";
import { flatten, randomParams, roundToF32 } from "../nn/gpt_testing.ts";
import { Sampler } from "../nn/sampler.ts";
import { SanityTask } from "../testbeds/sanity.ts";
import { resolveConfig } from "../util/config.ts";
import { evaluatePolicy } from "./policy_eval.ts";
import { GoldScorer } from "./scorer.ts";
import { SFT_SCHEMA, trainSft } from "./sft.ts";

/** A GPU model and the float64 CPU model with the same (f32-rounded) random parameters. */
export function twinModels(gpu: Gpu, config: GptConfig, seed: number): { model: Gpt; cpu: GptCpu; p: ParamMap } {
  const model = new Gpt(gpu, config);
  const p = roundToF32(randomParams(config, seed));
  model.params.params.write(flatten(model.params.entries, model.params.total, p));
  return { model, cpu: new GptCpu(config, p), p };
}

/**
 * Asserts the GPU gradient (flat) matches the CPU one tensor by tensor, relative to each tensor's largest entry (or
 * to 1e-3 of the largest gradient of all, for tensors whose gradients nearly cancel).
 */
export function assertGradsClose(got: Float32Array, model: Gpt, want: ParamMap, tol: number): string {
  let worst = { name: "", diff: 0, rel: 0 };
  const top = Math.max(...[...want.values()].map((w) => Math.max(...Array.from(w, Math.abs))));
  for (const e of model.params.entries) {
    const w = want.get(e.name)!, g = got.subarray(e.offset, e.offset + e.size);
    const scale = Math.max(1e-3 * top, ...Array.from(w, Math.abs));
    let diff = 0;
    for (let i = 0; i < e.size; i++) diff = Math.max(diff, Math.abs(g[i] - w[i]));
    if (diff / scale > worst.rel) worst = { name: e.name, diff, rel: diff / scale };
  }
  const msg = `worst tensor ${worst.name}: max |GPU - CPU| ${worst.diff.toExponential(2)} (${
    worst.rel.toExponential(2)
  } of its scale)`;
  assert.ok(worst.rel <= tol, msg);
  return msg;
}

/**
 * Central finite differences (float64) of `loss` at `count` parameters with the largest analytic gradients, against
 * the analytic gradient `grads`. Returns the worst relative error.
 */
export function finiteDifferenceCheck(
  loss: (p: ParamMap) => number,
  p: ParamMap,
  grads: ParamMap,
  { count = 6, eps = 1e-5, tol = 1e-4 }: { count?: number; eps?: number; tol?: number } = {},
): number {
  const all: [string, number, number][] = [];
  for (const [name, g] of grads) g.forEach((v, i) => all.push([name, i, v]));
  all.sort((a, b) => Math.abs(b[2]) - Math.abs(a[2]));
  let worst = 0;
  for (const [name, i, g] of all.slice(0, count)) {
    const v = p.get(name)!, x = v[i];
    v[i] = x + eps;
    const up = loss(p);
    v[i] = x - eps;
    const down = loss(p);
    v[i] = x;
    const fd = (up - down) / (2 * eps), rel = Math.abs(fd - g) / Math.max(Math.abs(fd), 1e-8);
    assert.ok(rel < tol, `${name}[${i}]: analytic ${g}, finite difference ${fd} (relative error ${rel})`);
    worst = Math.max(worst, rel);
  }
  return worst;
}

/** The sanity task of the end-to-end tests, its SFT policy, and a gold evaluation of any policy. */
export interface SanitySetup {
  task: SanityTask;
  sft: Gpt;
  gold: GoldScorer;
  /** Held-out prompts for evaluation. */
  evalPrompts: string[];
  /** Gold score of the policy's greedy and sampled (temperature 1) responses to `evalPrompts` (fixed RNG key). */
  evaluate(policy: Gpt): Promise<Record<string, number>>;
  /** Seconds the SFT took. */
  sftSeconds: number;
}

let setup: Promise<SanitySetup> | undefined;

/**
 * The default sanity task (8 letters, τ 0.1) and an xs SFT policy (d 64, 2 layers, context 24) trained for 100
 * steps of 32 random-letter responses: its gold score is the SFT distribution's, ~0.09. Made once per process.
 */
export function sanitySetup(gpu: Gpu): Promise<SanitySetup> {
  setup ??= (async () => {
    Deno.env.set("PROGRESS", "0");
    const task = new SanityTask(), rng = new Rng(2024);
    const t0 = performance.now();
    const sets = ["ctx=24", "batchSize=32", "steps=100", "logEvery=50", "evalEvery=100", "checkpointEvery=100"];
    const sft = await trainSft(gpu, resolveConfig(SFT_SCHEMA, { sets }), {
      tokenizer: task.tokenizer,
      train: SanityTask.many(rng.split("sft"), 2048, (r) => task.sftExample(r)),
      heldout: [],
    });
    const sftSeconds = (performance.now() - t0) / 1000;
    const gold = new GoldScorer(gpu, "sanity-gold", (p, r) => task.gold(p, r));
    const evalPrompts = SanityTask.many(rng.split("eval"), 256, (r) => task.prompt(r));
    const samplers = new Map<Gpt, Sampler>();
    const evaluate = async (policy: Gpt) => {
      let s = samplers.get(policy);
      if (!s) samplers.set(policy, s = new Sampler(policy, { maxBatch: 128 }));
      const g = await evaluatePolicy(s, task.tokenizer, evalPrompts, gold, { maxNewTokens: 10, greedy: true }, rng);
      const t = await evaluatePolicy(s, task.tokenizer, evalPrompts, gold, { maxNewTokens: 10 }, rng.split("eval"));
      return {
        "charts/gold_greedy": g.mean,
        "charts/gold_mean": t.mean,
        "charts/response_len": t.responseLen,
      };
    };
    return { task, sft: sft.model, gold, evalPrompts, evaluate, sftSeconds };
  })();
  return setup;
}
