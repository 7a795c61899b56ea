/**
 * Causal multi-head self-attention, forward and backward, fused (attention_fused.ts has the WGSL): per head,
 * S = q·kᵀ/sqrt(hd) with keys after the query masked out, P = softmax(S) row by row, y = P·v, with q, k, v read
 * straight from the fused QKV projection [B, T, 3C] and y written [B, T, C] with the heads concatenated.
 *
 * Saved for the backward: qkv itself (the caller keeps it per layer) and the log-sum-exp of every score row,
 * lse [B·H·T]; the backward recomputes P = exp(S − lse) instead of storing B·H·T² probabilities (FlashAttention's
 * trade: a few more flops for no T² memory). Backward, with D_t = Σ_s P·dP = dy_t·y_t:
 *   dP = dy·vᵀ, dS = P ⊙ (dP − D), dq = dS·k/sqrt(hd), dk = dSᵀ·q/sqrt(hd), dv = Pᵀ·dy,
 * in two dispatches: one invocation per query row (dq, and D), then one per key row (dk, dv), each summing in order.
 * Each invocation takes a block of R rows ({@link attentionRows}: more for long sequences), which gives the same bits
 * for every R, so the choice is free to follow speed.
 *
 * Right padding is harmless: a position never attends to later ones, so padded tail positions cannot change the
 * real ones; the losses mask the tail out.
 *
 * @example
 * ```ts
 * attentionForward(enc, heads, qkv, y, lse);                    // y [B, T, C], lse [B·H·T]
 * attentionBackward(enc, heads, qkv, y, lse, dy, dstat, dqkv);   // dqkv [B, T, 3C] (overwritten)
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { Kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";
import { backwardKeyWgsl, backwardQueryWgsl, forwardWgsl, headLayout } from "./attention_fused.ts";

const PARAMS = { t: "u32", c: "u32", heads: "u32", scale: "f32" } as const;
const kernels = new Map<string, Kernel>();

/** The kernel `kind` specialised for head size hd (compiled once per head size). */
/** Rows per invocation of each attention kernel (attention_fused.ts's row blocks); every choice gives the same bits. */
export type AttentionRows = Record<"forward" | "query" | "key", number>;

/**
 * Rows per invocation for sequences of T positions, unless a call asks for others: more rows load less per row,
 * fewer keep more invocations for both CPU threads. Measured on the 2-core llvmpipe (forward + backward of one
 * layer, hd 32, 4 heads): at B 32, T 128, 1 row takes 116 ms, 4 rows 49 ms and 8 rows 43 ms; at B 64, T 17, 1 and
 * 2 rows tie (10.6 and 10.5 ms) and 4 rows take 12.2.
 */
export function attentionRows(t: number): AttentionRows {
  const r = t >= 128 ? 8 : t >= 48 ? 4 : t >= 24 ? 2 : 1;
  return { forward: r, query: r, key: r };
}

/** The kernel `kind` specialised for head size hd and R rows per invocation (compiled once per pair). */
function fused(kind: "forward" | "query" | "key", hd: number, R: number): Kernel {
  const key = `${kind}${hd}r${R}`;
  let k = kernels.get(key);
  if (k) return k;
  const l = headLayout(hd), T = l.ty;
  const def = {
    forward: { code: forwardWgsl(l, R), buffers: { qkv: `read:${T}`, y: `rw:${T}`, lse: "rw" } },
    query: {
      code: backwardQueryWgsl(l, R),
      buffers: { qkv: `read:${T}`, y: `read:${T}`, dy: `read:${T}`, lse: "read", dqkv: `rw:${T}`, dstat: "rw" },
    },
    key: {
      code: backwardKeyWgsl(l, R),
      buffers: { qkv: `read:${T}`, dy: `read:${T}`, lse: "read", dstat: "read", dqkv: `rw:${T}` },
    },
  }[kind];
  k = new Kernel({
    name: `attention_${kind}_hd${hd}${R > 1 ? `_r${R}` : ""}`,
    buffers: def.buffers as Record<string, "read" | "rw">,
    params: PARAMS,
    code: def.code,
  });
  kernels.set(key, k);
  return k;
}

/** Sizes of an attention problem, read from qkv [B, T, 3C]. */
export interface AttentionShape {
  b: number;
  t: number;
  c: number;
  heads: number;
  hd: number;
}

/** Checks qkv [B, T, 3C], the head count and the sizes of the other operands (C-sized or per-row stats). */
function attShape(fn: string, qkv: Tensor, heads: number, others: Record<string, [Tensor, "btc" | "rows"]>) {
  if (qkv.shape.length !== 3 || qkv.shape[2] % 3 !== 0) {
    throw new RangeError(`${fn}: qkv ('${qkv.label}') must be [B, T, 3C], got [${qkv.shape}]`);
  }
  const [b, t, c3] = qkv.shape, c = c3 / 3;
  if (!Number.isInteger(heads) || heads < 1 || c % heads !== 0) {
    throw new RangeError(`${fn}: C (${c}) must be a positive multiple of heads (${heads})`);
  }
  if (b > 65535 || heads > 65535) throw new RangeError(`${fn}: B (${b}) and heads (${heads}) must be at most 65535`);
  for (const [name, [tensor, kind]] of Object.entries(others)) {
    const want = kind === "btc" ? b * t * c : b * heads * t;
    if (tensor.size !== want) {
      throw new RangeError(`${fn}: ${name} ('${tensor.label}') has ${tensor.size} values, expected ${want}`);
    }
  }
  return { b, t, c, heads, hd: c / heads };
}

function run(
  enc: StepEncoder,
  kind: "forward" | "query" | "key",
  s: AttentionShape,
  bufs: Record<string, Tensor>,
  rows: Partial<AttentionRows> = {},
) {
  const w = headLayout(s.hd).ty === "f32" ? 1 : 4, R = rows[kind] ?? attentionRows(s.t)[kind];
  if (!Number.isInteger(R) || R < 1 || R > 8) throw new RangeError(`attention: rows.${kind} must be 1..8, got ${R}`);
  const params = { t: s.t, c: s.c / w, heads: s.heads, scale: 1 / Math.sqrt(s.hd) };
  enc.dispatch(fused(kind, s.hd, R), bufs, params, [Math.ceil(s.t / (64 * R)), s.heads, s.b]);
}

/** Records causal attention: y [B, T, C] and lse [B·H·T] from qkv [B, T, 3C] (1 dispatch). */
export function attentionForward(
  enc: StepEncoder,
  nHeads: number,
  qkv: Tensor,
  y: Tensor,
  lse: Tensor,
  rows: Partial<AttentionRows> = {},
): void {
  const s = attShape("attentionForward", qkv, nHeads, { y: [y, "btc"], lse: [lse, "rows"] });
  run(enc, "forward", s, { qkv, y, lse }, rows);
}

/**
 * Records the backward: dqkv [B, T, 3C] (overwritten) from dy [B, T, C], given the forward's qkv, y and lse;
 * dstat [B·H·T] is scratch (2 dispatches).
 */
export function attentionBackward(
  enc: StepEncoder,
  nHeads: number,
  qkv: Tensor,
  y: Tensor,
  lse: Tensor,
  dy: Tensor,
  dstat: Tensor,
  dqkv: Tensor,
  rows: Partial<AttentionRows> = {},
): void {
  const s = attShape("attentionBackward", qkv, nHeads, {
    y: [y, "btc"],
    dy: [dy, "btc"],
    lse: [lse, "rows"],
    dstat: [dstat, "rows"],
  });
  if (dqkv.size !== qkv.size) {
    throw new RangeError(`attentionBackward: dqkv [${dqkv.shape}] must match qkv [${qkv.shape}]`);
  }
  run(enc, "query", s, { qkv, y, dy, lse, dqkv, dstat }, rows);
  run(enc, "key", s, { qkv, dy, lse, dstat, dqkv }, rows);
}

/**
 * CPU reference of {@link attentionForward} in float64: y [B, T, C], the probabilities att [B, H, T, T] (which the
 * GPU never stores) and lse [B, H, T].
 */
export function attentionForwardCpu(
  qkv: ArrayLike<number>,
  b: number,
  t: number,
  c: number,
  nHeads: number,
): { y: Float64Array; att: Float64Array; lse: Float64Array } {
  const hd = c / nHeads, scale = 1 / Math.sqrt(hd);
  const y = new Float64Array(b * t * c), att = new Float64Array(b * nHeads * t * t);
  const lse = new Float64Array(b * nHeads * t);
  const at = (bi: number, ti: number, part: number, h: number) => (bi * t + ti) * 3 * c + part * c + h * hd;
  for (let bi = 0; bi < b; bi++) {
    for (let h = 0; h < nHeads; h++) {
      for (let i = 0; i < t; i++) {
        const row = ((bi * nHeads + h) * t + i) * t, qi = at(bi, i, 0, h);
        let m = -Infinity;
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += qkv[qi + d] * qkv[at(bi, j, 1, h) + d];
          att[row + j] = dot * scale;
          m = Math.max(m, att[row + j]);
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += att[row + j] = Math.exp(att[row + j] - m);
        lse[(bi * nHeads + h) * t + i] = m + Math.log(sum);
        for (let j = 0; j <= i; j++) att[row + j] /= sum;
        for (let j = 0; j <= i; j++) {
          for (let d = 0; d < hd; d++) y[(bi * t + i) * c + h * hd + d] += att[row + j] * qkv[at(bi, j, 2, h) + d];
        }
      }
    }
  }
  return { y, att, lse };
}

/** CPU reference of {@link attentionBackward} in float64: dqkv [B, T, 3C] from dy [B, T, C]. */
export function attentionBackwardCpu(
  qkv: ArrayLike<number>,
  att: ArrayLike<number>,
  dy: ArrayLike<number>,
  b: number,
  t: number,
  c: number,
  nHeads: number,
): Float64Array {
  const hd = c / nHeads, scale = 1 / Math.sqrt(hd);
  const dqkv = new Float64Array(b * t * 3 * c), datt = new Float64Array(t);
  const at = (bi: number, ti: number, part: number, h: number) => (bi * t + ti) * 3 * c + part * c + h * hd;
  for (let bi = 0; bi < b; bi++) {
    for (let h = 0; h < nHeads; h++) {
      for (let i = 0; i < t; i++) {
        const row = ((bi * nHeads + h) * t + i) * t, dyi = (bi * t + i) * c + h * hd;
        let dsum = 0;
        for (let j = 0; j <= i; j++) {
          let dp = 0;
          for (let d = 0; d < hd; d++) {
            dp += dy[dyi + d] * qkv[at(bi, j, 2, h) + d];
            dqkv[at(bi, j, 2, h) + d] += att[row + j] * dy[dyi + d];
          }
          datt[j] = dp;
          dsum += att[row + j] * dp;
        }
        for (let j = 0; j <= i; j++) {
          const ds = att[row + j] * (datt[j] - dsum) * scale;
          for (let d = 0; d < hd; d++) {
            dqkv[at(bi, i, 0, h) + d] += ds * qkv[at(bi, j, 1, h) + d];
            dqkv[at(bi, j, 1, h) + d] += ds * qkv[at(bi, i, 0, h) + d];
          }
        }
      }
    }
  }
  return dqkv;
}
