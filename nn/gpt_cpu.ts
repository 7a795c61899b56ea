/**
 * A float64 CPU reference of the whole GPT model, forward and backward, written independently of the GPU path from
 * the layers' CPU references. Tests use it for the whole-model finite-difference check (float64 leaves FD error
 * far below any real bug) and to compare every GPU parameter gradient with it.
 *
 * @example
 * ```ts
 * const ref = new GptCpu(config, paramMap(model.params.entries, model.params.initialValues(rng)));
 * const cache = ref.forward(tokens, B, T);
 * const { logp } = ref.tokenLogprobs(cache, targets);
 * const grads = ref.backward(cache, { dlogp });     // Map name -> Float64Array
 * ```
 * @module
 */
import { geluCpu } from "../kernels/matmul.ts";
import { unaryDerivative } from "../kernels/elementwise.ts";
import { layernormBackwardCpu, layernormForwardCpu } from "../kernels/layernorm.ts";
import { attentionBackwardCpu, attentionForwardCpu } from "../kernels/attention.ts";
import { logitsBackwardCpu, tokenLogprobsCpu } from "../kernels/token_head.ts";
import { blockNames, type GptConfig, gptParamSpecs } from "./gpt_config.ts";
import type { ParamEntry } from "./params.ts";

/** Parameters (or gradients) by name. */
export type ParamMap = Map<string, Float64Array>;

/** Splits a flat parameter array into named float64 arrays using the size table. */
export function paramMap(entries: readonly ParamEntry[], flat: ArrayLike<number>): ParamMap {
  const out: ParamMap = new Map();
  for (const e of entries) out.set(e.name, Float64Array.from({ length: e.size }, (_, i) => flat[e.offset + i]));
  return out;
}

/** y [R, O] = x [R, I]·W [I, O] + b. */
function linear(x: ArrayLike<number>, w: Float64Array, b: Float64Array | null, r: number, i: number, o: number) {
  const y = new Float64Array(r * o);
  for (let a = 0; a < r; a++) {
    for (let c = 0; c < o; c++) {
      let s = b ? b[c] : 0;
      for (let k = 0; k < i; k++) s += x[a * i + k] * w[k * o + c];
      y[a * o + c] = s;
    }
  }
  return y;
}

/** Backward of {@link linear}: returns dx; dW and db accumulate. */
function linearBackward(
  x: ArrayLike<number>,
  w: Float64Array,
  dy: Float64Array,
  dw: Float64Array,
  db: Float64Array | null,
  r: number,
  i: number,
  o: number,
): Float64Array {
  const dx = new Float64Array(r * i);
  for (let a = 0; a < r; a++) {
    for (let c = 0; c < o; c++) {
      const g = dy[a * o + c];
      if (db) db[c] += g;
      for (let k = 0; k < i; k++) {
        dx[a * i + k] += g * w[k * o + c];
        dw[k * o + c] += x[a * i + k] * g;
      }
    }
  }
  return dx;
}

const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);

/** Everything the forward computes, as the backward needs it. */
export interface GptCpuCache {
  b: number;
  t: number;
  tokens: ArrayLike<number>;
  resid: Float64Array[];
  blocks: {
    ln1: Float64Array;
    ln1Stats: Float64Array;
    qkv: Float64Array;
    att: Float64Array;
    y: Float64Array;
    residMid: Float64Array;
    ln2: Float64Array;
    ln2Stats: Float64Array;
    h: Float64Array;
    a: Float64Array;
  }[];
  lnf: Float64Array;
  lnfStats: Float64Array;
  /** [B, T, V] when the model has an LM head. */
  logits: Float64Array | null;
  /** [B, T] when the model has a scalar head. */
  values: Float64Array | null;
}

/** The float64 reference model. */
export class GptCpu {
  constructor(readonly config: GptConfig, readonly p: ParamMap) {}

  #get(name: string): Float64Array {
    const v = this.p.get(name);
    if (!v) throw new RangeError(`GptCpu: no parameter '${name}'`);
    return v;
  }

  /** Forward of tokens [B·T] (row-major [B, T]). */
  forward(tokens: ArrayLike<number>, b: number, t: number): GptCpuCache {
    const { d, vocab, heads } = this.config, R = b * t;
    const wte = this.#get("wte"), wpe = this.#get("wpe");
    let x = new Float64Array(R * d);
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < d; j++) x[r * d + j] = wte[tokens[r] * d + j] + wpe[(r % t) * d + j];
    }
    const resid = [x], blocks: GptCpuCache["blocks"] = [];
    for (let l = 0; l < this.config.layers; l++) {
      const n = blockNames(l), P = (k: keyof typeof n) => this.#get(n[k]);
      const { y: ln1, stats: ln1Stats } = layernormForwardCpu(x, P("ln1w"), P("ln1b"), d);
      const qkv = linear(ln1, P("wqkv"), P("bqkv"), R, d, 3 * d);
      const { y, att } = attentionForwardCpu(qkv, b, t, d, heads);
      const residMid = add(x, linear(y, P("wproj"), P("bproj"), R, d, d));
      const { y: ln2, stats: ln2Stats } = layernormForwardCpu(residMid, P("ln2w"), P("ln2b"), d);
      const h = linear(ln2, P("wfc"), P("bfc"), R, d, 4 * d);
      const a = h.map(geluCpu);
      x = add(residMid, linear(a, P("wout"), P("bout"), R, 4 * d, d));
      blocks.push({ ln1, ln1Stats, qkv, att, y, residMid, ln2, ln2Stats, h, a });
      resid.push(x);
    }
    const { y: lnf, stats: lnfStats } = layernormForwardCpu(x, this.#get("lnf.w"), this.#get("lnf.b"), d);
    const wteT = new Float64Array(d * vocab); // [C, V] = wteᵀ, for the tied head
    for (let v = 0; v < vocab; v++) for (let j = 0; j < d; j++) wteT[j * vocab + v] = wte[v * d + j];
    const logits = this.config.lmHead ? linear(lnf, wteT, null, R, d, vocab) : null;
    const values = this.config.scalarHead ? linear(lnf, this.#get("head.w"), this.#get("head.b"), R, d, 1) : null;
    return { b, t, tokens, resid, blocks, lnf, lnfStats, logits, values };
  }

  /** logp, entropy and lse [B·T] of targets [B·T]. */
  tokenLogprobs(cache: GptCpuCache, targets: ArrayLike<number>) {
    if (!cache.logits) throw new RangeError("GptCpu.tokenLogprobs: no LM head");
    return tokenLogprobsCpu(cache.logits, targets, this.config.vocab);
  }

  /** Gradients of Σ dlogp·logp + Σ dvalues·values with respect to every parameter. */
  backward(
    cache: GptCpuCache,
    { dlogp, dvalues, targets }: {
      dlogp?: ArrayLike<number>;
      dvalues?: ArrayLike<number>;
      targets?: ArrayLike<number>;
    },
  ): ParamMap {
    const { d, vocab, heads, layers } = this.config, { b, t } = cache, R = b * t;
    const g: ParamMap = new Map(
      gptParamSpecs(this.config).map((s) => [s.name, new Float64Array(this.#get(s.name).length)]),
    );
    const G = (name: string) => g.get(name)!;
    let dln = new Float64Array(R * d);
    if (dlogp) {
      if (!targets) throw new TypeError("GptCpu.backward: dlogp needs targets");
      const { lse } = this.tokenLogprobs(cache, targets);
      const dlogits = logitsBackwardCpu(cache.logits!, targets, lse, dlogp, vocab);
      const wte = this.#get("wte"), dwte = G("wte");
      for (let r = 0; r < R; r++) {
        for (let v = 0; v < vocab; v++) {
          const gz = dlogits[r * vocab + v];
          for (let j = 0; j < d; j++) {
            dln[r * d + j] += gz * wte[v * d + j];
            dwte[v * d + j] += gz * cache.lnf[r * d + j];
          }
        }
      }
    }
    if (dvalues) {
      const dx = linearBackward(
        cache.lnf,
        this.#get("head.w"),
        Float64Array.from(dvalues),
        G("head.w"),
        G("head.b"),
        R,
        d,
        1,
      );
      dln = add(dln, dx);
    }
    const lf = layernormBackwardCpu(
      cache.resid[layers],
      this.#get("lnf.w"),
      cache.lnfStats,
      dln,
      null,
      G("lnf.w"),
      G("lnf.b"),
      d,
    );
    G("lnf.w").set(lf.dw);
    G("lnf.b").set(lf.db);
    let dres = lf.dx;
    for (let l = layers - 1; l >= 0; l--) {
      const n = blockNames(l), P = (k: keyof typeof n) => this.#get(n[k]), D = (k: keyof typeof n) => G(n[k]);
      const c = cache.blocks[l];
      const da = linearBackward(c.a, P("wout"), dres, D("wout"), D("bout"), R, 4 * d, d);
      const dh = da.map((v, i) => v * unaryDerivative("gelu", c.h[i]));
      const dln2 = linearBackward(c.ln2, P("wfc"), dh, D("wfc"), D("bfc"), R, d, 4 * d);
      const l2 = layernormBackwardCpu(c.residMid, P("ln2w"), c.ln2Stats, dln2, dres, D("ln2w"), D("ln2b"), d);
      D("ln2w").set(l2.dw);
      D("ln2b").set(l2.db);
      dres = l2.dx;
      const dy = linearBackward(c.y, P("wproj"), dres, D("wproj"), D("bproj"), R, d, d);
      const dqkv = attentionBackwardCpu(c.qkv, c.att, dy, b, t, d, heads);
      const dln1 = linearBackward(c.ln1, P("wqkv"), dqkv, D("wqkv"), D("bqkv"), R, d, 3 * d);
      const l1 = layernormBackwardCpu(cache.resid[l], P("ln1w"), c.ln1Stats, dln1, dres, D("ln1w"), D("ln1b"), d);
      D("ln1w").set(l1.dw);
      D("ln1b").set(l1.db);
      dres = l1.dx;
    }
    const dwte = G("wte"), dwpe = G("wpe");
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < d; j++) {
        dwte[cache.tokens[r] * d + j] += dres[r * d + j];
        dwpe[(r % t) * d + j] += dres[r * d + j];
      }
    }
    return g;
  }
}
