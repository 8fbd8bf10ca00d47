"""Experiments: each reads fitted models and writes long-format metrics plus figures.

An experiment is one function ``run(ctx) -> DataFrame`` registered with
:func:`experiment`; its rule in ``workflow/rules/`` names its figures. The returned frame has
columns ``model, seed, metric, value``; the gather step turns it into tables and claims.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..data import Prepared, load_prepared
from ..registry import registrar

EXPERIMENTS: dict[str, Callable[["Context"], pd.DataFrame]] = {}
COLUMNS = ["experiment", "dataset", "model", "seed", "metric", "value"]


experiment = registrar(EXPERIMENTS)  # @experiment("e1") registers an experiment function


@dataclass
class Context:
    name: str
    data_path: Path
    models: dict[str, dict[int, Path]]  # model name -> seed -> fitted model directory
    params: dict
    figures: dict[str, Path] = field(default_factory=dict)
    log: Callable[[str], None] = print
    inputs: dict[str, Path] = field(default_factory=dict)  # extra rule inputs (E10's classifier)
    _data: Prepared | None = None

    @property
    def data(self) -> Prepared:
        if self._data is None:
            self._data = load_prepared(self.data_path)
        return self._data

    def metrics_json(self, model: str, seed: int) -> dict:
        return json.loads((self.models[model][seed] / "metrics.json").read_text())

    def codes(self, model: str, seed: int) -> dict[str, np.ndarray]:
        with np.load(self.models[model][seed] / "codes.npz") as z:
            return {k: z[k] for k in z.files}

    def seeds(self, model: str) -> list[int]:
        return sorted(self.models[model])


def reconstruction_values(m: dict) -> dict[str, float]:
    """The test reconstruction figures a fitted model's metrics.json carries."""
    return {"sq_err_per_image": m["test_sq_err_per_image"], "mse_per_pixel": m["test_mse_per_pixel"],
            "n_params": m["n_params"], "train_seconds": m["train_seconds"]}


def rows(model: str, seed: int, values: dict[str, float]) -> list[dict]:
    return [{"model": model, "seed": seed, "metric": k, "value": float(v)} for k, v in values.items()]


def run(name: str, ctx: Context, out_csv: str | Path) -> pd.DataFrame:
    df = pd.DataFrame(EXPERIMENTS[name](ctx))
    df.insert(0, "experiment", name)
    df.insert(1, "dataset", Path(ctx.data_path).stem)
    df = df[COLUMNS]
    df.to_csv(out_csv, index=False)
    return df


# Importing the modules registers the experiments.
from . import (e1_reconstruction, e2_linear, e3_codes2d, e4_text_retrieval,  # noqa: E402,F401
               e5_image_retrieval)
from . import e7_variants, e9_conv, e10_generator  # noqa: E402,F401
from . import e6_pretraining, e8_rbm  # noqa: E402,F401
