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
 * - saved per layer: 15·R·C (ln1, qkv 3RC, y, resid-mid, ln2 = 7RC; fc pre-activation h and GELU output a = 8RC)
 *   + H·R (attention log-sum-exp) + 4·R (LayerNorm mean/rstd); the residual stream (L+1)·R·C. The attention
 *   probabilities are not stored (the fused backward recomputes them), so nothing grows as T².
 * - once: lnf R·C; logits and dlogits 2·R·V (LM head: at V = 4C as large as a whole layer);
 * - backward scratch: 10·R·C (dres, dln, dy, dqkv 3RC, dh 4RC) + H·R (the attention backward's D per row);
 * - per token: tokens, targets, logp, entropy, logit lse, dlogp, values, dvalues.
 * For xs (C 64, L 2, H 4) at B 16, T 64, V 256 that is 52·R·C floats, 13.7 MB (`gptWorkspaceBytes`).
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
  const r = b * t, d = c.d, L = c.layers;
  const rows: [string, number, number][] = [
    ["tokens", r, 1],
    ["targets", r, 1],
    ["resid", r * d, L + 1],
    ["ln1", r * d, L],
    ["ln1Stats", 2 * r, L],
    ["qkv", 3 * r * d, L],
    ["lse", c.heads * r, L],
    ["y", r * d, L],
    ["residMid", r * d, L],
    ["ln2", r * d, L],
    ["ln2Stats", 2 * r, L],
    ["h", 4 * r * d, L],
    ["a", 4 * r * d, L],
    ["lnf", r * d, 1],
    ["lnfStats", 2 * r, 1],
    ["dres", r * d, 1],
    ["dln", r * d, 1],
    ["dy", r * d, 1],
    ["dqkv", 3 * r * d, 1],
    ["dh", 4 * r * d, 1],
    ["dstat", c.heads * r, 1],
    ["logp", r, 1],
    ["entropy", r, 1],
    ["dlogp", r, 1],
    ["loss", 1, 1],
    ["seqLogp", b, 1],
  ];
  if (c.lmHead) rows.push(["logits", r * c.vocab, 1], ["dlogits", r * c.vocab, 1], ["logitLse", r, 1]);
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
  readonly qkv: F32[]; // L x [B, T, 3C] the QKV projection (attention reads q, k, v from it)
  readonly lse: F32[]; // L x [B·H·T] log-sum-exp of each attention score row
  readonly y: F32[]; // L x [B, T, C] attention output, heads concatenated
  readonly residMid: F32[]; // L x [B, T, C] residual after the attention branch
  readonly ln2: F32[]; // L x [B, T, C]
  readonly ln2Stats: F32[]; // L x [B·T, 2]
  readonly h: F32[]; // L x [B, T, 4C] fc pre-activation
  readonly a: F32[]; // L x [B, T, 4C] GELU(h)
  readonly lnf: F32; // [B, T, C] final LayerNorm output
  readonly lnfStats: F32; // [B·T, 2]
  // Backward scratch.
  readonly dres: F32; // [B, T, C] gradient of the residual stream
  readonly dln: F32; // [B, T, C] gradient of a LayerNorm output
  readonly dy: F32; // [B, T, C] gradient of the attention output
  readonly dqkv: F32; // [B, T, 3C]
  readonly dh: F32; // [B, T, 4C] gradient of a, then of h (in place)
  readonly dstat: F32; // [B·H·T] the attention backward's D = dy·y per row
  // Heads.
  readonly logits: F32 | null; // [B, T, V] (LM head)
  readonly dlogits: F32 | null; // [B, T, V]
  readonly logitLse: F32 | null; // [B, T] log-sum-exp of the logits
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
    const { d, heads } = config, V = config.vocab;
    const shapes: Record<string, number[]> = {
      tokens: [b, t],
      targets: [b, t],
      resid: [b, t, d],
      ln1: [b, t, d],
      ln1Stats: [b * t, 2],
      qkv: [b, t, 3 * d],
      lse: [b * heads * t],
      y: [b, t, d],
      residMid: [b, t, d],
      ln2: [b, t, d],
      ln2Stats: [b * t, 2],
      h: [b, t, 4 * d],
      a: [b, t, 4 * d],
      lnf: [b, t, d],
      lnfStats: [b * t, 2],
      dres: [b, t, d],
      dln: [b, t, d],
      dy: [b, t, d],
      dqkv: [b, t, 3 * d],
      dh: [b, t, 4 * d],
      dstat: [b * heads * t],
      logits: [b, t, V],
      dlogits: [b, t, V],
      logitLse: [b, t],
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
    const all = (n: string) => made.get(n)!;
    this.tokens = one("tokens") as Tensor as Tensor<"u32">;
    this.targets = one("targets") as Tensor as Tensor<"u32">;
    this.resid = all("resid");
    this.ln1 = all("ln1");
    this.ln1Stats = all("ln1Stats");
    this.qkv = all("qkv");
    this.lse = all("lse");
    this.y = all("y");
    this.residMid = all("residMid");
    this.ln2 = all("ln2");
    this.ln2Stats = all("ln2Stats");
    this.h = all("h");
    this.a = all("a");
    this.lnf = one("lnf");
    this.lnfStats = one("lnfStats");
    this.dres = one("dres");
    this.dln = one("dln");
    this.dy = one("dy");
    this.dqkv = one("dqkv");
    this.dh = one("dh");
    this.dstat = one("dstat");
    this.logp = one("logp");
    this.entropy = one("entropy");
    this.dlogp = one("dlogp");
    this.loss = one("loss");
    this.seqLogp = one("seqLogp");
    this.logits = opt("logits");
    this.dlogits = opt("dlogits");
    this.logitLse = opt("logitLse");
    this.values = opt("values");
    this.dvalues = opt("dvalues");
    this.score = opt("score");
  }

  /** Frees the GPU buffers; the workspace must not be used afterwards. */
  destroy(): void {
    for (const t of this.#owned) t.destroy();
  }
}
