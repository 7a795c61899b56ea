"""CPU peers of bench/kernels_bench.ts: the same matmul problems in numpy and PyTorch (float32) on this machine.

Protocol, one JSON object per line: the first line on stdin is the configuration {"threads": 2, "budget_ms": 200,
"max_reps": 5}, answered by one line of information (Python, the BLAS library, and per peer its version, threads and
BLAS, or why it is missing). Then each line {"m", "n", "k", "batch", "transA", "transB"} is a problem, answered by
{"numpy": {"ms", "cpu_ms"}, "torch": {...}} (null for a missing peer). The benchmark asks right after timing the
same problem on the GPU, so both see the same load on a shared machine.

Semantics of kernels/matmul.ts: a transposed operand is stored transposed and used through a transposed view, as
BLAS takes it; batch > 1 multiplies 3-D stacks. Each problem is timed after one warm-up run, as the fastest of as
many runs as fit the budget, with the least CPU time of those runs (all threads of this process).

Usage: printf '{"threads": 2}\\n{"m": 64, "n": 64, "k": 64}\\n' | /usr/bin/python3 bench/peers/matmul_peer.py
"""
import json
import os
import platform
import re
import sys
import time

from blas_info import blas_info, blas_kernel


def load_peers(threads):
    """The available peers as {name: (matmul, random array maker, transpose, info)}, and why others are missing."""
    peers, missing = {}, {}
    try:
        import numpy as np

        rng = np.random.default_rng(0)
        peers["numpy"] = (np.matmul, lambda s: rng.standard_normal(s, dtype=np.float32),
                          lambda x: x.swapaxes(-1, -2), {"version": np.__version__})
    except ImportError as e:
        missing["numpy"] = str(e)
    try:
        import torch

        torch.set_num_threads(threads)
        g = torch.Generator().manual_seed(0)
        blas = ",".join(re.findall(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())) or "unknown"
        peers["torch"] = (torch.matmul, lambda s: torch.randn(s, generator=g, dtype=torch.float32),
                          lambda x: x.transpose(-1, -2),
                          {"version": torch.__version__, "threads": torch.get_num_threads(), "blas": blas})
    except ImportError as e:
        missing["torch"] = str(e)
    return peers, missing


def time_problem(peer, p, cfg):
    """Fastest wall time and least CPU time (all threads of this process) of one problem, in ms."""
    mm, rand, swap, _ = peer
    m, n, k, b = p["m"], p["n"], p["k"], p.get("batch", 1)
    lead = (b,) if b > 1 else ()
    a = rand(lead + ((k, m) if p.get("transA") else (m, k)))
    w = rand(lead + ((n, k) if p.get("transB") else (k, n)))
    a, w = (swap(a) if p.get("transA") else a), (swap(w) if p.get("transB") else w)
    t0 = time.perf_counter()
    mm(a, w)
    first = time.perf_counter() - t0
    reps = max(1, min(cfg.get("max_reps", 5), int(cfg.get("budget_ms", 200) / 1000 / max(first, 1e-6))))
    best, best_cpu = first, float("inf")
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        mm(a, w)
        best_cpu = min(best_cpu, time.process_time() - c0)
        best = min(best, time.perf_counter() - t0)
    return {"ms": best * 1000, "cpu_ms": best_cpu * 1000}


def main():
    cfg = json.loads(sys.stdin.readline())
    threads = cfg.get("threads", os.cpu_count() or 1)
    # OpenBLAS reads its thread count when loaded: the same cores the WebGPU adapter gets.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))
    peers, missing = load_peers(threads)
    blas_lib = os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
    info = {"python": platform.python_version(), "libblas": blas_lib if os.path.exists(blas_lib) else "unknown"}
    info.update({name: peer[3] for name, peer in peers.items()})
    info["blas_runtime"] = blas_info()
    info["blas_kernel"] = blas_kernel(info["blas_runtime"])
    info.update({name: {"missing": why} for name, why in missing.items()})
    print(json.dumps(info), flush=True)
    torch_mod = sys.modules.get("torch")
    for line in sys.stdin:
        p = json.loads(line)
        out = {name: None for name in missing}
        for name, peer in peers.items():
            if name == "torch":
                with torch_mod.no_grad():
                    out[name] = time_problem(peer, p, cfg)
            else:
                out[name] = time_problem(peer, p, cfg)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
