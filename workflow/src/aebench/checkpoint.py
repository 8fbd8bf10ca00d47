"""Resumable training: checkpoints outside the run directory, and SIGTERM as "save, then stop".

A long fit (an autoencoder, a conv AE, a greedy stack's layers, an E6 fine-tuning) may be
stopped before it ends: a SLURM time limit or preemption, a killed session. The training
loops (:func:`aebench.train.fit`, :func:`aebench.rbm.train_rbm`, the layer loop
:func:`aebench.pretrain.greedy_stack`) take an optional :class:`Checkpointer` and then

- save their whole state every ``interval`` seconds (default 300, or the environment
  variable ``AEBENCH_CHECKPOINT_SECONDS``) at an epoch boundary: model, optimizer, schedule,
  the early-stopping bookkeeping (best loss, best weights, epochs without progress), the
  history so far, the loop's own generators and the global torch / CUDA / numpy / Python
  RNG states, and the epoch;
- on a matching checkpoint, resume from it, so the resumed run computes exactly what the
  uninterrupted one would have (same seed, device and threads: bit-identical weights,
  history and metrics);
- on SIGTERM (what SLURM and other schedulers send before they stop a job), save the state
  at the end of the current minibatch and raise :class:`Interrupted`.

A fit is a sequence of *stages*, one file each in the run's checkpoint directory
(``aebench.paths.checkpoint(model, seed)``, outside the job's output, which Snakemake
deletes when a job fails): ``pretrain.pt`` holds a stack's finished layers (saved after each
layer, so a resumed stack skips them), ``pretrain-layer2.pt`` the layer in training,
``fit.pt`` the autoencoder's fine-tuning, ``finetune.pt`` an E6 classifier's.

A run's checkpoints carry a key: the hash of its spec, seed, data file, the runs it builds
on, device type and thread count. A checkpoint with another key (the config changed since)
is discarded with a message in the log, never resumed from. ``aebench.runs.fit_run``
removes the directory once the run's outputs are written.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import shutil
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np

DEFAULT_INTERVAL = 300.0  # seconds between periodic checkpoints
ENV_INTERVAL = "AEBENCH_CHECKPOINT_SECONDS"
FORMAT = 1  # bump when the saved state changes meaning: older checkpoints are then discarded
MANIFEST = "checkpoint.json"


class Interrupted(Exception):
    """Training was asked to stop (SIGTERM); its state is saved. Re-running resumes it."""


def default_interval() -> float:
    v = os.environ.get(ENV_INTERVAL)
    if v is None or v == "":
        return DEFAULT_INTERVAL
    try:
        return max(0.0, float(v))
    except ValueError:
        raise ValueError(f"{ENV_INTERVAL}={v!r}: give a number of seconds") from None


# --------------------------------------------------------------------------- RNG states


def rng_state() -> dict:
    """The global random states a training step may draw from (input noise, code noise)."""
    import torch

    s = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
         "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def set_rng_state(s: dict) -> None:
    import torch

    torch.set_rng_state(s["torch"])
    np.random.set_state(s["numpy"])
    random.setstate(s["python"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


# --------------------------------------------------------------------------- keys


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


# --------------------------------------------------------------------------- checkpointer


class _Shared:
    """What every stage of one run shares: the timer, the stop flag, the signal deferral."""

    def __init__(self, directory: Path, key: str, interval: float, log, info: dict):
        self.directory, self.key, self.interval, self.log, self.info = (
            directory, key, interval, log, info)
        self.last_save = time.monotonic()
        self.stop_requested = False
        self.deferring = 0  # > 0 while a loop will look at stop_requested soon


class Checkpointer:
    """One run's checkpoints; :meth:`stage` gives the view a training loop saves through.

    ``interval`` seconds between periodic saves (0: every epoch; ``None``: the default,
    ``AEBENCH_CHECKPOINT_SECONDS`` or 300). The loops call :meth:`load` when they start,
    :meth:`due` at each epoch's end (then :meth:`save`), read :attr:`stop_requested` after
    each minibatch (then :meth:`stop`).
    """

    def __init__(self, directory, key: str, *, interval: float | None = None,
                 log: Callable[[str], None] = print, info: dict | None = None):
        self._s = _Shared(Path(directory), key,
                          default_interval() if interval is None else float(interval), log,
                          dict(info or {}))
        self.name = ""
        self._discard_foreign()

    # ------------------------------------------------------------------ stages
    def stage(self, name: str) -> "Checkpointer":
        """The checkpoint of a part of the run ("pretrain", then "pretrain/layer2", ...)."""
        c = copy.copy(self)
        c.name = f"{self.name}/{name}" if self.name else name
        return c

    @property
    def directory(self) -> Path:
        return self._s.directory

    @property
    def key(self) -> str:
        return self._s.key

    @property
    def path(self) -> Path:
        return self._s.directory / f"{self.name.replace('/', '-') or 'run'}.pt"

    def log(self, msg: str) -> None:
        self._s.log(msg)

    # ------------------------------------------------------------------ when
    @property
    def stop_requested(self) -> bool:
        return self._s.stop_requested

    def request_stop(self) -> None:
        """What the SIGTERM handler does: the next check of a loop saves and stops. With no
        loop running (data loading, writing the outputs), stop at once."""
        self._s.stop_requested = True
        if not self._s.deferring:
            raise Interrupted("stopped by SIGTERM outside a training loop; the checkpoints "
                              f"saved so far are kept in {self._s.directory}: re-run to resume")

    def due(self) -> bool:
        """A periodic save is due (``interval`` seconds since the last), or a stop asked for."""
        return (self._s.stop_requested
                or time.monotonic() - self._s.last_save >= self._s.interval)

    @contextmanager
    def deferring(self):
        """Inside, SIGTERM only sets :attr:`stop_requested`: the loop saves, then stops."""
        self._s.deferring += 1
        try:
            yield self
        finally:
            self._s.deferring -= 1

    # ------------------------------------------------------------------ files
    def save(self, state: dict) -> None:
        """Write ``state`` atomically (a temporary file renamed over the old checkpoint)."""
        import torch

        with self.deferring():  # a SIGTERM now must not leave half a file behind
            d = self._s.directory
            _mkdir(d)
            manifest = d / MANIFEST
            if not manifest.exists():
                _write_atomic(manifest, json.dumps({"key": self.key, "format": FORMAT,
                                                    **self._s.info}, indent=2).encode())
            tmp = self.path.with_name(self.path.name + ".part")
            with open(tmp, "wb") as f:
                torch.save({"key": self.key, "format": FORMAT, "stage": self.name,
                            "state": state}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            self._s.last_save = time.monotonic()

    def load(self) -> dict | None:
        """This stage's saved state, or None (none saved, written for another run, unreadable)."""
        import torch

        p = self.path
        if not p.exists():
            return None
        try:
            d = torch.load(p, map_location="cpu", weights_only=False)
        except Exception as e:  # a truncated file (the node died while writing) and the like
            self.log(f"checkpoint {p} is unreadable ({type(e).__name__}: {e}); not resuming "
                     "from it")
            return None
        if d.get("key") != self.key or d.get("format") != FORMAT or d.get("stage") != self.name:
            self.log(f"checkpoint {p} was written for another spec, seed, data, device or "
                     "thread count; not resuming from it")
            return None
        return d["state"]

    def remove(self) -> None:
        """Drop this stage's file (its result is in a later checkpoint)."""
        self.path.unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove the run's checkpoints (its outputs are written). In the pipeline's layout
        (``.../checkpoints/<model>/seed<k>``) the emptied ``<model>`` and ``checkpoints``
        folders go too; nothing above them."""
        d = self._s.directory
        shutil.rmtree(d, ignore_errors=True)
        parents = list(d.parents)[:2]
        if "checkpoints" not in [p.name for p in parents]:
            return
        for parent in parents:
            try:
                parent.rmdir()
            except OSError:  # not empty: another run's checkpoints
                return
            if parent.name == "checkpoints":
                return

    def stop(self, state: dict, where: str) -> None:
        """Save ``state`` and raise :class:`Interrupted` (a stop was requested)."""
        self.save(state)
        msg = (f"stopped by SIGTERM at {where}; checkpoint saved to {self.path}: run the job "
               "again to resume")
        self.log(msg)
        raise Interrupted(msg)

    def raise_if_stopped(self, where: str) -> None:
        if self._s.stop_requested:
            msg = (f"stopped by SIGTERM after {where}; checkpoints kept in "
                   f"{self._s.directory}: run the job again to resume")
            self.log(msg)
            raise Interrupted(msg)

    def _discard_foreign(self) -> None:
        manifest = self._s.directory / MANIFEST
        if not self._s.directory.exists():
            return
        try:
            old = json.loads(manifest.read_text())
        except (OSError, ValueError):
            old = {}
        if old.get("key") != self.key or old.get("format") != FORMAT:
            self.log(f"discarding the checkpoints in {self._s.directory}: written for another "
                     "spec, seed, data, device or thread count (or unreadable); starting afresh")
            shutil.rmtree(self._s.directory, ignore_errors=True)

    # ------------------------------------------------------------------ signals
    @contextmanager
    def on_sigterm(self):
        """Inside, SIGTERM calls :meth:`request_stop` (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum, frame):
            # No logging here: the handler may run in the middle of a write to the log.
            self.request_stop()

        previous = signal.signal(signal.SIGTERM, handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGTERM, previous)


def resumed(name: str, saved: dict, batch_size: int, path, log) -> None:
    """Log where a training loop picks up (the rule's log shows every resume)."""
    resume, first = saved["in_epoch"], saved["epoch"] + 1
    where = f", batch {-(-resume['next'] // batch_size)} of epoch {first} done" if resume else ""
    log(f"[{name}] resuming from epoch {saved['epoch']}{where} (checkpoint {path})")


def epoch_start(resume: dict | None, n: int, generator, device):
    """An epoch's minibatch order, first minibatch, loss summed so far and seconds spent: the
    interrupted epoch's (a resumed run), or a fresh permutation from the loop's generator."""
    import torch

    if resume is not None:
        return (resume["perm"].to(device), resume["next"], resume["running"].to(device),
                resume["seconds"])
    # The loss is summed on the device and read once per epoch: no host sync per step.
    return torch.randperm(n, generator=generator).to(device), 0, torch.zeros((), device=device), 0.0


def _mkdir(d: Path) -> None:
    """mkdir -p, retried: another job's :meth:`Checkpointer.clear` may remove an empty parent
    (``results/checkpoints/<model>``) between the creation of the parent and of ``d``."""
    for attempt in range(10):
        try:
            d.mkdir(parents=True, exist_ok=True)
            return
        except FileNotFoundError:
            if attempt == 9:
                raise


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def for_run(directory, spec: dict, seed: int, data_path, deps: dict | None, *, device: str,
            threads: int | None, interval: float | None = None, log=print) -> Checkpointer:
    """The checkpointer of one (model, seed) run, keyed by :func:`run_key`."""
    key = run_key(spec, seed, data_path, deps, device, threads)
    return Checkpointer(directory, key, interval=interval, log=log,
                        info={"model": spec.get("name"), "seed": int(seed), "device": device,
                              "threads": threads})
