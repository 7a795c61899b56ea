/**
 * Causal multi-head self-attention, forward and backward, as llm.c lays it out: the fused QKV projection's output
 * [B, T, 3C] is split into per-head q, k, v [B·H, T, hd]; scores S = q·kᵀ/sqrt(hd) and outputs y = P·v are batched
 * matmuls over the B·H heads (the fast register-block matmul does the flops); the causal mask and softmax are one
 * fused kernel that writes the probabilities P in place (the small kernels are in attention_parts.ts).
 *
 * Saved for the backward: q, k, v (3·B·T·C floats) and P [B·H, T, T] (B·H·T² floats; the upper triangle is zero).
 * Right padding is harmless: a position never attends to later ones, so padded tail positions cannot change the
 * real ones; the losses mask the tail out.
 *
 * Backward (reverse of the forward): dyh = split(dy); dP = dyh·vᵀ; dv = Pᵀ·dyh; dS = P ⊙ (dP − Σ_s P·dP) in place;
 * dq = dS·k/sqrt(hd); dk = dSᵀ·q/sqrt(hd); dqkv = merge(dq, dk, dv).
 *
 * @example
 * ```ts
 * attentionForward(enc, heads, { qkv, q, k, v, att, yh, y });                 // y [B, T, C]
 * attentionBackward(enc, heads, { q, k, v, att }, dy, { dyh, datt, dq, dk, dv }, dqkv);
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { causalSoftmax, causalSoftmaxBackward, mergeHeads, splitHeads } from "./attention_parts.ts";
import { matmul } from "./matmul.ts";
import type { Tensor } from "./tensor.ts";

/** Sizes of an attention problem, read from qkv or dqkv [B, T, 3C]. */
export interface AttentionShape {
  b: number;
  t: number;
  c: number;
  heads: number;
  hd: number;
}

function attShape(fn: string, qkv: Tensor, heads: number, others: Record<string, [Tensor, number]>): AttentionShape {
  if (qkv.shape.length !== 3 || qkv.shape[2] % 3 !== 0) {
    throw new RangeError(`${fn}: qkv ('${qkv.label}') must be [B, T, 3C], got [${qkv.shape}]`);
  }
  const [b, t, c3] = qkv.shape, c = c3 / 3;
  if (!Number.isInteger(heads) || heads < 1 || c % heads !== 0) {
    throw new RangeError(`${fn}: C (${c}) must be a positive multiple of heads (${heads})`);
  }
  const s = { b, t, c, heads, hd: c / heads };
  for (const [name, [tensor, kind]] of Object.entries(others)) {
    const want = kind === 0 ? b * t * c : b * heads * t * t;
    if (tensor.size !== want) {
      throw new RangeError(`${fn}: ${name} ('${tensor.label}') has ${tensor.size} values, expected ${want}`);
    }
  }
  return s;
}

/** What the forward writes; q, k, v, att are saved for the backward. */
export interface AttentionForwardBuffers {
  /** [B, T, 3C], the QKV projection. */
  qkv: Tensor;
  /** [B·H, T, hd] each. */
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** [B·H, T, T] probabilities. */
  att: Tensor;
  /** [B·H, T, hd] scratch. */
  yh: Tensor;
  /** [B, T, C] output (heads concatenated). */
  y: Tensor;
}

/** Records causal attention: y [B, T, C] from qkv [B, T, 3C] with `heads` heads (5 dispatches). */
export function attentionForward(enc: StepEncoder, nHeads: number, o: AttentionForwardBuffers): void {
  const s = attShape("attentionForward", o.qkv, nHeads, {
    q: [o.q, 0],
    k: [o.k, 0],
    v: [o.v, 0],
    yh: [o.yh, 0],
    y: [o.y, 0],
    att: [o.att, 1],
  });
  const bh = s.b * s.heads, h3 = [bh, s.t, s.hd], a3 = [bh, s.t, s.t];
  const [q, k, v, yh, att] = [o.q.reshape(h3), o.k.reshape(h3), o.v.reshape(h3), o.yh.reshape(h3), o.att.reshape(a3)];
  splitHeads(enc, o.qkv, [q, k, v], s.heads);
  matmul(enc, q, k, att, { transB: true, alpha: 1 / Math.sqrt(s.hd) });
  causalSoftmax(enc, att);
  matmul(enc, att, v, yh);
  mergeHeads(enc, [yh], o.y, s.heads);
}

/** Scratch of the backward: [B·H, T, hd] each, and datt [B·H, T, T]. */
export interface AttentionBackwardScratch {
  dyh: Tensor;
  datt: Tensor;
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

/** Records the backward: dqkv [B, T, 3C] (overwritten) from dy [B, T, C] and the saved q, k, v, att (7 dispatches). */
export function attentionBackward(
  enc: StepEncoder,
  nHeads: number,
  saved: { q: Tensor; k: Tensor; v: Tensor; att: Tensor },
  dy: Tensor,
  w: AttentionBackwardScratch,
  dqkv: Tensor,
): void {
  const s = attShape("attentionBackward", dqkv, nHeads, {
    dy: [dy, 0],
    q: [saved.q, 0],
    k: [saved.k, 0],
    v: [saved.v, 0],
    att: [saved.att, 1],
    dyh: [w.dyh, 0],
    dq: [w.dq, 0],
    dk: [w.dk, 0],
    dv: [w.dv, 0],
    datt: [w.datt, 1],
  });
  const bh = s.b * s.heads, h3 = [bh, s.t, s.hd], a3 = [bh, s.t, s.t];
  const [q, k, v, att] = [saved.q.reshape(h3), saved.k.reshape(h3), saved.v.reshape(h3), saved.att.reshape(a3)];
  const [dyh, dq, dk, dv, datt] = [w.dyh, w.dq, w.dk, w.dv].map((t) => t.reshape(h3)).concat(w.datt.reshape(a3));
  const scale = 1 / Math.sqrt(s.hd);
  splitHeads(enc, dy, [dyh], s.heads);
  matmul(enc, dyh, v, datt, { transB: true });
  matmul(enc, att, dyh, dv, { transA: true });
  causalSoftmaxBackward(enc, att, datt);
  matmul(enc, datt, k, dq, { alpha: scale });
  matmul(enc, datt, q, dk, { transA: true, alpha: scale });
  mergeHeads(enc, [dq, dk, dv], dqkv, s.heads);
}

/** CPU reference of {@link attentionForward} in float64: y [B, T, C] and the probabilities att [B, H, T, T]. */
export function attentionForwardCpu(
  qkv: ArrayLike<number>,
  b: number,
  t: number,
  c: number,
  nHeads: number,
): { y: Float64Array; att: Float64Array } {
  const hd = c / nHeads, scale = 1 / Math.sqrt(hd);
  const y = new Float64Array(b * t * c), att = new Float64Array(b * nHeads * t * t);
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
        for (let j = 0; j <= i; j++) att[row + j] /= sum;
        for (let j = 0; j <= i; j++) {
          for (let d = 0; d < hd; d++) y[(bi * t + i) * c + h * hd + d] += att[row + j] * qkv[at(bi, j, 2, h) + d];
        }
      }
    }
  }
  return { y, att };
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
