"""A fit's weight-matrix work: FLOP per sample of each training loop, and their tally per fit.

What is counted is the arithmetic of the layers' weight matrices (matrix products and
convolutions, 2 FLOP per multiply-add), the part that a machine's sgemm peak bounds; the
elementwise work (activations, losses, the optimizer, sampling) is left out. Counts come from
:class:`torch.utils.flop_counter.FlopCounterMode` run on one sample of zeros, on a deep copy
of the model in eval mode, so the count is exactly what autograd computes (no gradient for
the data's own layer input, tied decoders' and count inputs' ``F.linear`` included) and the
trained model, its mode and the random streams are left alone:

- :func:`net_flop`: a torch-trained net (autoencoder, conv AE, E6 classifier): per training
  sample, forward and backward of ``model(x)``; per validated sample, the forward.
- :func:`rbm_flop`: an RBM's CD-1 step (:meth:`aebench.rbm_models.RBM.cd1_gradients`, its
  five matrix products) and its validation's mean-field reconstruction.

The training loops (:func:`aebench.train.fit`, :func:`aebench.rbm.train_rbm`) :func:`record`
a :class:`LoopWork` when they end; :func:`aebench.runs.fit_run` collects them in a
:class:`Tally` and writes ``cost.json``. The tally is kept in a file beside the fit's
checkpoints, so a resumed fit still counts the layers an earlier attempt finished (a resumed
stack skips them and their loops never run again).
"""

from __future__ import annotations

import contextvars
import copy
import json
from dataclasses import asdict, dataclass
from pathlib import Path

COST_FILE = "cost.json"  # in a run directory: the fit's work and speed (Tally.summary)


@dataclass(frozen=True)
class LoopWork:
    """One training loop's work: ``epochs`` passes over its training samples, each followed
    by a forward pass over its validation samples; ``seconds``: its epochs' summed time."""

    stage: str
    epochs: int
    train_samples: int  # all epochs together
    val_samples: int
    train_flop_per_sample: int
    eval_flop_per_sample: int
    seconds: float

    @property
    def flop(self) -> int:
        return (self.train_samples * self.train_flop_per_sample
                + self.val_samples * self.eval_flop_per_sample)


def _count(fn) -> int:
    """FLOP of ``fn()`` (matrix products and convolutions), with the global RNG states put
    back afterwards: nothing counted here may shift a later draw."""
    from torch.utils.flop_counter import FlopCounterMode

    from .epochs import rng_state, set_rng_state

    saved = rng_state()
    try:
        with FlopCounterMode(display=False) as counter:
            fn()
        return int(counter.get_total_flops())
    finally:
        set_rng_state(saved)


def net_flop(model, sample_shape: tuple[int, ...]) -> tuple[int, int]:
    """(training, evaluation) FLOP per sample of ``model(x)`` for inputs of ``sample_shape``
    (one sample's shape, without the batch dimension)."""
    import torch

    # A CPU copy: the model's own device, mode, buffers (a conv AE's pooling switches) and
    # gradients stay as they are; the count does not depend on the device.
    net = copy.deepcopy(model).cpu().eval()
    x = torch.zeros((1, *sample_shape))

    def forward():
        with torch.no_grad():
            net(x)

    def step():
        net(x).sum().backward()

    return _count(step), _count(forward)


def rbm_flop(rbm) -> tuple[int, int]:
    """(training, evaluation) FLOP per sample of an RBM: a CD-1 step, and the mean-field
    reconstruction its validation error is computed from."""
    import torch

    r = copy.deepcopy(rbm).cpu()
    v = torch.zeros((1, r.weight.shape[1]))
    gen = torch.Generator().manual_seed(0)  # its own: the sampling draws from no global stream
    with torch.no_grad():
        return _count(lambda: r.cd1_gradients(v, gen)), _count(lambda: r.reconstruction_error(v))


def loop_work(stage: str, history: list[dict], n_train: int, n_val: int,
              per_sample: tuple[int, int]) -> LoopWork:
    """A finished loop's work from its history (one row per epoch, resumed epochs included)."""
    epochs = len(history)
    return LoopWork(stage, epochs, epochs * n_train, epochs * n_val, per_sample[0],
                    per_sample[1], float(sum(r.get("seconds", 0.0) for r in history)))


# --------------------------------------------------------------------------- tally

_ACTIVE: contextvars.ContextVar["Tally | None"] = contextvars.ContextVar("aebench_tally",
                                                                         default=None)


def active() -> bool:
    """A fit's tally is open: only then is a loop's work worth counting."""
    return _ACTIVE.get() is not None


def record(work: LoopWork) -> None:
    """Add a finished loop's work to the fit's tally (none open: a loop run outside a fit)."""
    tally = _ACTIVE.get()
    if tally is not None:
        tally.add(work)


class Tally:
    """The loops of one fit, by stage (a stage recorded again, a loop resumed after it had
    finished, replaces its earlier record). ``path``: a JSON-lines file that keeps the
    records across attempts; ``resume``: keep what it holds (else it is started afresh)."""

    def __init__(self, path: str | Path | None = None, *, resume: bool = False):
        self.path = None if path is None else Path(path)
        self.loops: dict[str, LoopWork] = {}
        if self.path is not None and resume and self.path.is_file():
            for line in self.path.read_text().splitlines():
                if line.strip():
                    w = LoopWork(**json.loads(line))
                    self.loops[w.stage] = w
        elif self.path is not None:
            self.path.unlink(missing_ok=True)

    def add(self, work: LoopWork) -> None:
        self.loops[work.stage] = work
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(json.dumps(asdict(work)) + "\n")

    def __enter__(self) -> "Tally":
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.reset(self._token)

    def summary(self, peak_gflops: float | None = None) -> dict:
        """What ``cost.json`` holds: the fit's FLOP, samples and loop seconds, its achieved
        GFLOP/s and, given the machine's sgemm peak, the fraction of it; each stage's work."""
        loops = list(self.loops.values())
        flop = sum(w.flop for w in loops)
        seconds = sum(w.seconds for w in loops)
        gflops = flop / seconds / 1e9 if seconds > 0 else None
        return {"flop": flop, "train_samples": sum(w.train_samples for w in loops),
                "val_samples": sum(w.val_samples for w in loops),
                "loop_seconds": round(seconds, 3),
                "gflops": None if gflops is None else round(gflops, 3),
                "peak_gflops": peak_gflops,
                "fraction_of_peak": (round(gflops / peak_gflops, 4)
                                     if gflops is not None and peak_gflops else None),
                "stages": [{**asdict(w), "flop": w.flop} for w in loops]}


def read_cost(run_dir: str | Path) -> dict | None:
    """A run's cost.json (None for a closed-form fit, or a run made before fits recorded it).
    Light to import (no torch): run management reads it for jobs.csv."""
    p = Path(run_dir) / COST_FILE
    return json.loads(p.read_text()) if p.is_file() else None
