/**
 * The GPT-style decoder on WebGPU (DESIGN.md, "Models"): token and position embeddings, pre-LayerNorm blocks with
 * causal multi-head attention and a GELU MLP, a final LayerNorm, an LM head tied to the token embedding, and an
 * optional scalar head (reward models and critics).
 *
 * Everything is recorded into the caller's encoder; nothing reads back. The backward mirrors the forward in reverse
 * (as llm.c does) and accumulates (beta = 1) into `params.grads`, so several backward passes (DPO's chosen and
 * rejected, say) add up before one optimizer step; the caller zeroes the gradients at the start of a step.
 *
 * Conventions shared with the RL losses: tokens u32 [B, T], right-padded; targets u32 [B, T] given explicitly
 * (normally the tokens shifted left by one); logp[b,t] = log softmax(logits[b,t])[targets[b,t]]; a loss mask
 * [B, T] f32 marks the positions whose target is a response token; score[b] = values[b, last[b]].
 *
 * @example
 * ```ts
 * const model = new Gpt(gpu, gptPreset("xs", { vocab: 64 }));
 * model.params.initialize(new Rng(seed).split("init"));
 * const opt = new AdamW(model.params);               // nn/adamw.ts
 * const ws = model.workspace(16, 64);
 * const enc = gpu.encoder("sft step");
 * opt.zeroGrad(enc);
 * model.forward(enc, ws, tokens);                    // tokens u32 [16, 64]
 * const loss = model.crossEntropy(enc, ws, targets, mask);
 * model.backward(enc, ws, { dlogp: ws.dlogp });
 * opt.step(enc, { lr: 1e-4 });
 * const l = enc.read(loss);
 * await enc.submit();
 * ```
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import type { StepEncoder } from "../kernels/encoder.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { ParamSet } from "./params.ts";
import { blockNames, checkGptConfig, type GptConfig, gptParamSpecs } from "./gpt_config.ts";
import { GptWorkspace, type GptWorkspaceOptions } from "./gpt_workspace.ts";
import { gptBackward, gptForward } from "./gpt_layers.ts";
import { crossEntropyLoss, tokenLogprobs } from "../kernels/token_head.ts";
import { lastTokenGather, lastTokenScatter, sequenceSumBackward } from "../kernels/gather.ts";
import { rowSum } from "../kernels/reduce.ts";
import type { TuneShape } from "../kernels/autotune.ts";

/** One matmul problem, in the form kernels/autotune.ts `tuneMatmul` takes (batch 1 and no transpose by default). */
export type MatmulProblem = TuneShape;

/** Gradients a backward pass starts from; at least one must be given. */
export interface GptGrads {
  /** ∂loss/∂logp [B, T] (LM head). */
  dlogp?: Tensor;
  /** ∂loss/∂values [B, T] (scalar head). */
  dvalues?: Tensor;
}

/** A GPT model: configuration and parameters (no batch-shaped buffers; see {@link Gpt.workspace}). */
export class Gpt {
  readonly config: GptConfig;
  /** Parameters, gradients and decay mask, carved out of flat buffers by the size table of `gptParamSpecs`. */
  readonly params: ParamSet;

  constructor(readonly gpu: Gpu, config: GptConfig, label = "gpt") {
    this.config = checkGptConfig({ ...config });
    this.params = new ParamSet(gpu, gptParamSpecs(this.config), label);
  }

  /**
   * Activations and scratch for batches of shape [B, T] (T ≤ ctx); `{ grad: false }` for forward-only use (no
   * backward scratch); a string is taken as the label. See gpt_workspace.ts for the memory.
   */
  workspace(b: number, t: number, options: GptWorkspaceOptions | string = {}): GptWorkspace {
    const o = typeof options === "string" ? { label: options } : options;
    return new GptWorkspace(this.gpu, this.config, b, t, o);
  }

  /** The weights of block `l` and their gradients, by role. */
  block(l: number) {
    const n = blockNames(l);
    const w = Object.fromEntries(Object.entries(n).map(([k, name]) => [k, this.params.get(name)]));
    const g = Object.fromEntries(Object.entries(n).map(([k, name]) => [k, this.params.grad(name)]));
    return { w: w as Record<keyof typeof n, Tensor>, g: g as Record<keyof typeof n, Tensor> };
  }

  /** Records the forward of tokens u32 [B, T]: fills ws.logits [B, T, V] (LM head) and/or ws.values [B, T]. */
  forward(enc: StepEncoder, ws: GptWorkspace, tokens: Tensor): void {
    this.#perToken("forward", ws, "tokens", tokens, "u32");
    if (tokens.buffer !== ws.tokens.buffer || tokens.offset !== ws.tokens.offset) enc.copy(tokens, ws.tokens);
    gptForward(enc, this, ws);
  }

  /** Records logp and entropy [B, T] of targets u32 [B, T] into ws.logp, ws.entropy (after {@link forward}). */
  tokenLogprobs(enc: StepEncoder, ws: GptWorkspace, targets: Tensor): void {
    if (!ws.logits) throw new RangeError("tokenLogprobs: this model has no LM head (config.lmHead is false)");
    this.#perToken("tokenLogprobs", ws, "targets", targets, "u32");
    if (targets.buffer !== ws.targets.buffer || targets.offset !== ws.targets.offset) enc.copy(targets, ws.targets);
    tokenLogprobs(enc, ws.logits, ws.targets, ws.logp, ws.entropy, ws.logitLse!);
  }

  /**
   * Records the masked cross-entropy −Σ mask·logp / Σ mask into ws.loss [1], and its gradient −mask / Σ mask into
   * ws.dlogp [B, T], ready for `backward(enc, ws, { dlogp: ws.dlogp })`. Returns ws.loss.
   */
  crossEntropy(enc: StepEncoder, ws: GptWorkspace, targets: Tensor, mask: Tensor): Tensor<"f32"> {
    this.#perToken("crossEntropy", ws, "mask", mask, "f32");
    this.tokenLogprobs(enc, ws, targets);
    crossEntropyLoss(enc, ws.logp, mask, ws.loss, ws.dlogp);
    return ws.loss;
  }

  /** Records seq[b] = Σ_t mask[b,t]·logp[b,t] into ws.seqLogp [B] (after {@link tokenLogprobs}). Returns it. */
  sequenceLogprobs(enc: StepEncoder, ws: GptWorkspace, mask: Tensor): Tensor<"f32"> {
    this.#perToken("sequenceLogprobs", ws, "mask", mask, "f32");
    rowSum(enc, ws.logp, ws.seqLogp, { mask }); // masked-out (prompt, padding) tokens are skipped, never multiplied
    return ws.seqLogp;
  }

  /** Backward of {@link sequenceLogprobs}: dlogp[b,t] (+)= dseq[b]·mask[b,t]; dlogp defaults to ws.dlogp. */
  sequenceLogprobsBackward(
    enc: StepEncoder,
    ws: GptWorkspace,
    dseq: Tensor,
    mask: Tensor,
    { dlogp = ws.dlogp, accumulate = false }: { dlogp?: Tensor; accumulate?: boolean } = {},
  ): Tensor {
    this.#perToken("sequenceLogprobsBackward", ws, "mask", mask, "f32");
    sequenceSumBackward(enc, dseq, mask, dlogp, accumulate);
    return dlogp;
  }

  /** Records score[b] = values[b, last[b]] into ws.score [B] (last u32 [B]; NaN where last[b] ≥ T). Returns it. */
  lastTokenScore(enc: StepEncoder, ws: GptWorkspace, last: Tensor): Tensor<"f32"> {
    this.#sameModel("lastTokenScore", ws);
    if (!ws.values) throw new RangeError("lastTokenScore: this model has no scalar head (config.scalarHead is false)");
    lastTokenGather(enc, ws.values, last, ws.score!);
    return ws.score!;
  }

  /** Backward of {@link lastTokenScore}: dvalues[b, last[b]] (+)= dscore[b], 0 elsewhere; defaults to ws.dvalues. */
  lastTokenScoreBackward(
    enc: StepEncoder,
    ws: GptWorkspace,
    dscore: Tensor,
    last: Tensor,
    { dvalues = ws.dvalues!, accumulate = false }: { dvalues?: Tensor; accumulate?: boolean } = {},
  ): Tensor {
    this.#sameModel("lastTokenScoreBackward", ws);
    if (!ws.values) throw new RangeError("lastTokenScoreBackward: this model has no scalar head");
    lastTokenScatter(enc, dscore, last, dvalues, accumulate);
    return dvalues;
  }

  /**
   * Records the backward from ∂loss/∂logp and/or ∂loss/∂values [B, T], accumulating into `params.grads`. Uses the
   * activations of the last forward and the targets of the last tokenLogprobs on `ws`.
   */
  backward(enc: StepEncoder, ws: GptWorkspace, grads: GptGrads): void {
    const { dlogp, dvalues } = grads;
    if (!dlogp && !dvalues) throw new TypeError("backward: give dlogp and/or dvalues");
    if (dlogp && !this.config.lmHead) throw new RangeError("backward: dlogp given but the model has no LM head");
    if (dvalues && !this.config.scalarHead) {
      throw new RangeError("backward: dvalues given but the model has no scalar head");
    }
    if (!ws.grad) throw new RangeError("backward: the workspace was made with { grad: false } (forward only)");
    if (dlogp) this.#perToken("backward", ws, "dlogp", dlogp, "f32");
    if (dvalues) this.#perToken("backward", ws, "dvalues", dvalues, "f32");
    gptBackward(enc, this, ws, dlogp, dvalues);
  }

  /**
   * Every matmul problem of a forward and backward at batch shape [B, T] (the linear layers and heads; attention
   * is fused), deduplicated: what a training script hands to the matmul autotune (`tuneMatmul`) once at setup.
   */
  matmulShapes(b: number, t: number): MatmulProblem[] {
    const { d: c, vocab: v } = this.config, r = b * t;
    const list: MatmulProblem[] = [
      { m: r, n: 3 * c, k: c }, // qkv
      { m: r, n: c, k: c }, // attention projection
      { m: r, n: 4 * c, k: c }, // fc
      { m: r, n: c, k: 4 * c }, // mlp projection
      { m: r, n: 4 * c, k: c, transB: true }, // da = dres·Woutᵀ
      { m: 4 * c, n: c, k: r, transA: true }, // dWout
      { m: c, n: 4 * c, k: r, transA: true }, // dWfc
      { m: r, n: c, k: 4 * c, transB: true }, // dln2
      { m: r, n: c, k: c, transB: true }, // dy
      { m: c, n: c, k: r, transA: true }, // dWproj
      { m: c, n: 3 * c, k: r, transA: true }, // dWqkv
      { m: r, n: c, k: 3 * c, transB: true }, // dln1
    ];
    if (this.config.lmHead) {
      list.push({ m: r, n: v, k: c, transB: true }, { m: r, n: c, k: v }, { m: v, n: c, k: r, transA: true });
    }
    if (this.config.scalarHead) {
      list.push({ m: r, n: 1, k: c }, { m: c, n: 1, k: r, transA: true }, { m: r, n: c, k: 1, transB: true });
    }
    const seen = new Set<string>();
    return list.filter((p) => {
      const key = JSON.stringify(p);
      return !seen.has(key) && seen.add(key);
    });
  }

  #sameModel(fn: string, ws: GptWorkspace): void {
    if (ws.config !== this.config && JSON.stringify(ws.config) !== JSON.stringify(this.config)) {
      throw new RangeError(`${fn}: the workspace was made for another model configuration`);
    }
  }

  #perToken(fn: string, ws: GptWorkspace, name: string, t: Tensor, dtype: "u32" | "f32"): void {
    this.#sameModel(fn, ws);
    if (t.dtype !== dtype) throw new TypeError(`${fn}: ${name} ('${t.label}') must be ${dtype}, got ${t.dtype}`);
    if (t.shape.length !== 2 || t.shape[0] !== ws.b || t.shape[1] !== ws.t) {
      throw new RangeError(`${fn}: ${name} ('${t.label}') must be [B=${ws.b}, T=${ws.t}], got [${t.shape}]`);
    }
  }
}
