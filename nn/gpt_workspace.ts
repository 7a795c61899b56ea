/**
 * The batch-shaped buffers of a GPT model: activations saved by the forward for the backward, the heads' outputs,
 * and the backward's scratch. A model holds none of these; `model.workspace(B, T)` makes one per batch shape, so a
 * rollout, a training mini-batch and reference scoring can each keep their own.
 *
 * Layout: one GPU buffer per kind of tensor, with per-layer tensors laid out [L, ...] at 256-byte-aligned strides.
 * (Not one arena for everything: wgpu rejects a dispatch that binds one buffer read-only and read-write at once,
 * even at disjoint ranges, and matmul declares its inputs read-only, so an activation and the activation it is
 * computed from must live in different buffers.) `sizes` is the size table, `bytes` the total.
 *
 * Memory, in floats, with R = B·T, C = d, H = heads, V = vocab, L = layers:
 * - saved per layer: 15·R·C (ln1, q, k, v, y, resid-mid, ln2 = 7RC; fc pre-activation h and GELU output a = 8RC)
 *   + H·R·T (attention probabilities) + 4·R (LayerNorm mean/rstd); the residual stream (L+1)·R·C;
 * - once: lnf R·C, qkv 3·R·C and head-split scratch R·C; logits and dlogits 2·R·V (LM head);
 * - backward scratch: 13·R·C (dres, dln, dy, dqkv 3RC, dh 4RC, dq/dk/dv 3RC) + H·R·T (datt);
 * - per token: tokens, targets, logp, entropy, lse, dlogp, values, dvalues.
 * For xs (C 64, L 2, H 4) at B 16, T 64, V 256 that is 71·R·C floats, 18.7 MB (`gptWorkspaceBytes`); the
 * attention probabilities grow as T²: for m (C 256, L 6, H 8) at B 16, T 256 they are 6 x 32 MiB.
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import type { Tensor } from "../kernels/tensor.ts";
import type { GptConfig } from "./gpt_config.ts";

const ALIGN = 64; // floats: 256 bytes
type F32 = Tensor<"f32">;

/** Rounds up to a bindable stride. */
const aligned = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** The size table of a workspace: [name, floats per layer (or in all), layers (1 for unlayered)]. */
export function gptWorkspaceSizes(c: GptConfig, b: number, t: number): [string, number, number][] {
  const r = b * t, d = c.d, L = c.layers, att = c.heads * r * t;
  const rows: [string, number, number][] = [
    ["tokens", r, 1],
    ["targets", r, 1],
    ["resid", r * d, L + 1],
    ["ln1", r * d, L],
    ["ln1Stats", 2 * r, L],
    ["q", r * d, L],
    ["k", r * d, L],
    ["v", r * d, L],
    ["att", att, L],
    ["y", r * d, L],
    ["residMid", r * d, L],
    ["ln2", r * d, L],
    ["ln2Stats", 2 * r, L],
    ["h", 4 * r * d, L],
    ["a", 4 * r * d, L],
    ["lnf", r * d, 1],
    ["lnfStats", 2 * r, 1],
    ["qkv", 3 * r * d, 1],
    ["yh", r * d, 1],
    ["dres", r * d, 1],
    ["dln", r * d, 1],
    ["dy", r * d, 1],
    ["dqkv", 3 * r * d, 1],
    ["dh", 4 * r * d, 1],
    ["dq", r * d, 1],
    ["dk", r * d, 1],
    ["dv", r * d, 1],
    ["datt", att, 1],
    ["logp", r, 1],
    ["entropy", r, 1],
    ["dlogp", r, 1],
    ["loss", 1, 1],
    ["seqLogp", b, 1],
  ];
  if (c.lmHead) rows.push(["logits", r * c.vocab, 1], ["dlogits", r * c.vocab, 1], ["lse", r, 1]);
  if (c.scalarHead) rows.push(["values", r, 1], ["dvalues", r, 1], ["score", b, 1]);
  return rows;
}

/** Bytes a workspace of this shape takes on the GPU. */
export function gptWorkspaceBytes(c: GptConfig, b: number, t: number): number {
  return gptWorkspaceSizes(c, b, t).reduce((s, [, n, l]) => s + 4 * Math.max(aligned(n) * l, ALIGN), 0);
}

/** Activations, head outputs and scratch for batches of shape [B, T]. Shapes are in the field comments. */
export class GptWorkspace {
  /** Bytes of GPU memory held. */
  readonly bytes: number;
  readonly #owned: Tensor[] = [];
  // Inputs, copied in by forward / tokenLogprobs so the backward sees exactly what the forward saw.
  readonly tokens: Tensor<"u32">; // u32 [B, T]
  readonly targets: Tensor<"u32">; // u32 [B, T]
  // Saved activations, per layer.
  readonly resid: F32[]; // (L+1) x [B, T, C]: input of block l; resid[L] feeds the final LayerNorm
  readonly ln1: F32[]; // L x [B, T, C]
  readonly ln1Stats: F32[]; // L x [B·T, 2] (mean, rstd)
  readonly q: F32[]; // L x [B·H, T, hd]
  readonly k: F32[]; // L x [B·H, T, hd]
  readonly v: F32[]; // L x [B·H, T, hd]
  readonly att: F32[]; // L x [B·H, T, T] attention probabilities
  readonly y: F32[]; // L x [B, T, C] attention output, heads concatenated
  readonly residMid: F32[]; // L x [B, T, C] residual after the attention branch
  readonly ln2: F32[]; // L x [B, T, C]
  readonly ln2Stats: F32[]; // L x [B·T, 2]
  readonly h: F32[]; // L x [B, T, 4C] fc pre-activation
  readonly a: F32[]; // L x [B, T, 4C] GELU(h)
  readonly lnf: F32; // [B, T, C] final LayerNorm output
  readonly lnfStats: F32; // [B·T, 2]
  // Forward scratch.
  readonly qkv: F32; // [B, T, 3C]
  readonly yh: F32; // [B·H, T, hd] (also the backward's split dy)
  // Backward scratch.
  readonly dres: F32; // [B, T, C] gradient of the residual stream
  readonly dln: F32; // [B, T, C] gradient of a LayerNorm output
  readonly dy: F32; // [B, T, C] gradient of the attention output
  readonly dqkv: F32; // [B, T, 3C]
  readonly dh: F32; // [B, T, 4C] gradient of a, then of h (in place)
  readonly dq: F32; // [B·H, T, hd]
  readonly dk: F32; // [B·H, T, hd]
  readonly dv: F32; // [B·H, T, hd]
  readonly datt: F32; // [B·H, T, T]
  // Heads.
  readonly logits: F32 | null; // [B, T, V] (LM head)
  readonly dlogits: F32 | null; // [B, T, V]
  readonly lse: F32 | null; // [B, T] log-sum-exp of the logits
  readonly logp: F32; // [B, T] log-probability of the targets
  readonly entropy: F32; // [B, T] entropy of the full softmax
  readonly dlogp: F32; // [B, T] scratch for a caller's gradient (crossEntropy writes −mask/count here)
  readonly loss: F32; // [1] cross-entropy
  readonly seqLogp: F32; // [B] sequence log-probabilities
  readonly values: F32 | null; // [B, T] scalar head
  readonly dvalues: F32 | null; // [B, T] scratch for a caller's gradient of the values
  readonly score: F32 | null; // [B] last-token score

  constructor(gpu: Gpu, readonly config: GptConfig, readonly b: number, readonly t: number, label = "gpt") {
    for (const [k, v] of [["B", b], ["T", t]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`GPT workspace: ${k} must be a positive integer, got ${v}`);
      }
    }
    if (t > config.ctx) throw new RangeError(`GPT workspace: T (${t}) is longer than the context (${config.ctx})`);
    const { d, heads } = config, hd = d / heads, V = config.vocab;
    const shapes: Record<string, number[]> = {
      tokens: [b, t],
      targets: [b, t],
      resid: [b, t, d],
      ln1: [b, t, d],
      ln1Stats: [b * t, 2],
      q: [b * heads, t, hd],
      k: [b * heads, t, hd],
      v: [b * heads, t, hd],
      att: [b * heads, t, t],
      y: [b, t, d],
      residMid: [b, t, d],
      ln2: [b, t, d],
      ln2Stats: [b * t, 2],
      h: [b, t, 4 * d],
      a: [b, t, 4 * d],
      lnf: [b, t, d],
      lnfStats: [b * t, 2],
      qkv: [b, t, 3 * d],
      yh: [b * heads, t, hd],
      dres: [b, t, d],
      dln: [b, t, d],
      dy: [b, t, d],
      dqkv: [b, t, 3 * d],
      dh: [b, t, 4 * d],
      dq: [b * heads, t, hd],
      dk: [b * heads, t, hd],
      dv: [b * heads, t, hd],
      datt: [b * heads, t, t],
      logits: [b, t, V],
      dlogits: [b, t, V],
      lse: [b, t],
      logp: [b, t],
      entropy: [b, t],
      dlogp: [b, t],
      loss: [1],
      seqLogp: [b],
      values: [b, t],
      dvalues: [b, t],
      score: [b],
    };
    const made = new Map<string, F32[]>();
    for (const [name, n, layers] of gptWorkspaceSizes(config, b, t)) {
      const dtype = name === "tokens" || name === "targets" ? "u32" : "f32";
      const buf = gpu.tensor([Math.max(aligned(n) * layers, ALIGN)], dtype, `${label}.${name}`);
      this.#owned.push(buf);
      const views = Array.from({ length: layers }, (_, l) => buf.view(l * aligned(n), shapes[name], `${name}[${l}]`));
      made.set(name, views as F32[]);
    }
    this.bytes = gptWorkspaceBytes(config, b, t);
    const one = (n: string) => made.get(n)![0];
    const opt = (n: string) => made.get(n)?.[0] ?? null;
    this.tokens = one("tokens") as Tensor as Tensor<"u32">;
    this.targets = one("targets") as Tensor as Tensor<"u32">;
    [this.resid, this.ln1, this.ln1Stats, this.q, this.k, this.v, this.att, this.y] = [
      "resid",
      "ln1",
      "ln1Stats",
      "q",
      "k",
      "v",
      "att",
      "y",
    ].map((n) => made.get(n)!);
    [this.residMid, this.ln2, this.ln2Stats, this.h, this.a] = ["residMid", "ln2", "ln2Stats", "h", "a"].map((n) =>
      made.get(n)!
    );
    [this.lnf, this.lnfStats, this.qkv, this.yh, this.dres, this.dln, this.dy, this.dqkv] = [
      "lnf",
      "lnfStats",
      "qkv",
      "yh",
      "dres",
      "dln",
      "dy",
      "dqkv",
    ].map(one);
    [this.dh, this.dq, this.dk, this.dv, this.datt] = ["dh", "dq", "dk", "dv", "datt"].map(one);
    [this.logp, this.entropy, this.dlogp, this.loss, this.seqLogp] = ["logp", "entropy", "dlogp", "loss", "seqLogp"]
      .map(one);
    [this.logits, this.dlogits, this.lse] = ["logits", "dlogits", "lse"].map(opt);
    [this.values, this.dvalues, this.score] = ["values", "dvalues", "score"].map(opt);
  }

  /** Frees the GPU buffers; the workspace must not be used afterwards. */
  destroy(): void {
    for (const t of this.#owned) t.destroy();
  }
}
