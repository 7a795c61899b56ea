/**
 * PPO's mini-batch updates of the actor and the critic, recorded into the caller's training encoder (one submit per
 * iteration, never one per mini-batch). ReaLHF's `train_step` (PAPER.md §9.5 steps 6-7): the rollout batch, whose
 * advantages are already normalised over the WHOLE batch, is split into M contiguous mini-batches, and each is used
 * for exactly one optimizer step (no inner PPO epochs; §5.5 "Mini-batches", §9.6).
 *
 * Each step copies its rows of the rollout tensors into mini-batch buffers (a buffer copy is nearly free, and the
 * loss kernels need 256-byte-aligned bindings a row offset would not give), then:
 * - actor: forward → log-probs of the targets → clipped surrogate (kernels/ppo_loss.ts, with ReaLHF's early stop on
 *   the mean ratio decided on the GPU) [+ GRPO's KL penalty, algorithms/grpo_kl.ts] → backward → AdamW → reference
 *   EMA θ_ref ← η θ_actor + (1 − η) θ_ref (kernels/ema.ts; §5 "Ref. EMA", PAPER.md §8.9) when η > 0;
 * - critic: forward → clipped value loss (kernels/value_loss.ts) → backward → AdamW.
 * An early-stopped mini-batch still takes its AdamW step with a zero gradient, as ReaLHF's `loss * 0` does (the
 * decision stays on the GPU, so skipping the step would need a readback).
 *
 * @example
 * ```ts
 * const pt = new PolicyTrainer(actor, actorOpt, ref, { batch: 64, width: 24, minibatches: 4 });
 * const settings = { lr: () => 1e-3, clipEps: 0.2, earlyStopRatio: 5, refEmaEta: 0 };
 * pt.record(enc, { tokens, targets, mask, logpOld, advantages }, settings);   // [B, T] rollout tensors
 * const stats = pt.readStats(enc);   // only at logging iterations
 * await enc.submit();
 * ```
 * @module
 */
import type { StepEncoder } from "../kernels/encoder.ts";
import { emaParams } from "../kernels/ema.ts";
import type { Gpu } from "../kernels/gpu.ts";
import { PPO_ACTOR_STATS, ppoActorLoss } from "../kernels/ppo_loss.ts";
import { maskedMean } from "../kernels/reduce.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { PPO_VALUE_STATS, ppoValueLoss } from "../kernels/value_loss.ts";
import type { AdamW } from "../nn/adamw.ts";
import type { Gpt } from "../nn/gpt.ts";
import type { GptWorkspace } from "../nn/gpt_workspace.ts";
import { KL_PENALTY_STATS, klPenalty } from "./grpo_kl.ts";

/** Rollout-batch sizes: B sequences of width T, split into M mini-batches of B / M. */
export interface BatchShape {
  batch: number;
  width: number;
  minibatches: number;
}

/** The actor's inputs, rollout-batch tensors [B, T]. */
export interface ActorBatch {
  tokens: Tensor<"u32">;
  targets: Tensor<"u32">;
  mask: Tensor<"f32">;
  logpOld: Tensor<"f32">;
  advantages: Tensor<"f32">;
  /** Reference log-probs; needed only with a KL penalty in the loss (GRPO). */
  logpRef?: Tensor<"f32">;
}

/** The critic's inputs, rollout-batch tensors [B, T]. */
export interface CriticBatch {
  tokens: Tensor<"u32">;
  mask: Tensor<"f32">;
  /** The critic's outputs at rollout time (normalised space when value normalisation is on). */
  valuesOld: Tensor<"f32">;
  /** Regression targets (normalised returns when value normalisation is on). */
  returns: Tensor<"f32">;
}

/** Settings of one actor update. */
export interface ActorSettings {
  /** Learning rate of AdamW's next update t (1-based). */
  lr: (t: number) => number;
  clipEps: number;
  /** Drop a mini-batch whose mean ratio exceeds this; null disables. */
  earlyStopRatio: number | null;
  /** Reference EMA rate η; 0 leaves the reference fixed (no dispatch). */
  refEmaEta: number;
  /** β of GRPO's k3 KL penalty in the loss; absent for PPO (its KL is in the reward). */
  klPenaltyBeta?: number;
}

/** Settings of one critic update. */
export interface CriticSettings {
  lr: (t: number) => number;
  /** Value clip ε_v; Infinity turns value clipping off. */
  valueClipEps: number;
}

/** Per-mini-batch stats, averaged over the mini-batches when read. */
export interface ActorStats {
  policyLoss: number;
  approxKl: number;
  clipFrac: number;
  ratioMean: number;
  earlyStopped: number;
  entropy: number;
  /** Mean k3 KL to the reference per token (GRPO's loss term; undefined without it). */
  klPenalty?: number;
}

/** Per-mini-batch value-loss stats, averaged over the mini-batches when read. */
export interface CriticStats {
  valueLoss: number;
  valueClipFrac: number;
  explainedVariance: number;
}

function checkShape({ batch, width, minibatches }: BatchShape): number {
  for (const [k, v] of [["batch", batch], ["width", width], ["minibatches", minibatches]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`PPO update: ${k} must be a positive integer, got ${v}`);
  }
  if (batch % minibatches !== 0) {
    throw new RangeError(`PPO update: the batch of ${batch} is not a multiple of minibatches (${minibatches})`);
  }
  return batch / minibatches;
}

/** Copies rows [m·b, (m+1)·b) of a [B, T] tensor into the [b, T] tensor `dst`. */
function sliceRows(enc: StepEncoder, src: Tensor, dst: Tensor, m: number): void {
  const [b, t] = dst.shape;
  if (src.shape[1] !== t) throw new RangeError(`PPO update: '${src.label}' is [${src.shape}], want width ${t}`);
  enc.copy(src.view(m * b * t, [b, t]), dst);
}

/**
 * Stats of M mini-batches in one buffer read back with one copy: mini-batch m, part j (one kernel's stats vector)
 * sits at its own 256-byte-aligned slot, as a binding must.
 */
export class StatSlots {
  static readonly SLOT = 64; // floats: 256 bytes
  readonly buf: Tensor<"f32">;
  constructor(gpu: Gpu, readonly rows: number, readonly parts: readonly number[], label: string) {
    if (parts.some((n) => n > StatSlots.SLOT)) throw new RangeError(`StatSlots: a part is over ${StatSlots.SLOT}`);
    this.buf = gpu.zeros([rows * parts.length * StatSlots.SLOT], "f32", label);
  }
  /** The slot of mini-batch m, part j. */
  at(m: number, j: number): Tensor<"f32"> {
    return this.buf.view((m * this.parts.length + j) * StatSlots.SLOT, [this.parts[j]]);
  }
  /** Stages the buffer for readback; resolves to each part's values averaged over the mini-batches. */
  async readMeans(enc: StepEncoder): Promise<number[][]> {
    const all = await enc.read(this.buf);
    return this.parts.map((n, j) =>
      Array.from({ length: n }, (_, i) => {
        let s = 0;
        for (let m = 0; m < this.rows; m++) s += all[(m * this.parts.length + j) * StatSlots.SLOT + i];
        return s / this.rows;
      })
    );
  }
}

/** The actor's mini-batch updates (and the reference EMA after each). */
export class PolicyTrainer {
  readonly mb: number;
  readonly ws: GptWorkspace;
  readonly #tokens: Tensor<"u32">;
  readonly #targets: Tensor<"u32">;
  readonly #f32: Record<"mask" | "logpOld" | "advantages" | "logpRef", Tensor<"f32">>;
  readonly #loss: Tensor<"f32">;
  readonly #stats: StatSlots; // per mini-batch: PPO_ACTOR_STATS, mean entropy, KL_PENALTY_STATS
  #withKl = false;

  constructor(readonly actor: Gpt, readonly opt: AdamW, readonly ref: Gpt | null, readonly shape: BatchShape) {
    this.mb = checkShape(shape);
    const gpu = actor.gpu, s = [this.mb, shape.width];
    this.ws = actor.workspace(this.mb, shape.width, "actor.ws");
    this.#tokens = gpu.tensor(s, "u32", "mb.tokens");
    this.#targets = gpu.tensor(s, "u32", "mb.targets");
    this.#f32 = {
      mask: gpu.tensor(s, "f32", "mb.mask"),
      logpOld: gpu.tensor(s, "f32", "mb.logp_old"),
      advantages: gpu.tensor(s, "f32", "mb.adv"),
      logpRef: gpu.tensor(s, "f32", "mb.logp_ref"),
    };
    this.#loss = gpu.tensor([1], "f32", "actor.loss");
    const parts = [PPO_ACTOR_STATS.length, 1, KL_PENALTY_STATS.length];
    this.#stats = new StatSlots(gpu, shape.minibatches, parts, "actor.stats");
  }

  /** Records M actor steps (one per mini-batch) into `enc`. */
  record(enc: StepEncoder, x: ActorBatch, s: ActorSettings): void {
    const { actor, opt, ws } = this;
    const f = this.#f32;
    this.#withKl = s.klPenaltyBeta !== undefined;
    if (s.klPenaltyBeta !== undefined && !x.logpRef) throw new TypeError("PPO update: a KL penalty needs logpRef");
    if (s.refEmaEta > 0 && !this.ref) throw new TypeError("PPO update: a reference EMA needs the reference model");
    for (let m = 0; m < this.shape.minibatches; m++) {
      sliceRows(enc, x.tokens, this.#tokens, m);
      sliceRows(enc, x.targets, this.#targets, m);
      sliceRows(enc, x.mask, f.mask, m);
      sliceRows(enc, x.logpOld, f.logpOld, m);
      sliceRows(enc, x.advantages, f.advantages, m);
      opt.zeroGrad(enc);
      actor.forward(enc, ws, this.#tokens);
      actor.tokenLogprobs(enc, ws, this.#targets);
      const inputs = { logp: ws.logp, logpOld: f.logpOld, advantages: f.advantages, mask: f.mask };
      ppoActorLoss(enc, inputs, { loss: this.#loss, dlogp: ws.dlogp, stats: this.#stats.at(m, 0) }, {
        clipEps: s.clipEps,
        earlyStopRatio: s.earlyStopRatio,
      });
      if (s.klPenaltyBeta !== undefined) {
        sliceRows(enc, x.logpRef!, f.logpRef, m);
        const stats = this.#stats.at(m, 2);
        klPenalty(enc, { logp: ws.logp, logpRef: f.logpRef, mask: f.mask }, { dlogp: ws.dlogp, stats }, {
          beta: s.klPenaltyBeta,
        });
      }
      maskedMean(enc, ws.entropy, f.mask, this.#stats.at(m, 1));
      actor.backward(enc, ws, { dlogp: ws.dlogp });
      opt.step(enc, { lr: s.lr(opt.t + 1) });
      if (s.refEmaEta > 0) emaParams(enc, this.ref!.params, actor.params, s.refEmaEta);
    }
  }

  /** Frees the workspace and the mini-batch buffers. */
  destroy(): void {
    for (const t of [this.ws, this.#tokens, this.#targets, this.#loss, this.#stats.buf, ...Object.values(this.#f32)]) {
      t.destroy();
    }
  }

  /** Stages the stats of the last {@link record} for readback; resolves after `enc` is submitted. */
  async readStats(enc: StepEncoder): Promise<ActorStats> {
    const withKl = this.#withKl;
    const [ppo, [entropy], [kl]] = await this.#stats.readMeans(enc);
    const [policyLoss, approxKl, clipFrac, ratioMean, earlyStopped] = ppo;
    return { policyLoss, approxKl, clipFrac, ratioMean, earlyStopped, entropy, klPenalty: withKl ? kl : undefined };
  }
}

/** The critic's mini-batch updates. */
export class CriticTrainer {
  readonly mb: number;
  readonly ws: GptWorkspace;
  readonly #tokens: Tensor<"u32">;
  readonly #f32: Record<"mask" | "valuesOld" | "returns", Tensor<"f32">>;
  readonly #loss: Tensor<"f32">;
  readonly #stats: StatSlots;

  constructor(readonly critic: Gpt, readonly opt: AdamW, readonly shape: BatchShape) {
    this.mb = checkShape(shape);
    const gpu = critic.gpu, s = [this.mb, shape.width];
    this.ws = critic.workspace(this.mb, shape.width, "critic.ws");
    this.#tokens = gpu.tensor(s, "u32", "mb.critic_tokens");
    this.#f32 = {
      mask: gpu.tensor(s, "f32", "mb.critic_mask"),
      valuesOld: gpu.tensor(s, "f32", "mb.values_old"),
      returns: gpu.tensor(s, "f32", "mb.returns"),
    };
    this.#loss = gpu.tensor([1], "f32", "critic.loss");
    this.#stats = new StatSlots(gpu, shape.minibatches, [PPO_VALUE_STATS.length], "critic.stats");
  }

  /** Records M critic steps (one per mini-batch) into `enc`. */
  record(enc: StepEncoder, x: CriticBatch, s: CriticSettings): void {
    const { critic, opt, ws } = this, f = this.#f32;
    for (let m = 0; m < this.shape.minibatches; m++) {
      sliceRows(enc, x.tokens, this.#tokens, m);
      sliceRows(enc, x.mask, f.mask, m);
      sliceRows(enc, x.valuesOld, f.valuesOld, m);
      sliceRows(enc, x.returns, f.returns, m);
      opt.zeroGrad(enc);
      critic.forward(enc, ws, this.#tokens);
      ppoValueLoss(
        enc,
        { values: ws.values!, valuesOld: f.valuesOld, returns: f.returns, mask: f.mask },
        { loss: this.#loss, dvalues: ws.dvalues!, stats: this.#stats.at(m, 0) },
        { valueClipEps: s.valueClipEps },
      );
      critic.backward(enc, ws, { dvalues: ws.dvalues! });
      opt.step(enc, { lr: s.lr(opt.t + 1) });
    }
  }

  /** Frees the workspace and the mini-batch buffers. */
  destroy(): void {
    for (const t of [this.ws, this.#tokens, this.#loss, this.#stats.buf, ...Object.values(this.#f32)]) t.destroy();
  }

  /** Stages the stats of the last {@link record} for readback; resolves after `enc` is submitted. */
  async readStats(enc: StepEncoder): Promise<CriticStats> {
    const [[valueLoss, valueClipFrac, explainedVariance]] = await this.#stats.readMeans(enc);
    return { valueLoss, valueClipFrac, explainedVariance };
  }
}
