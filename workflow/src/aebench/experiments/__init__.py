"""Experiments: each is one module of this package, found without an import list.

A module defines one :class:`Experiment` subclass: its config name and title, its settings
(a ``Params`` dataclass: it validates ``experiments.<name>`` in the config and generates its
schema block), the models it reads (configured ones, or ones it derives, like E6's
classifiers), its report entries (table caption, figures with captions) and ``run(ctx)``,
which reads the fitted runs and returns rows ``model, seed, metric, value``. Its claims sit
in ``workflow/claims/<name>.yaml``. One generic rule runs any experiment, and the gather step
and the report pick it up: adding an experiment is its module, its config entry and its
claims. Modules import torch, plots and the like inside ``run``: the workflow imports them
all on every start to check the config.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np
import pandas as pd

from ..registry import Registry

EXPERIMENTS = Registry("experiment")  # name -> its Experiment instance, in lecture order
PREVIEW = "preview.npz"  # the arrays of a run's codes.npz its publication keeps
COLUMNS = ["experiment", "dataset", "model", "seed", "metric", "value"]
FIGURE_SPACE = "\u2007"  # as wide as a digit: "E 2" sorts before "E10" in the report menu


class Experiment:
    name: ClassVar[str]
    title: ClassVar[str]  # shown after the id, e.g. "PCA vs deep AE"
    lecture: ClassVar[str] = ""  # e.g. "slides 2-4"
    Params: ClassVar[type]
    table_caption: ClassVar[str] = ""
    figures: ClassVar[dict[str, str]] = {}  # file name in the figures directory -> caption
    threads: ClassVar[str | int] = 1  # "baseline": config threads.baseline
    resources: ClassVar[dict] = {"mem_mb": 4000, "runtime": 60}
    # What run(ctx) reads of its runs. None: anything, models included. A tuple: their
    # metrics.json and these small arrays of codes.npz only (ctx.load refuses, ctx.codes gives
    # just these), which a run's publication keeps (preview.npz): a run resumed with
    # `restore_from` on a machine that lost results/ copies such runs back instead of training
    # them again (aebench.runctl.restore.restore_plan).
    reads: ClassVar[tuple[str, ...] | None] = None
    # The kind of dataset ("text", "image") it may also be run and judged on besides its own:
    # config `experiments.<name>.also_on: [<dataset>, ...]` fits a copy of each of its models
    # on each (:func:`copy_name`), and run(ctx) measures them too, each on its own data
    # (ctx.data_of(seed, dataset)), its rows carrying that dataset. None: not offered. Only
    # for an experiment without `evaluate` (that step reads the experiment's own dataset).
    other_data_kind: ClassVar[str | None] = None

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        EXPERIMENTS.add(cls.name, cls())

    @property
    def number(self) -> int:
        m = re.match(r"e(\d+)", self.name)
        return int(m.group(1)) if m else 10**6

    @property
    def category(self) -> str:
        """The report category: id (padded so that E2 sorts before E10) and title."""
        n = str(self.number) if self.number < 10**6 else self.name
        return f"E{n.rjust(2, FIGURE_SPACE)} {self.title}"

    def caption_values(self, p) -> dict:
        """Extra values for the captions' ``str.format`` fields (``{p.<field>}`` is always there)."""
        return {}

    def models(self, p) -> list[str]:
        """Every model it reads: ``reference`` and ``models`` when its Params have them."""
        return list(dict.fromkeys([*([p.reference] if getattr(p, "reference", None) else []),
                                   *getattr(p, "models", [])]))

    def derived_models(self, p, config: dict) -> dict[str, "ModelSpec"]:
        """The models this experiment defines itself, built from its parsed settings ``p``
        (``config``: the raw config, for the dataset names)."""
        return {}

    def check(self, p, cfg) -> None:
        """Cross-references the schema cannot see; raise ValueError."""

    def run(self, ctx: "Context") -> list[dict]:
        raise NotImplementedError

    def evaluate(self, ctx: "Context", model: str, seed: int) -> "Evaluation":
        """Optional: what the experiment measures on one fitted run, as its own cached step
        (rule evaluate: one per model and seed). An experiment that has it sees in run(ctx)
        only these evaluations (ctx.evaluation), which are small: a run spread over machines
        publishes and restores them, so that its fits need not all finish on one machine."""
        raise NotImplementedError

    @property
    def evaluates(self) -> bool:
        return type(self).evaluate is not Experiment.evaluate


def copy_name(model: str, dataset: str) -> str:
    """The copy of ``model`` fitted on ``dataset`` (``also_on``): text_ae10.20news_headers."""
    return f"{model}.{dataset}"


def subset_of_models(p, key: str) -> None:
    """A Params key that names a subset of the experiment's models."""
    names = [*getattr(p, "models", [])]
    stray = [m for m in getattr(p, key) if m not in names]
    if stray:
        raise ValueError(f"{key} names {stray}, which are not among its models {names}")


@dataclass
class Evaluation:
    """One run's measurements (metric -> value, in the order the table shows them) and the
    few small arrays its experiment's figures need."""
    values: dict[str, float]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def save(self, directory) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(d / "arrays.npz", **self.arrays)
        # last: its presence says the evaluation is whole (aebench.runctl.survey)
        (d / "values.json").write_text(json.dumps({k: float(v) for k, v in self.values.items()}, indent=1))

    @classmethod
    def load(cls, directory) -> "Evaluation":
        d = Path(directory)
        with np.load(d / "arrays.npz") as z:
            arrays = {k: z[k] for k in z.files}
        return cls(json.loads((d / "values.json").read_text()), arrays)


EVALUATION_FILES = ("values.json", "arrays.npz")


@dataclass
class Context:
    name: str
    # seed -> the prepared data that seed's runs were fitted on (each seed draws its own
    # subsets and validation split); one path: the same data for every seed (one seed's step)
    data_path: Path | dict[int, Path]
    models: dict[str, dict[int, Path]]  # model name -> seed -> run directory
    params: object  # the experiment's Params
    figures_dir: Path
    device: str = "cpu"
    log: Callable[[str], None] = print
    reads: tuple[str, ...] | None = None  # the experiment's `reads`
    _data: object = None  # given: the data of every seed (tests)
    # "val": a development run; load_prepared puts the validation split where test was
    judge_split: str = "test"
    _by_seed: dict = field(default_factory=dict)

    def data_of(self, seed: int, dataset: str | None = None):
        """The data seed ``seed``'s runs were fitted on: measure them on this one only.
        ``dataset``: another dataset's (``also_on``), beside the experiment's own in the same
        layout: results/data/<dataset>/seed<k>.npz (a single file: <dataset>.npz beside it)."""
        if dataset == self.dataset:
            dataset = None
        if self._data is not None and dataset is None:
            return self._data
        path = self.data_path
        if isinstance(path, dict):
            if seed not in path:
                raise KeyError(f"{self.name}: no prepared data for seed {seed} "
                               f"(have seeds {sorted(path)})")
            path = path[seed]
        if dataset is not None:
            path = Path(path)
            path = (path.parent / f"{dataset}.npz" if isinstance(self.data_path, (str, Path))
                    else path.parent.parent / dataset / path.name)
        if path not in self._by_seed:
            from ..datasets import load_prepared

            self._by_seed[path] = load_prepared(path, self.judge_split)
        return self._by_seed[path]

    @property
    def data(self):
        """The data when there is one for all the context's seeds; else name it: data_of(seed)."""
        if self._data is None and isinstance(self.data_path, dict):
            if len(self.data_path) != 1:
                raise RuntimeError(f"{self.name}: each seed has its own data here; use "
                                   "ctx.data_of(seed)")
            return self.data_of(next(iter(self.data_path)))
        return self.data_of(0)

    @property
    def dataset(self) -> str:
        """The dataset's name: results/data/<dataset>/seed<k>.npz, or a single file's stem."""
        if isinstance(self.data_path, dict):
            return Path(next(iter(self.data_path.values()))).parent.name
        return Path(self.data_path).stem

    def figure(self, name: str) -> Path:
        self.figures_dir.mkdir(parents=True, exist_ok=True)
        return self.figures_dir / name

    def metrics_json(self, model: str, seed: int) -> dict:
        return json.loads((self.models[model][seed] / "metrics.json").read_text())

    def history(self, model: str, seed: int) -> pd.DataFrame | None:
        """The run's per-epoch history.csv (None where a restored run came without it)."""
        path = self.models[model][seed] / "history.csv"
        return pd.read_csv(path) if path.exists() else None

    def codes(self, model: str, seed: int) -> dict[str, np.ndarray]:
        run = self.models[model][seed]
        if self.reads is None:
            with np.load(run / "codes.npz") as z:
                return {k: z[k] for k in z.files}
        # a run copied back from a published one has only its preview
        with np.load(run / ("codes.npz" if (run / "codes.npz").exists() else PREVIEW)) as z:
            return {k: z[k] for k in self.reads if k in z.files}

    def load(self, model: str, seed: int):
        from ..kinds import load_run

        if self.reads is not None:
            raise RuntimeError(f"{self.name} declares `reads`, so its runs may be restored "
                               "without their models: it cannot load one; set reads = None "
                               "in its module")
        return load_run(self.models[model][seed])

    def evaluation(self, model: str, seed: int) -> Evaluation:
        """An evaluating experiment's step: its runs are the evaluations (rule evaluate)."""
        return Evaluation.load(self.models[model][seed])

    def seeds(self, model: str) -> list[int]:
        return sorted(self.models[model])


def reconstruction_values(m: dict) -> dict[str, float]:
    """The test reconstruction figures a fitted model's metrics.json carries."""
    return {"sq_err_per_image": m["test_sq_err_per_image"], "mse_per_pixel": m["test_mse_per_pixel"],
            "n_params": m["n_params"], "train_seconds": m["train_seconds"]}


def rows(model: str, seed: int, values: dict[str, float]) -> list[dict]:
    return [{"model": model, "seed": seed, "metric": k, "value": float(v)} for k, v in values.items()]


def run(name: str, ctx: Context, out_csv: str | Path) -> pd.DataFrame:
    """The experiment's rows, each with its dataset: the context's, or the row's own
    ``dataset`` (an ``also_on`` copy's rows)."""
    df = pd.DataFrame(EXPERIMENTS[name].run(ctx))
    own = df.pop("dataset").fillna(ctx.dataset) if "dataset" in df else ctx.dataset
    df.insert(0, "experiment", name)
    df.insert(1, "dataset", own)
    df = df[COLUMNS]
    df.to_csv(out_csv, index=False)
    return df


def _discover() -> None:
    for m in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{m.name}")
    EXPERIMENTS.sort(key=lambda kv: (kv[1].number, kv[0]))  # lecture order: E2 before E10


_discover()
