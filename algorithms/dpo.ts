/**
 * DPO (PAPER.md Eq. 7, Appendix A.1; ReaLHF `dpo_interface` + `dpo_functional.dpo_loss`), with IPO and conservative
 * DPO (label smoothing) as switches of the same loss kernel (kernels/preference_loss.ts):
 *
 *   L = mean over pairs of −log σ(β [(log π_θ(y_w) − log π_ref(y_w)) − (log π_θ(y_l) − log π_ref(y_l))])
 *
 * with log π(y) the sum of the response tokens' log-probs (prompt excluded, EOS included: PAPER.md §8 item 2).
 * The reference's sequence log-probs are computed once, before the first update (ReaLHF's `ref_inf` call; one
 * submit for the whole data set); the reference model is not touched again. Iterative DPO passes the current
 * policy as its own reference: its log-probs at the start of a round are the reference of that round.
 *
 * One submit per step: forward of the 2P rows (chosen, then rejected), token log-probs, masked row sums, the loss
 * and its gradient w.r.t. the sequence log-probs, the scatter onto the response tokens, backward, AdamW. Stats are
 * summed on the GPU and read only at logging steps.
 *
 * @example
 * ```ts
 * const cfg = resolveConfig(DPO_SCHEMA, { sets: ["beta=0.1", "epochs=2"] });
 * const policy = await cloneGpt(sft, "policy");                     // nn/gpt_copy.ts
 * const res = await trainDpo(gpu, { policy, reference: sft, tokenizer, pairs, heldOut, config: cfg });
 * res.metrics.at(-1)!["dpo/eval_margin"];
 * ```
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import type { StepEncoder } from "../kernels/encoder.ts";
import {
  PREFERENCE_STATS,
  preferenceLoss,
  preferenceLossCpu,
  type PreferenceOptions,
} from "../kernels/preference_loss.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { Rng } from "../kernels/rng.ts";
import type { Gpt } from "../nn/gpt.ts";
import type { GptWorkspace } from "../nn/gpt_workspace.ts";
import type { PreferencePair } from "../testbeds/sanity.ts";
import type { Tokenizer } from "../testbeds/tokenizer.ts";
import { type ConfigOf, opt } from "../util/config.ts";
import type { MetricRow, RunDir } from "../util/run_dir.ts";
import { DataOrder, fixedWidth, widthOf } from "./batch.ts";
import { pairRows, sequenceValues } from "./preference_batch.ts";
import { SCHEDULE_FIELDS, UpdateLoop } from "./train_common.ts";

/** DPO settings (Appendix A.1 defaults; the learning rate scaled for tiny models, see its comment). */
export const DPO_SCHEMA = {
  seed: opt(1, "Run seed: the data order derives from it", { int: true }),
  loss: opt<"dpo" | "ipo">("dpo", "Loss: dpo (Eq. 7; conservative with labelSmoothing > 0) or ipo (Azar et al.)", {
    choices: ["dpo", "ipo"],
  }),
  beta: opt(0.1, "β of Eq. 7 (paper Appendix A.1 and ReaLHF DPOConfig.beta: 0.1); IPO's τ", { min: 1e-9 }),
  labelSmoothing: opt(0, "Conservative-DPO ε in [0, 0.5) (0 = plain DPO, as the paper and ReaLHF)", {
    min: 0,
    max: 0.499,
  }),
  // The paper uses 1e-6 for 7B models (d 4096). AdamW's usable rate grows roughly as 1/width (μP), so a d-32..64
  // model sits near 1e-6 · 4096/32 ≈ 1e-4; and a test runs ~100 updates where the paper runs thousands, so we
  // take a few times that. The tests assert what this reaches.
  lr: opt(3e-4, "Peak AdamW rate (paper: 1e-6 at 7B; scaled ~300x for d ~ 32-64 and ~100 steps, see comment)", {
    min: 0,
  }),
  ...SCHEDULE_FIELDS,
  epochs: opt(2, "Passes over the pairs (paper: 2 for dialogue, 1 for code)", { int: true, min: 1 }),
  batchPairs: opt(16, "Pairs per step, 2x as many sequences (paper: swept; ReaLHF example 512 sequences)", {
    int: true,
    min: 1,
  }),
  logEvery: opt(10, "Steps between metric rows (each reads back a few floats)", { int: true, min: 1 }),
  evalEvery: opt(0, "Steps between evaluations (held-out pairs, the evaluate hook); 0 = start and end only", {
    int: true,
    min: 0,
  }),
  evalRows: opt(64, "Sequences per forward for reference and held-out log-probs", { int: true, min: 1 }),
};

/** A resolved DPO config. */
export type DpoConfig = ConfigOf<typeof DPO_SCHEMA>;

/** Extra evaluation at evaluation steps (e.g. the gold reward of sampled responses: `charts/gold_mean`). */
export type Evaluate = (step: number) => Promise<Record<string, number>>;

/** What {@link trainDpo} returns. */
export interface DpoResult {
  metrics: MetricRow[];
  /** Updates taken. */
  steps: number;
  /** The last evaluation's metrics (held-out `dpo/eval_*` and whatever `evaluate` returned). */
  final: Record<string, number>;
}

/**
 * Trains `policy` in place by DPO on `pairs` against `reference` (which may be `policy` itself: its log-probs are
 * taken before the first update). Evaluates at step 0, every `evalEvery` steps and at the end.
 */
export async function trainDpo(gpu: Gpu, opts: {
  policy: Gpt;
  reference: Gpt;
  tokenizer: Tokenizer;
  pairs: readonly PreferencePair[];
  heldOut?: readonly PreferencePair[];
  config: DpoConfig;
  evaluate?: Evaluate;
  run?: RunDir;
  /** Step number of the first update minus one (iterative DPO numbers steps across rounds). */
  stepOffset?: number;
  /** Evaluate before the first update (default true). */
  evalAtStart?: boolean;
  /** A name for the progress bar. */
  label?: string;
}): Promise<DpoResult> {
  const { policy, tokenizer, pairs, config: cfg, run } = opts;
  const P = cfg.batchPairs, offset = opts.stepOffset ?? 0;
  if (pairs.length < P) throw new RangeError(`DPO: ${pairs.length} pairs, fewer than batchPairs ${P}`);
  if (JSON.stringify(opts.reference.config) !== JSON.stringify(policy.config)) {
    throw new RangeError("DPO: the reference model's configuration differs from the policy's");
  }
  const heldOut = opts.heldOut ?? [];
  const rows = pairRows(pairs), heldRows = pairRows(heldOut);
  const width = widthOf(tokenizer, [...rows, ...heldRows], policy.config.ctx);
  const values = (m: Gpt, ex: ReturnType<typeof pairRows>) =>
    sequenceValues(m, tokenizer, ex, { width, rows: cfg.evalRows, kind: "seqLogp" });
  // Reference log-probs, once: [2N] for the training pairs (chosen..., rejected...) and [2M] held out.
  const ref = await values(opts.reference, rows);
  const refHeld = heldOut.length > 0 ? await values(opts.reference, heldRows) : null;
  const N = pairs.length;
  const lossOptions = { kind: cfg.loss, beta: cfg.beta, labelSmoothing: cfg.labelSmoothing };
  const dpo = new DpoStep(gpu, P, lossOptions);
  // AdamW, the schedule, the [2P, T] workspace and batch, one submit per step (train_common.ts).
  const loop = new UpdateLoop(policy, dpo, {
    config: cfg,
    items: N,
    perStep: P,
    rows: 2 * P,
    width,
    stats: PREFERENCE_STATS,
    label: "dpo",
    task: opts.label,
    run,
  });
  const { totalSteps, log } = loop;

  // Evaluation: DPO's stats on the held-out pairs (the CPU reference of the loss on read-back log-probs, one
  // submit), and the caller's hook (the gold reward of samples).
  let final: Record<string, number> = {};
  const evaluate = async (step: number) => {
    final = {};
    if (refHeld) {
      const pol = await values(policy, heldRows), M = heldOut.length;
      const s = preferenceLossCpu({
        policyChosen: pol.subarray(0, M),
        policyRejected: pol.subarray(M),
        refChosen: refHeld.subarray(0, M),
        refRejected: refHeld.subarray(M),
      }, lossOptions).stats;
      const named = Object.fromEntries(PREFERENCE_STATS.map((k, i) => [k, s[i]]));
      Object.assign(final, {
        "dpo/eval_loss": named.loss,
        "dpo/eval_chosen_reward": named.chosen_reward,
        "dpo/eval_rejected_reward": named.rejected_reward,
        "dpo/eval_margin": named.margin,
        "dpo/eval_accuracy": named.accuracy,
      });
    }
    if (opts.evaluate) Object.assign(final, await opts.evaluate(step));
    if (Object.keys(final).length > 0) await log.log(step, final);
  };
  if (opts.evalAtStart ?? true) await evaluate(offset);

  let step = 0;
  const order = new DataOrder(new Rng(cfg.seed).split("dpo-data"), N);
  while (step < totalSteps) {
    step++;
    const idx = order.take(P);
    loop.bufs.write(fixedWidth(tokenizer, pairRows(idx.map((i) => pairs[i])), width));
    dpo.refChosen.write(Float32Array.from(idx, (i) => ref[i]));
    dpo.refRejected.write(Float32Array.from(idx, (i) => ref[N + i]));
    await loop.update(step, (m) => ({
      "losses/dpo": m.loss,
      "dpo/chosen_reward": m.chosen_reward,
      "dpo/rejected_reward": m.rejected_reward,
      "dpo/margin": m.margin,
      "dpo/accuracy": m.accuracy,
    }), offset + step);
    if (cfg.evalEvery > 0 && step % cfg.evalEvery === 0 && step !== totalSteps) await evaluate(offset + step);
  }
  await evaluate(offset + step);
  log.stop();
  await run?.writeSummary({ steps: offset + step, ...final });
  dpo.destroy();
  loop.destroy();
  return { metrics: log.rows, steps: step, final };
}

/**
 * The loss and gradient of one DPO step over P pairs (rows 0..P-1 chosen, P..2P-1 rejected): forward, token
 * log-probs, response-only sums, the preference loss and its gradient w.r.t. the sequence log-probs, scattered
 * onto the response tokens and taken back through the model into `params.grads` (accumulated: the caller zeroes).
 * The caller writes the reference log-probs of the batch into {@link refChosen} and {@link refRejected}.
 */
export class DpoStep {
  readonly refChosen: Tensor<"f32">; // [P] log π_ref(y_w)
  readonly refRejected: Tensor<"f32">; // [P] log π_ref(y_l)
  readonly loss: Tensor<"f32">; // [1]
  readonly stats: Tensor<"f32">; // [5] PREFERENCE_STATS
  readonly #pc: Tensor<"f32">; // [P] log π_θ(y_w)
  readonly #pr: Tensor<"f32">; // [P] log π_θ(y_l)
  readonly #dc: Tensor<"f32">; // [P] ∂L/∂log π_θ(y_w)
  readonly #dr: Tensor<"f32">; // [P] ∂L/∂log π_θ(y_l)
  readonly #dseq: Tensor<"f32">; // [2P] both, in row order

  constructor(gpu: Gpu, readonly P: number, readonly options: PreferenceOptions) {
    const f = (n: number, label: string) => gpu.tensor([n], "f32", `dpo.${label}`);
    [this.refChosen, this.refRejected, this.#pc, this.#pr, this.#dc, this.#dr] = ["rc", "rr", "pc", "pr", "dc", "dr"]
      .map((n) => f(P, n));
    this.#dseq = f(2 * P, "dseq");
    this.loss = f(1, "loss");
    this.stats = f(PREFERENCE_STATS.length, "stats");
  }

  /** Records the step's forward, loss and backward (no optimizer step) on a [2P, T] batch. */
  record(enc: StepEncoder, policy: Gpt, ws: GptWorkspace, batch: { tokens: Tensor; targets: Tensor; mask: Tensor }) {
    const P = this.P;
    policy.forward(enc, ws, batch.tokens);
    policy.tokenLogprobs(enc, ws, batch.targets);
    const seq = policy.sequenceLogprobs(enc, ws, batch.mask); // [2P]
    enc.copy(seq.view(0, [P]), this.#pc);
    enc.copy(seq.view(P, [P]), this.#pr);
    preferenceLoss(
      enc,
      { policyChosen: this.#pc, policyRejected: this.#pr, refChosen: this.refChosen, refRejected: this.refRejected },
      { loss: this.loss, dChosen: this.#dc, dRejected: this.#dr, stats: this.stats },
      this.options,
    );
    enc.copy(this.#dc, this.#dseq.view(0, [P]));
    enc.copy(this.#dr, this.#dseq.view(P, [P]));
    policy.sequenceLogprobsBackward(enc, ws, this.#dseq, batch.mask); // ws.dlogp [2P, T]
    policy.backward(enc, ws, { dlogp: ws.dlogp });
  }

  destroy(): void {
    for (const t of [this.refChosen, this.refRejected, this.#pc, this.#pr, this.#dc, this.#dr, this.#dseq]) t.destroy();
    this.loss.destroy();
    this.stats.destroy();
  }
}
