"""The machine's fp32 matrix-product peak: what a fit's achieved GFLOP/s is a fraction of.

Measured once per device model and thread count (the best of many 2048x2048 fp32 products
on the CPU, 8192x8192 on a GPU, over a couple of seconds), then read from a small JSON file in ``cache``
(the pipeline's is ``results/benchmarks/peak/``). The pipeline measures it before its first
job starts (:func:`before_jobs`, Snakemake's ``onstart``), so nothing of the run runs beside
it; a fit measures it itself only where that did not happen (a cluster node of another CPU
kind), and says so in its log. Delete the file to measure again.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import re
import time
from pathlib import Path

REPEATS = 5
MIN_SECONDS = 1.0  # of warm-up, then of products timed


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def cpu_model() -> str:
    """This machine's processor, as /proc/cpuinfo names it. Float results are reproducible on
    one kind of CPU only (another may take other SIMD paths), so each attempt records it."""
    return next((line.split(":", 1)[1].strip() for line in _cpuinfo()
                 if line.startswith("model name")), platform.processor() or platform.machine())


def cpu_flags() -> set[str]:
    """The CPU's feature flags (x86 ``flags``, arm64 ``Features``) from /proc/cpuinfo."""
    return {f for line in _cpuinfo() if line.lower().startswith(("flags", "features"))
            for f in line.split(":", 1)[1].split()}


def device_name(device) -> str:
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model()


def cache_file(cache: str | Path, name: str, threads: int) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "unknown"
    return Path(cache) / f"{slug}-{threads}t.json"


def measure(device="cpu", repeats: int = REPEATS, min_seconds: float = MIN_SECONDS) -> float:
    """GFLOP/s of the best fp32 product of at least ``repeats`` and ``min_seconds`` of them,
    after warming up as long (a cold thread pool, a CPU still raising its clock, or a
    neighbour's burst on a shared host would otherwise read as the machine's limit) at torch's
    current thread count. The operands are constants: no random stream is drawn from."""
    import torch

    device = torch.device(device)
    n = 8192 if device.type == "cuda" else 2048
    a = torch.full((n, n), 0.5, device=device)
    b = torch.full((n, n), 0.25, device=device)
    out = torch.empty((n, n), device=device)

    def product() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - t0

    start = time.perf_counter()
    while time.perf_counter() - start < min_seconds:  # the warm-up
        product()
    times, start = [], time.perf_counter()
    while len(times) < repeats or time.perf_counter() - start < min_seconds:
        times.append(product())
    return 2 * n ** 3 / min(times) / 1e9


def sgemm_peak(cache: str | Path, device="cpu", threads: int | None = None, log=None) -> float:
    """The cached peak GFLOP/s of ``device`` at ``threads`` (None: torch's current count),
    measured now if this machine has none yet. A lock makes jobs starting together measure
    one at a time, and the later ones read the first one's result."""
    import torch

    threads = threads or torch.get_num_threads()
    name = device_name(device)
    path = cache_file(cache, name, threads)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():
            return float(json.loads(path.read_text())["gflops"])
        if log is not None:
            log(f"no sgemm peak cached for {name} at {threads} threads: measuring it now, "
                f"beside whatever else runs (delete {path} to measure it again)")
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            gflops = round(measure(device), 2)
        finally:
            torch.set_num_threads(before)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"device": name, "threads": threads, "gflops": gflops,
                                   "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                   "torch": torch.__version__}, indent=2))
        tmp.replace(path)
    return gflops


def before_jobs(cache: str | Path, threads: int, device: str = "cpu", log=print) -> float:
    """The peak the run's fits will read, measured now if this machine has none cached (the
    pipeline calls it before any job starts). A cached CPU value is read without importing
    torch, so a run on a known machine starts as fast as before. ``auto``: the GPU where torch
    sees one (as the fits resolve it), else the CPU."""
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        path = cache_file(cache, cpu_model(), threads)
        if path.is_file():
            return float(json.loads(path.read_text())["gflops"])
    log(f"measuring this machine's fp32 sgemm peak ({device}, {threads} threads), before any "
        "job runs beside it")
    gflops = sgemm_peak(cache, device, threads)
    log(f"sgemm peak: {gflops} GFLOP/s, cached in {cache}")
    return gflops
