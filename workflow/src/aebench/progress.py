"""A fit's progress log: one JSON object a line per trained epoch, appended while it trains.

The one source of a running fit's progress (``aebench.paths.progress(model, seed)``, read by
``aebench status``): each line is an epoch's history row (what becomes ``history.csv``:
``epoch``, the loss values, ``lr``, ``seconds``) with the fit's stage around it (``time``,
unix seconds; ``stage``, a human label; ``stage_index``, 1-based, of ``stages``; ``epochs``,
the stage's maximum), written at each epoch's end (:meth:`aebench.epochs.EpochLoop.end`) to
the log its checkpointer holds (:attr:`aebench.checkpoint.Checkpointer.progress`; by default
:data:`NO_PROGRESS`, which writes nothing). A fresh fit truncates the file; a resumed
one appends, so the epochs a killed run trained after its last checkpoint appear again (the
later line is the one that counts).
"""

from __future__ import annotations

import json
from pathlib import Path


class ProgressLog:
    def __init__(self, path, *, append: bool):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not append:
            self.path.write_text("")

    def write(self, record: dict) -> None:
        # Opened per epoch, not held: each line is on disk (closed, so flushed) when a reader
        # looks, and a killed job leaves whole lines behind.
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


class _NoProgress:
    def write(self, record: dict) -> None:
        pass


NO_PROGRESS = _NoProgress()  # a fit outside the pipeline (tests, notebooks) logs nowhere
