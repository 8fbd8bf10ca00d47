"""Model kinds: every model of the benchmark behind one small interface.

A config entry ``models: {name: {kind: <kind>, params: {...}, train: {...}}}`` (or a model an
experiment derives, like E6's fine-tuned classifiers) names a class registered here with
:func:`register`. Each kind parses its own entry into a :class:`aebench.spec.ModelSpec` (once,
at config check, without torch), fits from a prepared dataset, and saves / loads itself in a
run directory (aebench.runs writes the rest). Adding a kind is one module in this package:
the modules are found by name, without an import list.

Kinds that are encoders (``encoder = True``) also give ``encode`` / ``decode`` /
``reconstruct``: the fit step stores their codes and reconstruction errors for experiments.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from typing import Callable, ClassVar

import joblib
import numpy as np

from ..registry import Registry
from ..spec import ModelSpec, TrainConfig

KINDS = Registry("model kind")  # name -> Kind class

# How an encoder sees its input (params `input:`). Documents as word frequencies are the input
# of Hinton & Salakhutdinov's document autoencoder.
INPUTS = Registry("encoder input")
INPUTS.add("raw", lambda x: x)
INPUTS.add("doc_normalize", lambda x: (x / np.maximum(x.sum(1, keepdims=True), 1)).astype(np.float32))

HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "lr", "seconds"]


def register(name: str):
    """``@register("pca")`` files a Kind class under its config name."""

    def deco(cls):
        KINDS.add(name, cls)
        cls.name = name
        return cls

    return deco


def only(params: dict, allowed: set[str], required: set[str], kind: str) -> None:
    extra, missing = set(params) - allowed, required - set(params)
    if extra or missing:
        raise ValueError(f"{kind}: unknown param(s) {sorted(extra)}; known: {sorted(allowed)}"
                         if extra else f"{kind}: missing param(s) {sorted(missing)}")


class Kind:
    """Base class. ``fit`` learns from train (and may use val for early stopping)."""

    name: ClassVar[str] = "?"
    torch_based: ClassVar[bool] = False  # trains with torch: training threads, asks for a GPU
    seeded: ClassVar[bool] = True  # False: one fit (seed 0) serves every seed
    encoder: ClassVar[bool] = False
    model_file: ClassVar[str] = "model.joblib"
    history_columns: ClassVar[list[str]] = HISTORY_COLUMNS
    # Cluster requests of its fit job (the SLURM profile's set-resources can override them).
    resources: ClassVar[dict] = {"mem_mb": 4000, "runtime": 60}

    def __init__(self, spec: ModelSpec):
        self.spec = spec

    # ------------------------------------------------------------------ config
    @classmethod
    def parse(cls, name: str, entry: dict, dataset: str, train_defaults: TrainConfig) -> ModelSpec:
        """The entry as a ModelSpec; raise ValueError naming the bad key."""
        params = dict(entry.get("params") or {})
        inp = params.pop("input", "raw")
        if inp not in INPUTS:
            raise ValueError(f"input: {inp!r} is not one of {sorted(INPUTS)}")
        if entry.get("train"):
            raise ValueError(f"{cls.name} is not trained by gradient steps: it takes no `train:`")
        cls.check_params(params)
        return ModelSpec(name, cls.name, dataset, input=inp, params=params, seeded=cls.seeded)

    @classmethod
    def check_params(cls, params: dict) -> None:
        pass

    # ------------------------------------------------------------------ fitting
    def fit(self, data, seed: int, deps: dict[str, Path], *, device="cpu",
            log: Callable[[str], None] = print) -> list[dict]:
        raise NotImplementedError

    def metrics(self, data) -> dict:
        """What metrics.json records beside the common fields."""
        return {}

    def save(self, run_dir: Path) -> None:
        joblib.dump(self, Path(run_dir) / self.model_file)

    @classmethod
    def load(cls, run_dir: Path, spec: ModelSpec, device="cpu") -> "Kind":
        return joblib.load(Path(run_dir) / cls.model_file)

    # ------------------------------------------------------------------ encoders
    def inputs(self, x: np.ndarray) -> np.ndarray:
        return INPUTS[self.spec.input](x)

    def encode(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def decode(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(x))

    def n_params(self) -> int:
        return 0


def load_run(run_dir: str | Path, device="cpu") -> Kind:
    """The fitted model of a run directory, rebuilt from the spec its run.json carries."""
    run_dir = Path(run_dir)
    spec = ModelSpec.from_dict(json.loads((run_dir / "run.json").read_text())["spec"])
    return KINDS[spec.kind].load(run_dir, spec, device=device)


def parse_model(name: str, entry: dict, dataset: str,
                train_defaults: TrainConfig | dict) -> ModelSpec:
    """Fail fast, naming the model and the key, before any job runs. ``train_defaults``: the
    config's ``training:`` (aebench.config passes it parsed; a dict is for tests and notebooks)."""
    if isinstance(train_defaults, dict):
        train_defaults = TrainConfig.from_dict(train_defaults)
    kind = entry.get("kind")
    if kind not in KINDS:
        raise ValueError(f"models.{name}.kind: {KINDS.unknown(kind, 'kind')}")
    try:
        return KINDS[kind].parse(name, entry, dataset, train_defaults)
    except ValueError as e:
        raise ValueError(f"models.{name}: {e}") from None


def make(entry: dict, dataset: str = "mnist", train_defaults: dict | None = None,
         name: str = "model") -> Kind:
    """An unfitted model from a config entry (tests, notebooks): parse, then instantiate."""
    spec = parse_model(name, entry, dataset, train_defaults or {})
    return KINDS[spec.kind](spec)


# Importing the modules registers the kinds (each one imports torch only where it trains).
for _m in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_m.name}")
