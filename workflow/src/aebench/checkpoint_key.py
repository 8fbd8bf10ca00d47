"""Which run a checkpoint was written for: its key, and the checkpointer of one (model, seed) run.

A checkpoint is resumed from only by the run it was written for: the same spec, seed, data
file, runs it builds on, device type and thread count (the same numbers are only promised on
the same device and threads), the same training code and torch version (:func:`code_version`:
a ``git pull`` between attempts must not resume old state with new code), and the same
checkpoint layout (:data:`aebench.checkpoint.FORMAT`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from .checkpoint import FORMAT, Checkpointer

PACKAGE = Path(__file__).resolve().parent
# What only judges, plots or manages runs: the rest of the package (and the two scripts that
# fit and prepare data) is the code a fit's numbers depend on. aebench.runctl.provenance
# compares the same files between commits.
NOT_TRAINING = ("runctl", "experiments", "claims.py", "claim_stats.py", "verdicts.py", "plots.py",
                "gather.py", "retrieval.py", "publish.py", "status.py", "readme.py")
TRAINING_SCRIPTS = ("fit.py", "prepare_data.py")  # in workflow/scripts


def training_files() -> list[Path]:
    """The training code's files, in a fixed order."""
    files = [p for p in PACKAGE.rglob("*.py")
             if p.relative_to(PACKAGE).parts[0] not in NOT_TRAINING]
    scripts = PACKAGE.parents[1] / "scripts"
    return sorted(files) + [scripts / n for n in TRAINING_SCRIPTS if (scripts / n).exists()]


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """The training code's sha256 (its files' paths and bytes: uncommitted edits count too)
    and torch's version: what a checkpoint must have been written with to be resumed."""
    import torch

    h = hashlib.sha256()
    for p in training_files():
        rel = p.relative_to(PACKAGE.parents[1]).as_posix()
        h.update(f"\0{rel}\0".encode())
        h.update(p.read_bytes())
    return {"code": h.hexdigest()[:16], "torch": torch.__version__}


def _file_digest(path: Path, h) -> None:
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)


def run_key(spec: dict, seed: int, data_path=None, deps: dict | None = None,
            device: str = "cpu", threads: int | None = None) -> str:
    """What a checkpoint must have been written for to be resumed from: the spec, seed,
    data file (its bytes), the runs it builds on (their files' bytes), device type and
    thread count (the same numbers are only promised on the same device and threads), the
    training code and torch version (:func:`code_version`)."""
    h = hashlib.sha256(json.dumps({"format": FORMAT, "spec": spec, "seed": int(seed),
                                   "device": str(device), "threads": threads, **code_version()},
                                  sort_keys=True, default=str).encode())
    if data_path is not None:
        _file_digest(Path(data_path), h)
    for name in sorted(deps or {}):
        root = Path(deps[name])
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for p in files:
            h.update(f"\0{name}/{p.relative_to(root) if root.is_dir() else p.name}\0".encode())
            _file_digest(p, h)
    return h.hexdigest()


def for_run(directory, spec: dict, seed: int, data_path, deps: dict | None, *, device: str,
            threads: int | None, interval: float | None = None, log=print) -> Checkpointer:
    """The checkpointer of one (model, seed) run, keyed by :func:`run_key`."""
    key = run_key(spec, seed, data_path, deps, device, threads)
    return Checkpointer(directory, key, interval=interval, log=log,
                        info={"model": spec.get("name"), "seed": int(seed), "device": device,
                              "threads": threads, **code_version()})
