/**
 * The batch-shaped buffers of a GPT model: activations saved by the forward for the backward, the heads' outputs,
 * and the backward's scratch. A model holds none of these; `model.workspace(B, T)` makes one per batch shape, so a
 * rollout, a training mini-batch and reference scoring can each keep their own.
 *
 * Layout: one GPU buffer per kind of tensor, with per-layer tensors laid out [L, ...] at 256-byte-aligned strides.
 * (Not one arena for everything: wgpu rejects a dispatch that binds one buffer read-only and read-write at once,
 * even at disjoint ranges, and matmul declares its inputs read-only, so an activation and the activation it is
 * computed from must live in different buffers.) `gptWorkspaceLayout` is the size table, `bytes` the total.
 * A workspace that only runs forwards (a rollout, reference or reward scoring) is made with `{ grad: false }` and
 * holds no backward scratch.
 *
 * Memory, in floats, with R = B·T, C = d, H = heads, V = vocab, L = layers:
 * - saved per layer: 15·R·C (ln1, qkv 3RC, y, resid-mid, ln2 = 7RC; fc pre-activation h and GELU output a = 8RC)
 *   + H·R (attention log-sum-exp) + 4·R (LayerNorm mean/rstd); the residual stream (L+1)·R·C. The attention
 *   probabilities are not stored (the fused backward recomputes them), so nothing grows as T².
 * - once: lnf R·C; logits R·V (LM head: at V = 4C as large as a whole layer);
 * - backward scratch (not with `grad: false`): 10·R·C (dres, dln, dy, dqkv 3RC, dh 4RC) + H·R (the attention
 *   backward's D per row) + R·V (dlogits);
 * - per token: tokens, targets, logp, entropy, logit lse, dlogp, values, dvalues.
 * For xs (C 64, L 2, H 4) at B 16, T 64, V 256 that is 52·R·C floats, 13.7 MB (`gptWorkspaceBytes`); 38·R·C,
 * 10.1 MB, without the backward scratch. For m (C 256, L 6, H 8) at B 16, T 256: 463 MB.
 * @module
 */
import type { Gpu } from "../kernels/gpu.ts";
import type { Tensor } from "../kernels/tensor.ts";
import type { GptConfig } from "./gpt_config.ts";

const ALIGN = 64; // floats: 256 bytes
type F32 = Tensor<"f32">;

/** Rounds up to a bindable stride. */
const aligned = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** Options of a workspace. */
export interface GptWorkspaceOptions {
  /** Whether to hold the backward's scratch (default true); false for forward-only use. */
  grad?: boolean;
  /** Prefix of the buffer labels. */
  label?: string;
}

/** One row of the size table: a tensor kind, its shape, and how many layers hold one (1 for unlayered). */
export interface WorkspaceEntry {
  name: string;
  shape: number[];
  layers: number;
  dtype: "f32" | "u32";
  /** Part of the backward scratch. */
  grad: boolean;
}

/** The size table of a workspace for batches [B, T]. */
export function gptWorkspaceLayout(c: GptConfig, b: number, t: number, o: GptWorkspaceOptions = {}): WorkspaceEntry[] {
  const { d, heads, vocab: v, layers: L } = c, r = b * t;
  const e = (name: string, shape: number[], layers = 1, grad = false): WorkspaceEntry => ({
    name,
    shape,
    layers,
    dtype: name === "tokens" || name === "targets" ? "u32" : "f32",
    grad,
  });
  const all = [
    e("tokens", [b, t]),
    e("targets", [b, t]),
    e("resid", [b, t, d], L + 1),
    e("ln1", [b, t, d], L),
    e("ln1Stats", [r, 2], L),
    e("qkv", [b, t, 3 * d], L),
    e("lse", [b * heads * t], L),
    e("y", [b, t, d], L),
    e("residMid", [b, t, d], L),
    e("ln2", [b, t, d], L),
    e("ln2Stats", [r, 2], L),
    e("h", [b, t, 4 * d], L),
    e("a", [b, t, 4 * d], L),
    e("lnf", [b, t, d]),
    e("lnfStats", [r, 2]),
    e("logp", [b, t]),
    e("entropy", [b, t]),
    e("dlogp", [b, t]),
    e("loss", [1]),
    e("seqLogp", [b]),
    ...(c.lmHead ? [e("logits", [b, t, v]), e("logitLse", [b, t]), e("dlogits", [b, t, v], 1, true)] : []),
    ...(c.scalarHead ? [e("values", [b, t]), e("dvalues", [b, t]), e("score", [b])] : []),
    e("dres", [b, t, d], 1, true),
    e("dln", [b, t, d], 1, true),
    e("dy", [b, t, d], 1, true),
    e("dqkv", [b, t, 3 * d], 1, true),
    e("dh", [b, t, 4 * d], 1, true),
    e("dstat", [b * heads * t], 1, true),
  ];
  return o.grad === false ? all.filter((x) => !x.grad) : all;
}

/** Elements of one layer's tensor, and of the buffer holding all layers (aligned strides, at least 64). */
function sizes(x: WorkspaceEntry): [number, number] {
  const n = x.shape.reduce((p, q) => p * q, 1);
  return [n, Math.max(aligned(n) * x.layers, ALIGN)];
}

/** Bytes a workspace of this shape takes on the GPU. */
export function gptWorkspaceBytes(c: GptConfig, b: number, t: number, o: GptWorkspaceOptions = {}): number {
  return gptWorkspaceLayout(c, b, t, o).reduce((s, x) => s + 4 * sizes(x)[1], 0);
}

/** The backward's scratch: gradients of intermediate activations. */
export interface GptGradScratch {
  dres: F32; // [B, T, C] gradient of the residual stream
  dln: F32; // [B, T, C] gradient of a LayerNorm output
  dy: F32; // [B, T, C] gradient of the attention output
  dqkv: F32; // [B, T, 3C]
  dh: F32; // [B, T, 4C] gradient of a, then of h (in place)
  dstat: F32; // [B·H·T] the attention backward's D = dy·y per row
  dlogits: F32 | null; // [B, T, V] (LM head)
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
  /** The backward's scratch; null in a forward-only workspace. */
  readonly grad: GptGradScratch | null;
  // Heads.
  readonly logits: F32 | null; // [B, T, V] (LM head)
  readonly logitLse: F32 | null; // [B, T] log-sum-exp of the logits
  readonly logp: F32; // [B, T] log-probability of the targets
  readonly entropy: F32; // [B, T] entropy of the full softmax
  readonly dlogp: F32; // [B, T] scratch for a caller's gradient (crossEntropy writes −mask/count here)
  readonly loss: F32; // [1] cross-entropy
  readonly seqLogp: F32; // [B] sequence log-probabilities
  readonly values: F32 | null; // [B, T] scalar head
  readonly dvalues: F32 | null; // [B, T] scratch for a caller's gradient of the values
  readonly score: F32 | null; // [B] last-token score

  constructor(
    gpu: Gpu,
    readonly config: GptConfig,
    readonly b: number,
    readonly t: number,
    o: GptWorkspaceOptions = {},
  ) {
    for (const [k, v] of [["B", b], ["T", t]] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`GPT workspace: ${k} must be a positive integer, got ${v}`);
      }
    }
    if (t > config.ctx) throw new RangeError(`GPT workspace: T (${t}) is longer than the context (${config.ctx})`);
    const label = o.label ?? "gpt.ws";
    const made = new Map<string, F32[]>();
    for (const x of gptWorkspaceLayout(config, b, t, o)) {
      const [n, total] = sizes(x);
      const buf = gpu.tensor([total], x.dtype, `${label}.${x.name}`);
      this.#owned.push(buf);
      const views = Array.from({ length: x.layers }, (_, l) => buf.view(l * aligned(n), x.shape, `${x.name}[${l}]`));
      made.set(x.name, views as F32[]);
    }
    this.bytes = gptWorkspaceBytes(config, b, t, o);
    const all = (n: string) => made.get(n)!;
    const one = (n: string) => made.get(n)![0];
    const opt = (n: string) => made.get(n)?.[0] ?? null;
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
    this.grad = o.grad === false ? null : {
      dres: one("dres"),
      dln: one("dln"),
      dy: one("dy"),
      dqkv: one("dqkv"),
      dh: one("dh"),
      dstat: one("dstat"),
      dlogits: opt("dlogits"),
    };
    this.logp = one("logp");
    this.entropy = one("entropy");
    this.dlogp = one("dlogp");
    this.loss = one("loss");
    this.seqLogp = one("seqLogp");
    this.logits = opt("logits");
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
