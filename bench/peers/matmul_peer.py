"""CPU peers of bench/kernels_bench.ts: the same matmul problems in numpy and PyTorch (float32) on this machine.

Reads a JSON object on stdin: {"threads": 2, "budget_ms": 200, "max_reps": 5, "problems": [{"m", "n", "k",
"batch", "transA", "transB"}, ...]}, with the semantics of kernels/matmul.ts (a transposed operand is stored
transposed and used through a transposed view, as BLAS takes it; batch > 1 multiplies 3-D stacks). Each problem is
timed after one warm-up run, as the fastest of as many runs as fit the budget, with the least CPU time of those runs
(all threads; a measure of efficiency that a busy machine disturbs less). Prints one JSON object: per library, its
version, threads and BLAS, and the milliseconds of each problem (or why the library is missing).

Usage: echo '{"problems": [{"m": 64, "n": 64, "k": 64}]}' | /usr/bin/python3 bench/peers/matmul_peer.py
"""
import json
import os
import platform
import re
import sys
import time


def operands(lib, p, rand):
    m, n, k, b = p["m"], p["n"], p["k"], p.get("batch", 1)
    lead = (b,) if b > 1 else ()
    a = rand(lead + ((k, m) if p.get("transA") else (m, k)))
    w = rand(lead + ((n, k) if p.get("transB") else (k, n)))
    swap = (lambda x: x.swapaxes(-1, -2)) if lib == "numpy" else (lambda x: x.transpose(-1, -2))
    return (swap(a) if p.get("transA") else a), (swap(w) if p.get("transB") else w)


def time_problems(lib, mm, rand, cfg):
    """Fastest wall time and least CPU time (all threads of this process) per problem, in ms."""
    wall, cpu = [], []
    for p in cfg["problems"]:
        a, b = operands(lib, p, rand)
        t0 = time.perf_counter()
        mm(a, b)
        first = time.perf_counter() - t0
        reps = max(1, min(cfg.get("max_reps", 5), int(cfg.get("budget_ms", 200) / 1000 / max(first, 1e-6))))
        best, best_cpu = first, float("inf")
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            mm(a, b)
            best_cpu = min(best_cpu, time.process_time() - c0)
            best = min(best, time.perf_counter() - t0)
        wall.append(best * 1000)
        cpu.append(best_cpu * 1000)
    return wall, cpu


def numpy_peer(cfg):
    try:
        import numpy as np
    except ImportError as e:
        return {"missing": f"numpy: {e}"}
    rng = np.random.default_rng(0)
    blas = "unknown"
    try:
        info = np.__config__.get_info("blas_opt_info") if hasattr(np.__config__, "get_info") else {}
        blas = ",".join(dict.fromkeys(info.get("libraries", []))) or blas
    except Exception:  # numpy 2 has no get_info
        pass
    ms, cpu = time_problems("numpy", np.matmul, lambda s: rng.standard_normal(s, dtype=np.float32), cfg)
    return {"version": np.__version__, "blas": blas, "ms": ms, "cpu_ms": cpu}


def torch_peer(cfg):
    try:
        import torch
    except ImportError as e:
        return {"missing": f"torch: {e}"}
    torch.set_num_threads(cfg.get("threads", os.cpu_count() or 1))
    blas = re.findall(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        ms, cpu = time_problems("torch", torch.matmul, lambda s: torch.randn(s, generator=g, dtype=torch.float32), cfg)
    threads = torch.get_num_threads()
    return {"version": torch.__version__, "threads": threads, "blas": ",".join(blas) or "unknown", "ms": ms, "cpu_ms": cpu}


def main():
    cfg = json.load(sys.stdin)
    # OpenBLAS reads its thread count when loaded: the same cores the WebGPU adapter gets.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(cfg.get("threads", os.cpu_count() or 1)))
    blas_lib = os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
    print(json.dumps({
        "python": platform.python_version(),
        "libblas": blas_lib if os.path.exists(blas_lib) else "unknown",
        "numpy": numpy_peer(cfg),
        "torch": torch_peer(cfg),
    }))


if __name__ == "__main__":
    main()
