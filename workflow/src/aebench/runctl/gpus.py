"""Where training runs: how many GPUs a training job asks for, decided without torch.

The Snakefile calls this on every start, and importing torch there would add seconds to
every no-op re-run, so the GPU count comes from the NVIDIA driver's /proc entry and
``CUDA_VISIBLE_DEVICES`` instead of ``torch.cuda``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

NVIDIA_PROC = "/proc/driver/nvidia/gpus"


def local_gpu_count(proc: str | Path = NVIDIA_PROC, env: Mapping[str, str] = os.environ) -> int:
    """GPUs this process could use: the driver's list, cut down by CUDA_VISIBLE_DEVICES."""
    proc = Path(proc)
    n = sum(1 for _ in proc.iterdir()) if proc.is_dir() else 0
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        # "" or "-1" hide every GPU; otherwise a comma-separated list of ids.
        ids = [v for v in visible.split(",") if v.strip() and v.strip() != "-1"]
        n = min(n, len(ids))
    return n


def training_gpus(device: str, gpu: int | str, local_gpus: int | None = None) -> int:
    """GPUs one training job asks for (0 or 1) from the config's `device` and `gpu`.

    `gpu: auto` means one GPU per training job when this machine has a GPU and the device is
    not forced to cpu. On a cluster whose submit node has no GPU, set `gpu: 1` explicitly.
    """
    if gpu == "auto":
        if device == "cpu":
            return 0
        if device == "cuda":
            return 1
        return 1 if (local_gpu_count() if local_gpus is None else local_gpus) > 0 else 0
    return int(gpu)
