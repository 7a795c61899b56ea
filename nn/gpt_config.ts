/**
 * Configuration of the GPT-style decoder: sizes, size presets, validation, and the parameter size table with the
 * GPT-2 initialisation.
 *
 * The three presets stand in for the paper's 7B / 13B / 34B axis (DESIGN.md, "Models"). The LM head is tied to the
 * token embedding (logits = h · wteᵀ), as in GPT-2 and nanoGPT: it halves the embedding parameters of the small
 * models, and the tokenizers here have small vocabularies where an untied head buys nothing.
 *
 * @example
 * ```ts
 * const cfg = gptPreset("xs", { vocab: 64 });            // d 64, 2 layers, 4 heads, context 64, LM head
 * const critic = gptPreset("xs", { vocab: 64, lmHead: false, scalarHead: true });
 * const specs = gptParamSpecs(cfg);                     // for new ParamSet(gpu, specs)
 * ```
 * @module
 */
import type { ParamSpec } from "./params.ts";

/** Sizes and heads of a model. */
export interface GptConfig {
  /** Vocabulary size (token ids are 0..vocab-1). */
  vocab: number;
  /** Context length: the most positions a sequence may have (rows of the position embedding). */
  ctx: number;
  /** Model width (embedding and residual stream). */
  d: number;
  /** Number of transformer blocks. */
  layers: number;
  /** Attention heads per block; d must be a multiple of it. */
  heads: number;
  /** Whether the model has an LM head (tied to the token embedding): policies, reference models, SFT. */
  lmHead: boolean;
  /** Whether the model has a scalar head (one value per position): reward models and critics. */
  scalarHead: boolean;
}

/** Named sizes. */
export type GptPresetName = "xs" | "s" | "m";

/** Preset sizes (DESIGN.md, "Models"). */
export const GPT_PRESETS: Readonly<Record<GptPresetName, Pick<GptConfig, "d" | "layers" | "heads" | "ctx">>> = {
  xs: { d: 64, layers: 2, heads: 4, ctx: 64 },
  s: { d: 128, layers: 4, heads: 4, ctx: 128 },
  m: { d: 256, layers: 6, heads: 8, ctx: 256 },
};

/** A preset's sizes with `vocab` and any overrides; LM head on and scalar head off unless given. */
export function gptPreset(
  name: GptPresetName,
  overrides: Partial<GptConfig> & { vocab: number },
): GptConfig {
  const base = GPT_PRESETS[name];
  if (!base) throw new RangeError(`Unknown GPT preset '${name}'; known: ${Object.keys(GPT_PRESETS).join(", ")}`);
  return checkGptConfig({ lmHead: true, scalarHead: false, ...base, ...overrides });
}

/** Checks every field; throws RangeError/TypeError naming the field and its value. Returns the config. */
export function checkGptConfig(c: GptConfig): GptConfig {
  for (const k of ["vocab", "ctx", "d", "layers", "heads"] as const) {
    const v = c[k];
    if (typeof v !== "number") throw new TypeError(`GptConfig.${k} must be a number, got ${typeof v}`);
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`GptConfig.${k} must be a positive integer, got ${v}`);
  }
  for (const k of ["lmHead", "scalarHead"] as const) {
    if (typeof c[k] !== "boolean") throw new TypeError(`GptConfig.${k} must be a boolean, got ${c[k]}`);
  }
  if (c.d % c.heads !== 0) {
    throw new RangeError(`GptConfig.d (${c.d}) must be a multiple of GptConfig.heads (${c.heads})`);
  }
  return c;
}

/** Names of one block's parameters, by role. */
export function blockNames(l: number) {
  const h = `h${l}`;
  return {
    ln1w: `${h}.ln1.w`,
    ln1b: `${h}.ln1.b`,
    wqkv: `${h}.attn.wqkv`,
    bqkv: `${h}.attn.bqkv`,
    wproj: `${h}.attn.wproj`,
    bproj: `${h}.attn.bproj`,
    ln2w: `${h}.ln2.w`,
    ln2b: `${h}.ln2.b`,
    wfc: `${h}.mlp.wfc`,
    bfc: `${h}.mlp.bfc`,
    wout: `${h}.mlp.wproj`,
    bout: `${h}.mlp.bproj`,
  };
}

/**
 * The parameter size table. Weight matrices are stored [in, out] (y = x · W), so the forward is a plain matmul.
 * GPT-2 initialisation: normal(0.02) for matrices and embeddings, the two residual projections of each block scaled
 * by 1/sqrt(2·layers), biases zero, LayerNorm weight one and bias zero. Weight decay (nanoGPT's rule) applies to
 * matrices and embeddings, never to biases or LayerNorm parameters.
 */
export function gptParamSpecs(c: GptConfig): ParamSpec[] {
  checkGptConfig(c);
  const { vocab, ctx, d, layers } = c;
  const resid = 0.02 / Math.sqrt(2 * layers);
  const specs: ParamSpec[] = [
    { name: "wte", shape: [vocab, d], init: { normal: 0.02 }, decay: true },
    { name: "wpe", shape: [ctx, d], init: { normal: 0.02 }, decay: true },
  ];
  for (let l = 0; l < layers; l++) {
    const n = blockNames(l);
    specs.push(
      { name: n.ln1w, shape: [d], init: "ones", decay: false },
      { name: n.ln1b, shape: [d], init: "zeros", decay: false },
      { name: n.wqkv, shape: [d, 3 * d], init: { normal: 0.02 }, decay: true },
      { name: n.bqkv, shape: [3 * d], init: "zeros", decay: false },
      { name: n.wproj, shape: [d, d], init: { normal: resid }, decay: true },
      { name: n.bproj, shape: [d], init: "zeros", decay: false },
      { name: n.ln2w, shape: [d], init: "ones", decay: false },
      { name: n.ln2b, shape: [d], init: "zeros", decay: false },
      { name: n.wfc, shape: [d, 4 * d], init: { normal: 0.02 }, decay: true },
      { name: n.bfc, shape: [4 * d], init: "zeros", decay: false },
      { name: n.wout, shape: [4 * d, d], init: { normal: resid }, decay: true },
      { name: n.bout, shape: [d], init: "zeros", decay: false },
    );
  }
  specs.push(
    { name: "lnf.w", shape: [d], init: "ones", decay: false },
    { name: "lnf.b", shape: [d], init: "zeros", decay: false },
  );
  if (c.scalarHead) {
    // The value/score head: values = h · w + b, w [d, 1]. normal(0.02) like the rest (HF's GPT-2 score layer).
    specs.push(
      { name: "head.w", shape: [d, 1], init: { normal: 0.02 }, decay: true },
      { name: "head.b", shape: [1], init: "zeros", decay: false },
    );
  }
  return specs;
}
