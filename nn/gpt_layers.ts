/**
 * The recorded forward and backward of {@link Gpt} (nn/gpt.ts), layer by layer; the backward is the forward read
 * bottom-up, as in llm.c.
 *
 * Per block (pre-LN): x1 = x + proj(attn(LN1(x))); x2 = x1 + mlp(LN2(x1)), mlp(u) = GELU(u·Wfc + bfc)·Wout + bout.
 * A residual add costs no dispatch: the stream is copied forward (a buffer copy) and the projection's matmul
 * accumulates onto it (beta = 1). The backward keeps one residual-stream gradient `dres` and every LayerNorm
 * backward adds its branch into it, so no gradient is ever copied or summed separately.
 *
 * Dispatches: forward 8 per block + 3 (embedding, final LN, LM head; +1 for a scalar head); backward 21 per block
 * + 5 (a bias gradient is a two-pass column sum once B·T > 32). An xs training step (forward, cross-entropy,
 * backward, AdamW) records 74.
 * @module
 */
import type { StepEncoder } from "../kernels/encoder.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { matmul } from "../kernels/matmul.ts";
import { unary, unaryBackward } from "../kernels/elementwise.ts";
import { embeddingBackward, embeddingForward } from "../kernels/embedding.ts";
import { layernormBackward, layernormForward } from "../kernels/layernorm.ts";
import { attentionBackward, attentionForward } from "../kernels/attention.ts";
import { colSum } from "../kernels/reduce.ts";
import { logitsBackward } from "../kernels/token_head.ts";
import type { Gpt } from "./gpt.ts";
import type { GptWorkspace } from "./gpt_workspace.ts";

/** The same elements as a matrix [rows, last dim]: the linear layers treat B·T positions as rows. */
function rows(t: Tensor): Tensor {
  const c = t.shape[t.shape.length - 1];
  return t.reshape([t.size / c, c]);
}

/** Records the forward of the tokens already copied into ws.tokens. */
export function gptForward(enc: StepEncoder, model: Gpt, ws: GptWorkspace): void {
  const { config: c, params: ps } = model;
  embeddingForward(enc, ws.tokens, ps.get("wte"), ps.get("wpe"), ws.resid[0]);
  for (let l = 0; l < c.layers; l++) {
    const { w } = model.block(l);
    // Attention branch.
    layernormForward(enc, ws.resid[l], w.ln1w, w.ln1b, ws.ln1[l], ws.ln1Stats[l]);
    matmul(enc, rows(ws.ln1[l]), w.wqkv, rows(ws.qkv[l]), { bias: w.bqkv }); // [R, 3C]
    attentionForward(enc, c.heads, ws.qkv[l], ws.y[l], ws.lse[l]);
    enc.copy(ws.resid[l], ws.residMid[l]);
    matmul(enc, rows(ws.y[l]), w.wproj, rows(ws.residMid[l]), { bias: w.bproj, beta: 1 }); // x1 = x + proj
    // MLP branch.
    layernormForward(enc, ws.residMid[l], w.ln2w, w.ln2b, ws.ln2[l], ws.ln2Stats[l]);
    matmul(enc, rows(ws.ln2[l]), w.wfc, rows(ws.h[l]), { bias: w.bfc }); // h [R, 4C]
    unary(enc, "gelu", ws.h[l], ws.a[l]);
    enc.copy(ws.residMid[l], ws.resid[l + 1]);
    matmul(enc, rows(ws.a[l]), w.wout, rows(ws.resid[l + 1]), { bias: w.bout, beta: 1 }); // x2 = x1 + mlp
  }
  layernormForward(enc, ws.resid[c.layers], ps.get("lnf.w"), ps.get("lnf.b"), ws.lnf, ws.lnfStats);
  if (ws.logits) matmul(enc, rows(ws.lnf), ps.get("wte"), rows(ws.logits), { transB: true }); // tied LM head
  if (ws.values) {
    const values = ws.values.reshape([ws.b * ws.t, 1]);
    matmul(enc, rows(ws.lnf), ps.get("head.w"), values, { bias: ps.get("head.b") });
  }
}

/** Records the backward from dlogp and/or dvalues [B, T]; accumulates into model.params.grads. */
export function gptBackward(
  enc: StepEncoder,
  model: Gpt,
  ws: GptWorkspace,
  dlogp: Tensor | undefined,
  dvalues: Tensor | undefined,
): void {
  const { config: c, params: ps } = model;
  const R = ws.b * ws.t;
  const s = ws.grad!;
  // Heads -> dln = ∂loss/∂lnf.
  if (dlogp) {
    const dlogits = rows(s.dlogits!);
    logitsBackward(enc, ws.logits!, ws.targets, ws.logitLse!, dlogp, s.dlogits!);
    matmul(enc, dlogits, ps.get("wte"), rows(s.dln)); // [R, V]·[V, C]
    matmul(enc, dlogits, rows(ws.lnf), ps.grad("wte"), { transA: true, beta: 1 }); // dwte += dlogitsᵀ·lnf
  }
  if (dvalues) {
    const dv = dvalues.reshape([R, 1]);
    matmul(enc, rows(ws.lnf), dv, ps.grad("head.w"), { transA: true, beta: 1 });
    colSum(enc, dv, ps.grad("head.b"), { accumulate: true });
    matmul(enc, dv, ps.get("head.w"), rows(s.dln), { transB: true, beta: dlogp ? 1 : 0 });
  }
  const L = c.layers;
  layernormBackward(
    enc,
    ws.resid[L],
    ps.get("lnf.w"),
    ws.lnfStats,
    s.dln,
    s.dres,
    ps.grad("lnf.w"),
    ps.grad("lnf.b"),
    false,
  );
  for (let l = L - 1; l >= 0; l--) {
    const { w, g } = model.block(l);
    // MLP branch: x2 = x1 + GELU(LN2(x1)·Wfc + bfc)·Wout + bout.
    matmul(enc, rows(s.dres), w.wout, rows(s.dh), { transB: true }); // da [R, 4C]
    matmul(enc, rows(ws.a[l]), rows(s.dres), g.wout, { transA: true, beta: 1 });
    colSum(enc, rows(s.dres), g.bout, { accumulate: true });
    unaryBackward(enc, "gelu", ws.h[l], s.dh, s.dh); // dh = da·GELU'(h), in place
    matmul(enc, rows(ws.ln2[l]), rows(s.dh), g.wfc, { transA: true, beta: 1 });
    colSum(enc, rows(s.dh), g.bfc, { accumulate: true });
    matmul(enc, rows(s.dh), w.wfc, rows(s.dln), { transB: true }); // dln2 [R, C]
    layernormBackward(enc, ws.residMid[l], w.ln2w, ws.ln2Stats[l], s.dln, s.dres, g.ln2w, g.ln2b, true);
    // Attention branch: x1 = x + attn(LN1(x))·Wproj + bproj.
    matmul(enc, rows(s.dres), w.wproj, rows(s.dy), { transB: true });
    matmul(enc, rows(ws.y[l]), rows(s.dres), g.wproj, { transA: true, beta: 1 });
    colSum(enc, rows(s.dres), g.bproj, { accumulate: true });
    attentionBackward(enc, c.heads, ws.qkv[l], ws.y[l], ws.lse[l], s.dy, s.dstat, s.dqkv);
    matmul(enc, rows(ws.ln1[l]), rows(s.dqkv), g.wqkv, { transA: true, beta: 1 });
    colSum(enc, rows(s.dqkv), g.bqkv, { accumulate: true });
    matmul(enc, rows(s.dqkv), w.wqkv, rows(s.dln), { transB: true });
    layernormBackward(enc, ws.resid[l], w.ln1w, ws.ln1Stats[l], s.dln, s.dres, g.ln1w, g.ln1b, true);
  }
  embeddingBackward(enc, ws.tokens, s.dres, ps.grad("wte"), ps.grad("wpe"));
}
