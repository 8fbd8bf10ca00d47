"""Resumable training: checkpoints outside the run directory, and SIGTERM as "save, then stop".

A long fit (an autoencoder, a conv AE, a greedy stack's layers, an E6 fine-tuning) may be
stopped before it ends: a SLURM time limit or preemption, a killed session. The training
loops (:func:`aebench.train.fit`, :func:`aebench.rbm.train_rbm`, through the one epoch loop
:class:`aebench.epochs.EpochLoop`; the layer loop :func:`aebench.pretrain.greedy_stack`) take
a :class:`Checkpointer` (by default :data:`aebench.epochs.NO_CHECKPOINT`, which saves
nothing, so a loop has no checkpoint branches) and then

- save their whole state every ``interval`` seconds (default 300, or the environment
  variable ``AEBENCH_CHECKPOINT_SECONDS``) at an epoch boundary: model, optimizer, schedule,
  the early-stopping bookkeeping (best loss, best weights, epochs without progress), the
  history so far, the loop's own generators and the global torch / CUDA / numpy / Python
  RNG states, and the epoch;
- on a matching checkpoint, resume from it, so the resumed run computes exactly what the
  uninterrupted one would have (same seed, device and threads: bit-identical weights,
  history and metrics);
- on SIGTERM (what SLURM and other schedulers send before they stop a job) or SIGINT
  (Ctrl-C), save the state at the end of the current minibatch and raise :class:`Interrupted`;
- keep, beside the checkpoints, the training seconds up to the last save over the run's
  attempts (``seconds.json``): a resumed fit's ``train_seconds`` adds its earlier attempts.

A fit is a sequence of *stages*, one file each in the run's checkpoint directory
(``aebench.paths.checkpoint(model, seed)``, outside the job's output, which Snakemake
deletes when a job fails): ``pretrain.pt`` holds a stack's finished layers (saved after each
layer, so a resumed stack skips them), ``pretrain-layer2.pt`` the layer in training,
``fit.pt`` the autoencoder's fine-tuning, ``finetune.pt`` an E6 classifier's.

A stage also has its place in the fit (label, number, of how many) for the progress log.

A run's checkpoints carry a key (:mod:`aebench.checkpoint_key`): the hash of its spec, seed,
data file, the runs it builds on, device type, thread count, training code and torch version.
A checkpoint with another key (the config, code or torch changed since) is discarded with a
message in the log, never resumed from.
``aebench.runs.fit_run`` removes the directory once the run's outputs are written.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from .progress import NO_PROGRESS

DEFAULT_INTERVAL = 300.0  # seconds between periodic checkpoints
ENV_INTERVAL = "AEBENCH_CHECKPOINT_SECONDS"
# Bump when the saved state changes meaning: older checkpoints are then discarded. 2: one
# layout for every loop (aebench.epochs: the loop's parts under "parts", a "done" flag).
FORMAT = 2
MANIFEST = "checkpoint.json"
SECONDS = "seconds.json"  # the training seconds up to the last save, over the run's attempts


class Interrupted(Exception):
    """Training was asked to stop (SIGTERM, SIGINT); its state is saved. Re-running resumes it."""


def default_interval() -> float:
    v = os.environ.get(ENV_INTERVAL)
    if v is None or v == "":
        return DEFAULT_INTERVAL
    try:
        return max(0.0, float(v))
    except ValueError:
        raise ValueError(f"{ENV_INTERVAL}={v!r}: give a number of seconds") from None


# --------------------------------------------------------------------------- checkpointer


class SharedState:
    """What every stage of one run shares: the timer, the stop flag, the signal deferral."""

    def __init__(self, directory: Path | None, key: str, interval: float, log, info: dict,
                 progress):
        self.directory, self.key, self.interval, self.log, self.info, self.progress = (
            directory, key, interval, log, info, progress)
        self.last_save = self.started = time.monotonic()
        self.earlier = 0.0  # training seconds of earlier attempts, to their last save
        self.stop_requested = False
        self.signal = "SIGTERM"  # the signal that asked to stop (SIGINT: Ctrl-C)
        self.deferring = 0  # > 0 while a loop will look at stop_requested soon


class Checkpointer:
    """One run's checkpoints; :meth:`stage` gives the view a training loop saves through.

    ``interval`` seconds between periodic saves (0: every epoch; ``None``: the default,
    ``AEBENCH_CHECKPOINT_SECONDS`` or 300). :class:`aebench.epochs.EpochLoop` drives it.
    """

    def __init__(self, directory, key: str, *, interval: float | None = None,
                 log: Callable[[str], None] = print, info: dict | None = None,
                 progress=NO_PROGRESS):
        self._s = SharedState(Path(directory), key,
                              default_interval() if interval is None else float(interval), log,
                              dict(info or {}), progress)
        self.name, self.label, self.index, self.stages = "", None, None, None
        self._discard_foreign()
        try:  # a resumed run's earlier attempts (their time up to their last save)
            self._s.earlier = float(json.loads((self._s.directory / SECONDS).read_text())["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            self._s.earlier = 0.0

    @property
    def earlier_seconds(self) -> float:
        """Seconds the run's earlier attempts trained, each up to its last checkpoint (what
        came after was trained again): a resumed fit's train_seconds adds them."""
        return self._s.earlier

    # ------------------------------------------------------------------ stages
    def stage(self, name: str, *, label: str | None = None, index: int | None = None,
              stages: int | None = None) -> "Checkpointer":
        """The checkpoint of a part of the run ("pretrain", then "pretrain/layer2", ...).

        For the progress log: ``label`` (e.g. "rbm layer 2/3") and ``index`` (1-based) of the
        training stage it is, ``stages`` the fit's number of them; unset ones are inherited.
        """
        c = copy.copy(self)
        c.name = f"{self.name}/{name}" if self.name else name
        c.label = label if label is not None else self.label
        c.index = index if index is not None else self.index
        c.stages = stages if stages is not None else self.stages
        return c

    @property
    def progress(self):
        """The run's progress log (:mod:`aebench.progress`), shared by all its stages."""
        return self._s.progress

    @progress.setter
    def progress(self, log) -> None:
        self._s.progress = log

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
            raise Interrupted(f"stopped by {self._s.signal} outside a training loop; the checkpoints "
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
    def save(self, state: dict, note: str | None = None, log=None) -> None:
        """Write ``state`` atomically (a temporary file renamed over the old checkpoint), then
        ``log`` (default: the run's) the ``note``, if any (the no-op one does neither)."""
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
            _write_atomic(d / SECONDS, json.dumps(
                {"seconds": self._s.earlier + self._s.last_save - self._s.started}).encode())
        if note:
            (log or self.log)(note)

    def has_saved(self) -> bool:
        """Some stage of the run has a checkpoint to resume from (read after the foreign ones
        were discarded): the run is resumed, not fresh."""
        return self._s.directory.is_dir() and any(self._s.directory.glob("*.pt"))

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
            self.log(f"checkpoint {p} was written for another spec, seed, data, device, thread "
                     "count, training code or torch version; not resuming from it")
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
        msg = (f"stopped by {self._s.signal} at {where}; checkpoint saved to {self.path}: run the job "
               "again to resume")
        self.log(msg)
        raise Interrupted(msg)

    def raise_if_stopped(self, where: str) -> None:
        if self._s.stop_requested:
            msg = (f"stopped by {self._s.signal} after {where}; checkpoints kept in "
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
            # say so when it is the code or torch that changed (a git pull between attempts)
            now = self._s.info
            other = [f"{what} ({old[k]}, now {now[k]})" for k, what in
                     (("code", "other training code"), ("torch", "another torch version"))
                     if k in now and old.get(k) != now[k] and k in old]
            why = ("by " + " and ".join(other) if other else
                   "for another spec, seed, data, device, thread count, training code or torch "
                   "version (or unreadable)")
            self.log(f"discarding the checkpoints in {self._s.directory}: written {why}; "
                     "starting afresh")
            shutil.rmtree(self._s.directory, ignore_errors=True)

    # ------------------------------------------------------------------ signals
    @contextmanager
    def on_sigterm(self):
        """Inside, SIGTERM and SIGINT (Ctrl-C) call :meth:`request_stop`: save, then stop
        (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return

        def handler(signum, frame):
            # No logging here: the handler may run in the middle of a write to the log.
            self._s.signal = signal.Signals(signum).name
            self.request_stop()

        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


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
