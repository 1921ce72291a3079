"""Shared by the benchmark scripts: machine description and a timing loop."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> str:
    """The SIMD flags that change numerics and speed (AVX2, AVX-512, VNNI, bf16, AMX)."""
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return " ".join(w for w in wanted if w in have) or "none of " + "/".join(wanted)
    except OSError:
        pass
    return "unknown"


def machine_line() -> str:
    import torch

    return (
        f"machine: {cpu_name()} [{cpu_flags()}], {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, torch {torch.__version__}"
        + (f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "")
    )


def time_calls(fn: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    """Milliseconds of `runs` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def percentile(ms: list[float], q: float) -> float:
    s = sorted(ms)
    return s[min(len(s) - 1, int(q * len(s)))]


def summary(ms: list[float]) -> str:
    return f"median {statistics.median(ms):7.2f} ms   p90 {percentile(ms, 0.9):7.2f} ms   (n={len(ms)})"
