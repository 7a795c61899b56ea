/**
 * The bookkeeping of one decode step of batched sampling (nn/sampler.ts), on the GPU so generation needs no queue
 * round trip per token: after the model consumed position `pos` of every sequence and a token was sampled per row
 * (kernels/sample.ts), row b
 *
 * - is still reading its prompt when pos + 1 < promptLen[b]: the sample is ignored (teacher forcing; the prompt token
 *   already sits at pos + 1);
 * - is finished (it emitted EOS, or reached max new tokens or the end of the buffer): nothing changes, so the rest
 *   of the row stays PAD with mask 0, as it was initialised;
 * - otherwise takes the sampled id as response token k = pos + 1 − promptLen[b]: tokens[b, pos+1] = targets[b, pos] =
 *   id, logp[b, pos] and behaviourLogp[b, pos] its log-probabilities, mask[b, pos] = 1 (the transformer's
 *   convention: position t scores the token at t + 1), responseLen[b] = k + 1, lastIndex[b] = pos + 1; the row is
 *   finished when id = EOS (terminated[b] = 1) or k + 1 = maxNew or pos + 2 = T (truncated: terminated stays 0).
 *
 * It also writes the EOS column of the per-row forbidden-token mask for the next step: EOS is forbidden while a row
 * has fewer than minNew response tokens (Hugging Face's min_new_tokens, which ReaLHF's generator follows; PAPER.md
 * §9.6 warns against min = max, which makes every response truncated).
 *
 * The state lives in two buffers laid out by {@link decodeLayout}: u32 `seq` (tokens, targets, responseLen,
 * lastIndex, done) and f32 `out` (logp, behaviourLogp, mask, terminated), each part at a 256-byte boundary so it can
 * be bound on its own by the training losses. One invocation per row.
 *
 * @example
 * ```ts
 * const lay = decodeLayout(B, T);
 * decodeCommit(enc, { ids, behaviourLogp, logp, promptLen }, { seq, out, forbid }, lay,
 *   { pos, vocab, eos, minNew, maxNew });
 * ```
 * @module
 */
import type { StepEncoder } from "./encoder.ts";
import { FLAT_ID_WGSL, grid1d, kernel } from "./kernel.ts";
import type { Tensor } from "./tensor.ts";

const WG = 64;
const A = (n: number) => Math.ceil(n / 64) * 64;

/** Element offsets of the parts of the decode state for B rows of width T. */
export interface DecodeLayout {
  b: number;
  t: number;
  /** In the u32 buffer: tokens [B, T], targets [B, T], responseLen [B], lastIndex [B], done [B]. */
  seq: { tokens: number; targets: number; responseLen: number; lastIndex: number; done: number; total: number };
  /** In the f32 buffer: logp [B, T], behaviourLogp [B, T], mask [B, T], terminated [B]. */
  out: { logp: number; behaviourLogp: number; mask: number; terminated: number; total: number };
}

/** The layout of the decode state of B rows of width T. */
export function decodeLayout(b: number, t: number): DecodeLayout {
  const bt = A(b * t), bb = A(b);
  return {
    b,
    t,
    seq: {
      tokens: 0,
      targets: bt,
      responseLen: 2 * bt,
      lastIndex: 2 * bt + bb,
      done: 2 * bt + 2 * bb,
      total: 2 * bt + 3 * bb,
    },
    out: { logp: 0, behaviourLogp: bt, mask: 2 * bt, terminated: 3 * bt, total: 3 * bt + bb },
  };
}

const commitK = kernel({
  name: "decode_commit",
  buffers: {
    ids: "read:u32",
    blogp_s: "read",
    logp_s: "read",
    plen: "read:u32",
    seq: "rw:u32",
    out: "rw",
    forbid: "rw:u32",
  },
  params: {
    b: "u32",
    t: "u32",
    pos: "u32",
    v: "u32",
    eos: "u32",
    min_new: "u32",
    max_new: "u32",
    tgt: "u32",
    len: "u32",
    last: "u32",
    done: "u32",
    blogp: "u32",
    mask: "u32",
    term: "u32",
  },
  code: FLAT_ID_WGSL + /* wgsl */ `
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let b = flat_id(g, nw, ${WG}u);
  if (b >= p.b) { return; }
  let pl = plen[b];
  let nxt = p.pos + 1u; // the position the sampled token would take
  // EOS mask of the next step, whose token (at nxt + 1) is response token nxt + 1 - pl.
  forbid[b * p.v + p.eos] = select(0u, 1u, nxt + 1u < pl + p.min_new);
  if (nxt < pl) { return; } // still reading the prompt
  if (seq[p.done + b] != 0u) { return; } // finished: the row stays PAD with mask 0
  let k = nxt - pl;
  let id = ids[b];
  let row = b * p.t;
  seq[row + nxt] = id;
  seq[p.tgt + row + p.pos] = id;
  out[row + p.pos] = logp_s[b];
  out[p.blogp + row + p.pos] = blogp_s[b];
  out[p.mask + row + p.pos] = 1.0;
  seq[p.len + b] = k + 1u;
  seq[p.last + b] = nxt;
  if (id == p.eos) {
    seq[p.done + b] = 1u;
    out[p.term + b] = 1.0;
  } else if (k + 1u >= p.max_new || nxt + 1u >= p.t) {
    seq[p.done + b] = 1u;
  }
}`,
});

/** What one step sampled, per row (kernels/sample.ts outputs), and the prompt lengths. */
export interface CommitInputs {
  /** u32 [B] sampled ids. */
  ids: Tensor;
  /** [B] log q(id) under the distribution sampled from. */
  behaviourLogp: Tensor;
  /** [B] log softmax(logits)[id] at temperature 1. */
  logp: Tensor;
  /** u32 [B] prompt lengths. */
  promptLen: Tensor;
}

/** The decode state: `seq` u32 and `out` f32 laid out by {@link decodeLayout}; `forbid` u32 [B, V]. */
export interface CommitState {
  seq: Tensor;
  out: Tensor;
  forbid: Tensor;
}

/** Scalars of one step. */
export interface CommitParams {
  /** The position the model just consumed. */
  pos: number;
  vocab: number;
  eos: number;
  minNew: number;
  maxNew: number;
}

/** Records the bookkeeping of decode step `pos` (1 dispatch); see the module doc. */
export function decodeCommit(
  enc: StepEncoder,
  i: CommitInputs,
  s: CommitState,
  lay: DecodeLayout,
  c: CommitParams,
): void {
  const fn = "decodeCommit", { b, t } = lay;
  for (
    const [name, x, dt] of [
      ["ids", i.ids, "u32"],
      ["behaviourLogp", i.behaviourLogp, "f32"],
      ["logp", i.logp, "f32"],
      ["promptLen", i.promptLen, "u32"],
    ] as const
  ) {
    if (x.dtype !== dt || x.size !== b) throw new RangeError(`${fn}: ${name} ('${x.label}') must be ${dt} [B=${b}]`);
  }
  if (s.seq.dtype !== "u32" || s.seq.size < lay.seq.total) {
    throw new RangeError(`${fn}: seq must be u32 with at least ${lay.seq.total} values, got ${s.seq.size}`);
  }
  if (s.out.dtype !== "f32" || s.out.size < lay.out.total) {
    throw new RangeError(`${fn}: out must be f32 with at least ${lay.out.total} values, got ${s.out.size}`);
  }
  if (s.forbid.dtype !== "u32" || s.forbid.size !== b * c.vocab) {
    throw new RangeError(`${fn}: forbid must be u32 [B=${b}, V=${c.vocab}], got ${s.forbid.dtype} [${s.forbid.shape}]`);
  }
  if (!(Number.isInteger(c.pos) && c.pos >= 0 && c.pos + 1 < t)) {
    throw new RangeError(`${fn}: pos must be an integer in [0, T−1=${t - 1}), got ${c.pos}`);
  }
  if (!(Number.isInteger(c.eos) && c.eos >= 0 && c.eos < c.vocab)) {
    throw new RangeError(`${fn}: eos must be a token id in [0, ${c.vocab}), got ${c.eos}`);
  }
  if (!(Number.isInteger(c.maxNew) && c.maxNew >= 1 && Number.isInteger(c.minNew) && c.minNew >= 0)) {
    throw new RangeError(`${fn}: maxNew must be an integer >= 1 and minNew >= 0, got ${c.maxNew} and ${c.minNew}`);
  }
  enc.dispatch(commitK, {
    ids: i.ids,
    blogp_s: i.behaviourLogp,
    logp_s: i.logp,
    plen: i.promptLen,
    seq: s.seq,
    out: s.out,
    forbid: s.forbid,
  }, {
    b,
    t,
    pos: c.pos,
    v: c.vocab,
    eos: c.eos,
    min_new: c.minNew,
    max_new: c.maxNew,
    tgt: lay.seq.targets,
    len: lay.seq.responseLen,
    last: lay.seq.lastIndex,
    done: lay.seq.done,
    blogp: lay.out.behaviourLogp,
    mask: lay.out.mask,
    term: lay.out.terminated,
  }, grid1d(b, WG));
}

/** The decode state on the CPU, laid out as on the GPU. */
export interface CommitStateCpu {
  seq: Uint32Array;
  out: Float32Array;
  forbid: Uint32Array;
}

/** CPU reference of {@link decodeCommit}: updates `s` in place from the step's ids and log-probs. */
export function decodeCommitCpu(
  i: {
    ids: ArrayLike<number>;
    behaviourLogp: ArrayLike<number>;
    logp: ArrayLike<number>;
    promptLen: ArrayLike<number>;
  },
  s: CommitStateCpu,
  lay: DecodeLayout,
  c: CommitParams,
): void {
  const { b: B, t: T, seq: q, out: o } = lay;
  for (let b = 0; b < B; b++) {
    const pl = i.promptLen[b], nxt = c.pos + 1;
    s.forbid[b * c.vocab + c.eos] = nxt + 1 < pl + c.minNew ? 1 : 0;
    if (nxt < pl || s.seq[q.done + b] !== 0) continue;
    const k = nxt - pl, id = i.ids[b], row = b * T;
    s.seq[q.tokens + row + nxt] = id;
    s.seq[q.targets + row + c.pos] = id;
    s.out[o.logp + row + c.pos] = i.logp[b];
    s.out[o.behaviourLogp + row + c.pos] = i.behaviourLogp[b];
    s.out[o.mask + row + c.pos] = 1;
    s.seq[q.responseLen + b] = k + 1;
    s.seq[q.lastIndex + b] = nxt;
    if (id === c.eos) {
      s.seq[q.done + b] = 1;
      s.out[o.terminated + b] = 1;
    } else if (k + 1 >= c.maxNew || nxt + 1 >= T) s.seq[q.done + b] = 1;
  }
}
