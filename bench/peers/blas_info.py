"""Which BLAS (and OpenMP) a Python peer really runs, from threadpoolctl: library, version, threads and, for
OpenBLAS, the kernel it picked for this CPU ("architecture", e.g. Cooperlake for AVX-512, Haswell for AVX2).

Call it after importing numpy or torch (threadpoolctl lists the libraries loaded in the process). Also reports the
OPENBLAS_* variables the peer sees: bench/common.ts starts peers without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE,
which some machines set to hold OpenBLAS to an older kernel.
"""
import os


def blas_info():
    """{"kernels": [{"library", "version", "threads", "architecture"}...], "env": {...}} or why it is unknown."""
    env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}
    try:
        import threadpoolctl
    except ImportError as e:
        return {"kernels": None, "why": f"threadpoolctl missing ({e}); apt-get install python3-threadpoolctl",
                "env": env}
    kernels = [{"library": p.get("internal_api"), "version": p.get("version"), "threads": p.get("num_threads"),
                "architecture": p.get("architecture"), "path": p.get("filepath")}
               for p in threadpoolctl.threadpool_info()]
    return {"kernels": kernels, "env": env}


def blas_kernel(info):
    """One line for a table: e.g. 'openblas 0.3.21 Cooperlake, 2 threads'."""
    ks = [k for k in (info.get("kernels") or []) if k["library"] not in ("openmp",)]
    if not ks:
        return info.get("why", "unknown")
    return "; ".join(f"{k['library']} {k['version'] or ''} {k['architecture'] or ''}, {k['threads']} threads"
                     .replace("  ", " ") for k in ks)
