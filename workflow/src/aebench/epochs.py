"""The one resumable epoch loop every training loop runs in (autoencoders, RBMs, E6 fine-tuning).

A training loop (:func:`aebench.train.fit`, :func:`aebench.rbm.train_rbm`) says what one
minibatch step and one epoch's end compute; :class:`EpochLoop` owns everything around that:

- the epoch bounds and the minibatch order (a fresh permutation per epoch from the loop's
  shuffling generator);
- its checkpoint (an :class:`aebench.checkpoint.Checkpointer` stage; by default
  :data:`NO_CHECKPOINT`, which saves nothing and never stops): loading a
  saved state, resuming mid-epoch (the permutation, the next minibatch, the loss summed so
  far), the stop-on-SIGTERM check after each minibatch and at each epoch's end, the periodic
  saves;
- each epoch's record: appended to the history (what becomes ``history.csv``) and written,
  with the stage it belongs to, to the run's progress log (:mod:`aebench.progress`).

Usage (the loop's own state is a dict of parts: modules, optimizers, schedulers, generators,
lists of buffers, or anything with ``state_dict``/``load_state_dict``)::

    loop = EpochLoop(checkpoint, name=..., n=len(x), batch_size=..., epochs=...,
                     shuffle=gen, device=device, log=log,
                     parts={"model": model, "optimizer": opt})
    with loop:                      # loads a saved state; SIGTERM now waits for a check
        for epoch in loop.epochs():
            for idx in loop.batches():
                ...; loop.running += summed_loss
            loop.end({"epoch": epoch, "train_loss": ..., "seconds": loop.seconds()}, done)
    return loop.history

A resumed loop computes exactly what the uninterrupted one would have: the saved state holds
every part, the shuffling generator, the global RNG states (input and code noise draw from
them) and the history, and the resumed epoch continues the interrupted permutation.
"""

from __future__ import annotations

import math
import random
import time
from contextlib import contextmanager
from typing import Callable

import numpy as np

from .checkpoint import Checkpointer, SharedState
from .progress import NO_PROGRESS


class NoCheckpoint(Checkpointer):
    """The default checkpointer: it saves nothing, resumes nothing and is never asked to stop
    (no SIGTERM handler), so a training loop runs the same code with or without one. Its
    stages still carry their progress labels, and the loop writes its records to ``progress``."""

    def __init__(self, *, log: Callable[[str], None] = print, progress=NO_PROGRESS):
        self._s = SharedState(None, "", math.inf, log, {}, progress)
        self.name, self.label, self.index, self.stages = "", None, None, None

    @property
    def path(self) -> None:
        return None

    def save(self, state: dict, note: str | None = None, log=None) -> None:
        pass

    def load(self) -> None:
        return None

    def has_saved(self) -> bool:
        return False

    def remove(self) -> None:
        pass

    def clear(self) -> None:
        pass

    @contextmanager
    def on_sigterm(self):
        yield self  # nothing saved to stop with: SIGTERM keeps its usual meaning


NO_CHECKPOINT = NoCheckpoint()  # the loops' default: nothing saved, no progress log


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


def _get(part):
    """A part's state: a generator's, a list of buffers' (copied on save), a module's."""
    import torch

    if isinstance(part, torch.Generator):
        return part.get_state()
    if isinstance(part, list):
        return part
    return part.state_dict()


def _set(part, state) -> None:
    import torch

    if isinstance(part, torch.Generator):
        part.set_state(state)
    elif isinstance(part, list):
        for buf, v in zip(part, state):
            buf.copy_(v)
    else:
        part.load_state_dict(state)


class EpochLoop:
    """Epochs of minibatches over ``n`` samples, resumable through ``checkpoint``.

    ``parts``: the loop's own state beside the history (model, optimizer, schedule, momentum
    buffers, early stopping, its other generators); saved and restored as a whole.
    ``shuffle``: the generator of each epoch's permutation (saved as a part too).
    """

    def __init__(self, checkpoint: Checkpointer | None, *, name: str, n: int, batch_size: int,
                 epochs: int, shuffle, device, log: Callable[[str], None], parts: dict):
        # None: a caller with no checkpointer of its own (the default is the no-op one)
        self.ck = NO_CHECKPOINT if checkpoint is None else checkpoint
        self.name, self.n, self.batch_size, self.max_epochs = name, n, batch_size, epochs
        self.device, self.log = device, log
        self.parts = {**parts, "shuffle": shuffle}
        self.history: list[dict] = []
        self.first, self.done, self._resume = 1, False, None
        self.epoch, self.running = 0, None

    # ------------------------------------------------------------------ state
    def _state(self, epoch: int, done: bool = False, in_epoch: dict | None = None) -> dict:
        """Everything the rest of the run depends on, after ``epoch`` whole epochs (and, mid
        epoch, its permutation, the next minibatch's start and the loss summed so far)."""
        return {"epoch": epoch, "done": done, "in_epoch": in_epoch, "history": self.history,
                "rng": rng_state(), "parts": {k: _get(p) for k, p in self.parts.items()}}

    def __enter__(self) -> "EpochLoop":
        saved = self.ck.load()
        if saved is not None:
            for k, p in self.parts.items():
                _set(p, saved["parts"][k])
            self.history = saved["history"]
            set_rng_state(saved["rng"])
            self.first, self._resume, self.done = (saved["epoch"] + 1, saved["in_epoch"],
                                                   saved["done"])
            resume, where = saved["in_epoch"], ""
            if resume:
                where = (f", batch {-(-resume['next'] // self.batch_size)} of epoch "
                         f"{self.first} done")
            self.log(f"[{self.name}] resuming from epoch {saved['epoch']}{where} "
                     f"(checkpoint {self.ck.path})")
        # Held until the caller's block ends: a SIGTERM after the last epoch is left to the
        # next check (the next stage's loop, or none: the job then finishes).
        self._deferring = self.ck.deferring()
        self._deferring.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._deferring.__exit__(*exc)

    # ------------------------------------------------------------------ loop
    def epochs(self):
        """The epoch numbers left to train, 1-based; stops after :meth:`end` says done."""
        import torch

        for epoch in range(self.first, 0 if self.done else self.max_epochs + 1):
            self.epoch, self._t0 = epoch, time.perf_counter()
            resume, self._resume = self._resume, None  # only the interrupted epoch resumes
            if resume is not None:
                self._perm = resume["perm"].to(self.device)
                self._start, self._before = resume["next"], resume["seconds"]
                self.running = resume["running"].to(self.device)
            else:
                self._perm = torch.randperm(self.n, generator=self.parts["shuffle"]).to(
                    self.device)
                # The loss is summed on the device and read once per epoch: no host sync
                # per step.
                self._start, self._before = 0, 0.0
                self.running = torch.zeros((), device=self.device)
            yield epoch
            if self.done:
                return

    def batches(self):
        """This epoch's minibatches (index tensors); after each step, a requested stop saves
        the epoch so far and raises :class:`aebench.checkpoint.Interrupted`."""
        bs = self.batch_size
        for i in range(self._start, self.n, bs):
            yield self._perm[i:i + bs]
            if self.ck.stop_requested:
                nxt = i + bs
                self.ck.stop(self._state(self.epoch - 1, in_epoch={
                    "perm": self._perm.cpu(), "next": nxt, "running": self.running.cpu(),
                    "seconds": self.seconds()}),
                    f"[{self.name}] epoch {self.epoch}, minibatch {-(-nxt // bs)}")

    def seconds(self) -> float:
        """The epoch's training time so far (an interrupted epoch's earlier part included)."""
        return self._before + time.perf_counter() - self._t0

    def end(self, row: dict, done: bool) -> None:
        """The epoch's end: ``row`` joins the history and the progress log; then a requested
        stop saves and raises, and a periodic save is made if one is due (``done``: the loop
        ends here, early stopping or the last epoch)."""
        self.history.append(row)
        index = self.ck.index or 1  # a stage nobody placed: the fit's only one
        self.ck.progress.write({"time": time.time(), "stage": self.ck.label or self.name,
                                "stage_index": index, "stages": max(self.ck.stages or 1, index),
                                "epochs": self.max_epochs, **row})
        self.done = done
        if self.ck.stop_requested:
            self.ck.stop(self._state(self.epoch, done),
                         f"[{self.name}] the end of epoch {self.epoch}")
        if not done and self.ck.due():
            self.ck.save(self._state(self.epoch),
                         note=f"[{self.name}] checkpoint saved after epoch {self.epoch}",
                         log=self.log)
