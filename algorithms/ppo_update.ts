/**
 * PPO's mini-batch updates of the actor and the critic, recorded into the caller's training encoder (one submit per
 * iteration, never one per mini-batch). ReaLHF's `train_step` (PAPER.md §9.5 steps 6-7): the rollout batch, whose
 * advantages are already normalised over the WHOLE batch, is split into M contiguous mini-batches, and each is used
 * for exactly one optimizer step (no inner PPO epochs; §5.5 "Mini-batches", §9.6).
 *
 * Each step copies its rows of the rollout tensors into mini-batch buffers (a buffer copy is nearly free, and the
 * loss kernels need 256-byte-aligned bindings a row offset would not give), then:
 * - actor: forward → log-probs of the targets → clipped surrogate (kernels/ppo_loss.ts, with ReaLHF's early stop on
 *   the mean ratio decided on the GPU) [+ GRPO's KL penalty, kernels/grpo_kl.ts] → backward → AdamW → reference
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
 * const stats = pt.readStats(enc);   // only at logging iterations: means over the mini-batches since the last read
 * await enc.submit();
 * ```
 * @module
 */
import type { StepEncoder } from "../kernels/encoder.ts";
import { emaParams } from "../kernels/ema.ts";
import { KL_PENALTY_STATS, klPenalty } from "../kernels/grpo_kl.ts";
import { PPO_ACTOR_STATS, ppoActorLoss } from "../kernels/ppo_loss.ts";
import { maskedMean } from "../kernels/reduce.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { PPO_VALUE_STATS, ppoValueLoss } from "../kernels/value_loss.ts";
import type { AdamW } from "../nn/adamw.ts";
import type { Gpt } from "../nn/gpt.ts";
import type { GptWorkspace } from "../nn/gpt_workspace.ts";
import { StatsAccumulator } from "./train_common.ts";

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

/** Stats of the actor's mini-batches, averaged over those recorded since the last read. */
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

/** Value-loss stats of the critic's mini-batches, averaged over those recorded since the last read. */
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

/** The actor's mini-batch updates (and the reference EMA after each). */
export class PolicyTrainer {
  readonly mb: number;
  readonly ws: GptWorkspace;
  readonly #tokens: Tensor<"u32">;
  readonly #targets: Tensor<"u32">;
  readonly #f32: Record<"mask" | "logpOld" | "advantages" | "logpRef", Tensor<"f32">>;
  readonly #loss: Tensor<"f32">;
  // One mini-batch's stats, added on the GPU to sums read at logging iterations.
  readonly #stats: Record<"ppo" | "entropy" | "kl", { one: Tensor<"f32">; acc: StatsAccumulator }>;

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
    const stats = (names: readonly string[], label: string) => ({
      one: gpu.tensor([names.length], "f32", `actor.${label}`),
      acc: new StatsAccumulator(gpu, names, `actor.${label}.sum`),
    });
    this.#stats = {
      ppo: stats(PPO_ACTOR_STATS, "stats"),
      entropy: stats(["entropy"], "entropy"),
      kl: stats(KL_PENALTY_STATS, "kl_penalty"),
    };
  }

  /** Records M actor steps (one per mini-batch) into `enc`. */
  record(enc: StepEncoder, x: ActorBatch, s: ActorSettings): void {
    const { actor, opt, ws } = this;
    const f = this.#f32, st = this.#stats;
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
      ppoActorLoss(enc, inputs, { loss: this.#loss, dlogp: ws.dlogp, stats: st.ppo.one }, {
        clipEps: s.clipEps,
        earlyStopRatio: s.earlyStopRatio,
      });
      st.ppo.acc.add(enc, st.ppo.one);
      if (s.klPenaltyBeta !== undefined) {
        sliceRows(enc, x.logpRef!, f.logpRef, m);
        const out = { dlogp: ws.dlogp, stats: st.kl.one };
        klPenalty(enc, { logp: ws.logp, logpRef: f.logpRef, mask: f.mask }, out, { beta: s.klPenaltyBeta });
        st.kl.acc.add(enc, st.kl.one);
      }
      maskedMean(enc, ws.entropy, f.mask, st.entropy.one);
      st.entropy.acc.add(enc, st.entropy.one);
      actor.backward(enc, ws, { dlogp: ws.dlogp });
      opt.step(enc, { lr: s.lr(opt.t + 1) });
      if (s.refEmaEta > 0) emaParams(enc, this.ref!.params, actor.params, s.refEmaEta);
    }
  }

  /** Frees the workspace and the mini-batch buffers. */
  destroy(): void {
    for (const t of [this.ws, this.#tokens, this.#targets, this.#loss, ...Object.values(this.#f32)]) t.destroy();
    for (const { one, acc } of Object.values(this.#stats)) [one, acc].forEach((x) => x.destroy());
  }

  /**
   * Stages the stats of the mini-batches recorded since the last read (their mean) and resets the sums; resolves
   * after `enc` is submitted. `klPenalty` is undefined when no KL penalty was recorded.
   */
  async readStats(enc: StepEncoder): Promise<ActorStats> {
    const st = this.#stats;
    const [ppo, ent, kl] = [st.ppo.acc.take(enc), st.entropy.acc.take(enc), st.kl.acc.take(enc)];
    const p = await ppo, k = (await kl).kl;
    return {
      policyLoss: p.loss,
      approxKl: p.approx_kl,
      clipFrac: p.clip_frac,
      ratioMean: p.ratio_mean,
      earlyStopped: p.early_stopped,
      entropy: (await ent).entropy,
      klPenalty: Number.isNaN(k) ? undefined : k,
    };
  }
}

/** The critic's mini-batch updates. */
export class CriticTrainer {
  readonly mb: number;
  readonly ws: GptWorkspace;
  readonly #tokens: Tensor<"u32">;
  readonly #f32: Record<"mask" | "valuesOld" | "returns", Tensor<"f32">>;
  readonly #loss: Tensor<"f32">;
  readonly #stats: { one: Tensor<"f32">; acc: StatsAccumulator };

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
    this.#stats = {
      one: gpu.tensor([PPO_VALUE_STATS.length], "f32", "critic.stats"),
      acc: new StatsAccumulator(gpu, PPO_VALUE_STATS, "critic.stats.sum"),
    };
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
        { loss: this.#loss, dvalues: ws.dvalues!, stats: this.#stats.one },
        { valueClipEps: s.valueClipEps },
      );
      this.#stats.acc.add(enc, this.#stats.one);
      critic.backward(enc, ws, { dvalues: ws.dvalues! });
      opt.step(enc, { lr: s.lr(opt.t + 1) });
    }
  }

  /** Frees the workspace and the mini-batch buffers. */
  destroy(): void {
    const { one, acc } = this.#stats;
    for (const t of [this.ws, this.#tokens, this.#loss, one, acc, ...Object.values(this.#f32)]) t.destroy();
  }

  /** Stages the mean stats of the mini-batches since the last read and resets them; resolves after submit. */
  async readStats(enc: StepEncoder): Promise<CriticStats> {
    const v = await this.#stats.acc.take(enc);
    return { valueLoss: v.loss, valueClipFrac: v.clip_frac, explainedVariance: v.explained_variance };
  }
}
