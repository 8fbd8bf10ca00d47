"""Checks of a run's set-up before any job: what would otherwise pass the dry run and fail
only inside the first job (a GPU that is not there, a data mirror that is not there, data
that cannot be had). The Snakefile calls them once per start (workflow/rules/common.smk);
each problem is one message naming the cause and the fix.
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import Callable, Iterable

from . import datasets, paths
from .runctl import gpus


class PreflightError(ValueError):
    """One message: the cause and the fix."""


def invoked_executor() -> str | None:
    """The executor named on snakemake's command line or in its profile ('local', 'slurm',
    ...); None when snakemake was not started from its command line (the Python API).

    Snakemake (>= 8) picks its executor only after it has read the Snakefile, so while the
    Snakefile runs ``workflow.local_exec`` is True even for ``--executor slurm``; the command
    line's parsed arguments (profiles included) are the one place that already says it."""
    frame = inspect.currentframe()  # walked by hand: inspect.stack() reads every frame's source
    while frame is not None:
        args = frame.f_locals.get("args")
        if isinstance(args, argparse.Namespace) and hasattr(args, "executor"):
            return args.executor
        frame = frame.f_back
    return None


def visible_gpus() -> int:
    """GPUs this process can use: the driver's /proc list (cheap), else torch's count (a
    driver without that list, e.g. WSL); torch is imported only in that case."""
    n = gpus.local_gpu_count()
    if n:
        return n
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # no torch, or a broken CUDA install: no usable GPU either way
        return 0


def check_device(device: str, local: bool, count: Callable[[], int] = visible_gpus) -> None:
    """`device: cuda` on a local run needs a GPU here. A cluster's GPU nodes may differ from
    the submitting host, so a run on another executor is not checked."""
    if device == "cuda" and local and count() == 0:
        raise PreflightError(
            "config: `device: cuda`, but CUDA sees no GPU on this machine (none installed, or "
            "hidden by CUDA_VISIBLE_DEVICES): set `device: auto` (CPU here, a GPU where there is "
            "one), e.g. --config device=auto, or run where a GPU is (a GPU node, or the SLURM profile)")


def check_data(names: Iterable[str], mirror: str | None, allow_download: bool, root=".",
               seeds: Iterable[int] = (0,)) -> None:
    """The data a run prepares can be had: a `data_mirror` that is set exists, and with
    downloads off and no mirror every dataset still to prepare is already here (prepared for
    every one of the run's ``seeds``, or raw files the job checks one by one) or needs
    neither (bundled, or a system package)."""
    root = Path(root)
    if mirror is not None:
        where = Path(mirror).expanduser()
        if not (root / where).is_dir():
            raise PreflightError(
                f"config: data_mirror {mirror!r} is not a directory{' here' if not where.is_absolute() else ''}: "
                "set `data_mirror` to the folder that holds MNIST/raw/*.gz and 20news-bydate/ "
                "(docs/data.md), or to null to download")
        return
    if allow_download:
        return
    raw = root / paths.raw_root()
    cached = raw.is_dir() and any(raw.iterdir())
    seeds = list(seeds)
    missing = [n for n in names if not all((root / paths.data(n, s)).exists() for s in seeds)
               and not datasets.DATASETS[n].offline()]
    if missing and not cached:
        first = next(paths.data(missing[0], s) for s in seeds
                     if not (root / paths.data(missing[0], s)).exists())
        raise PreflightError(
            f"config: `allow_download: false` with no `data_mirror`, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not prepared here yet "
            f"({first}): "
            "set `data_mirror` to a folder holding the original files (docs/data.md), or "
            "`allow_download: true`")
