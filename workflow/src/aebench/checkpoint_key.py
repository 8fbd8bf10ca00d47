"""Which run a checkpoint was written for: its key, and the checkpointer of one (model, seed) run.

A checkpoint is resumed from only by the run it was written for: the same spec, seed, data
file, runs it builds on, device type and thread count (the same numbers are only promised on
the same device and threads), and the same checkpoint layout (:data:`aebench.checkpoint.FORMAT`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .checkpoint import FORMAT, Checkpointer


def _file_digest(path: Path, h) -> None:
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)


def run_key(spec: dict, seed: int, data_path=None, deps: dict | None = None,
            device: str = "cpu", threads: int | None = None) -> str:
    """What a checkpoint must have been written for to be resumed from: the spec, seed,
    data file (its bytes), the runs it builds on (their files' bytes), device type and
    thread count (the same numbers are only promised on the same device and threads)."""
    h = hashlib.sha256(json.dumps({"format": FORMAT, "spec": spec, "seed": int(seed),
                                   "device": str(device), "threads": threads},
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
                              "threads": threads})
