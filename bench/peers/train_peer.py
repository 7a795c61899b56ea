"""PyTorch peer of bench/train_bench.ts: the same GPT and the same training step and sampling on the CPU.

Model (nn/gpt.ts): token + position embeddings, pre-LayerNorm blocks (causal multi-head attention with a fused QKV
projection, GELU tanh MLP of width 4d), final LayerNorm, LM head tied to the token embedding; GPT-2 init (normal 0.02,
residual projections scaled by 1/sqrt(2 layers)). Step: forward, cross-entropy over the masked targets, backward,
global-norm clipping at 1.0 and AdamW (betas 0.9/0.95, eps 1e-5, weight decay 0.05 on matrices and embeddings), as
nn/adamw.ts. Sampling: a KV cache, one position per step for the whole batch, multinomial at temperature 1.

Protocol (bench/common.ts `startPythonPeer`): the first stdin line is the configuration, e.g.
  {"vocab":128,"ctx":64,"d":64,"layers":2,"heads":4,"batch":32,"seq":64,"threads":2,"sample_batch":64,
   "prompt_len":8,"new_tokens":32}
answered by an info line (torch version, threads, parameters); then each request line {"op": "train"} (one timed
training step) or {"op": "sample"} (one timed generation) is answered by {"ms": ...}. The benchmark alternates its
own steps with the peer's, so both see the same load on a shared machine.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

from blas_info import blas_info, blas_kernel


class Gpt(torch.nn.Module):
    def __init__(self, vocab, ctx, d, layers, heads):
        super().__init__()
        self.heads = heads
        self.wte = torch.nn.Parameter(torch.randn(vocab, d) * 0.02)
        self.wpe = torch.nn.Parameter(torch.randn(ctx, d) * 0.02)
        resid = 0.02 / math.sqrt(2 * layers)
        self.blocks = torch.nn.ModuleList()
        for _ in range(layers):
            b = torch.nn.Module()
            b.ln1 = torch.nn.LayerNorm(d, eps=1e-5)
            b.qkv = torch.nn.Linear(d, 3 * d)
            b.proj = torch.nn.Linear(d, d)
            b.ln2 = torch.nn.LayerNorm(d, eps=1e-5)
            b.fc = torch.nn.Linear(d, 4 * d)
            b.out = torch.nn.Linear(4 * d, d)
            for lin, std in ((b.qkv, 0.02), (b.proj, resid), (b.fc, 0.02), (b.out, resid)):
                torch.nn.init.normal_(lin.weight, std=std)
                torch.nn.init.zeros_(lin.bias)
            self.blocks.append(b)
        self.lnf = torch.nn.LayerNorm(d, eps=1e-5)

    def attend(self, b, x, cache=None, pos=0):
        """Causal attention of x [B, T, d]; with `cache` (k, v [B, H, ctx, hd]) x holds positions pos.. pos+T-1."""
        B, T, d = x.shape
        q, k, v = b.qkv(b.ln1(x)).split(d, dim=2)
        shape = lambda t: t.view(B, T, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = shape(q), shape(k), shape(v)
        if cache is not None:
            cache[0][:, :, pos:pos + T] = k
            cache[1][:, :, pos:pos + T] = v
            k, v = cache[0][:, :, :pos + T], cache[1][:, :, :pos + T]
        s = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        S = k.shape[2]
        mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
        s = s.masked_fill(~mask, float("-inf"))
        y = (F.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, d)
        return x + b.proj(y)

    def forward(self, tokens, caches=None, pos=0):
        T = tokens.shape[1]
        x = self.wte[tokens] + self.wpe[pos:pos + T]
        for i, b in enumerate(self.blocks):
            x = self.attend(b, x, None if caches is None else caches[i], pos)
            x = x + b.out(F.gelu(b.fc(b.ln2(x)), approximate="tanh"))
        return self.lnf(x) @ self.wte.t()  # tied LM head


def main():
    cfg = json.loads(sys.stdin.readline())
    torch.set_num_threads(cfg.get("threads", 2))
    torch.manual_seed(1)
    V, B, T = cfg["vocab"], cfg["batch"], cfg["seq"]
    model = Gpt(V, cfg["ctx"], cfg["d"], cfg["layers"], cfg["heads"])
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-5)
    tokens = torch.randint(V, (B, T))
    targets = torch.roll(tokens, -1, dims=1)
    mask = torch.ones(B, T)
    mask[:, -1] = 0

    def step():
        opt.zero_grad(set_to_none=False)
        logits = model(tokens)
        nll = F.cross_entropy(logits.view(-1, V), targets.view(-1), reduction="none")
        loss = (nll * mask.view(-1)).sum() / mask.sum()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    # Sampling with a KV cache: prompts of prompt_len, then new_tokens sampled at temperature 1.
    SB, P, N = cfg["sample_batch"], cfg["prompt_len"], cfg["new_tokens"]
    hd = cfg["d"] // cfg["heads"]

    @torch.no_grad()
    def generate():
        caches = [(torch.zeros(SB, cfg["heads"], P + N, hd), torch.zeros(SB, cfg["heads"], P + N, hd))
                  for _ in range(cfg["layers"])]
        seq = torch.randint(V, (SB, P))
        logits = model(seq, caches, 0)[:, -1]
        for i in range(N):
            nxt = torch.multinomial(F.softmax(logits, dim=-1), 1)
            seq = torch.cat([seq, nxt], dim=1)
            if i + 1 < N:
                logits = model(nxt, caches, P + i)[:, -1]
        return seq

    def timed(fn):
        t0 = time.perf_counter()
        fn()
        return {"ms": (time.perf_counter() - t0) * 1e3}

    info = {"torch": torch.__version__, "threads": torch.get_num_threads(),
            "params": sum(p.numel() for p in model.parameters()), "blas_runtime": blas_info()}
    info["blas_kernel"] = blas_kernel(info["blas_runtime"])
    print(json.dumps(info), flush=True)
    ops = {"train": step, "sample": generate}
    for line in sys.stdin:
        if not line.strip():
            continue
        op = json.loads(line).get("op")
        print(json.dumps(timed(ops[op]) if op in ops else {"error": f"unknown op {op!r}"}), flush=True)


if __name__ == "__main__":
    main()
