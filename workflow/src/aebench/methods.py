"""Every model of the benchmark behind one small interface: fit, encode, decode, save, load.

A config entry ``models: {name: {kind: <kind>, params: {...}, train: {...}}}`` names a
class registered here with :func:`register`. Adding a new kind of model is one class.
``TORCH_KINDS`` run in the GPU-capable training rule; the others in the baseline rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import joblib
import numpy as np
import torch

from . import models as arch
from .train import TrainConfig, batched, fit, resolve_device

METHODS: dict[str, type["Method"]] = {}
TORCH_KINDS: set[str] = set()


def register(kind: str, torch_based: bool = False):
    def deco(cls):
        METHODS[kind] = cls
        cls.kind = kind
        if torch_based:
            TORCH_KINDS.add(kind)
        return cls
    return deco


class Method:
    """Base class. ``fit`` learns from train (and may use val for early stopping)."""

    kind = "?"

    def __init__(self, params: dict, train: dict | None = None):
        self.params = dict(params)
        self.train_cfg = dict(train or {})

    def fit(self, data, seed: int, log: Callable[[str], None] = print, **runtime) -> list[dict]:
        raise NotImplementedError

    def encode(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def decode(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(x))

    def n_params(self) -> int:
        return 0

    def save(self, path: str | Path) -> None:
        joblib.dump(self, path)

    @staticmethod
    def load(path: str | Path) -> "Method":
        return joblib.load(path)

    @classmethod
    def check_params(cls, params: dict, train: dict) -> None:
        """Raise ValueError naming the bad key; called when the config is loaded."""


@register("pca")
class PCAMethod(Method):
    """scikit-learn PCA: the linear baseline of slides 2-5."""

    def fit(self, data, seed, log=print, **runtime):
        from sklearn.decomposition import PCA

        self.model = PCA(n_components=self.params["n_components"], random_state=seed)
        self.model.fit(data.x_train)
        log(f"PCA-{self.model.n_components_}: explained variance "
            f"{self.model.explained_variance_ratio_.sum():.4f}")
        return []

    def encode(self, x):
        return self.model.transform(x).astype(np.float32)

    def decode(self, z):
        return self.model.inverse_transform(z).astype(np.float32)

    def basis(self) -> np.ndarray:
        """Columns span the principal subspace (features x k)."""
        return self.model.components_.T

    def n_params(self):
        return int(self.model.components_.size + self.model.mean_.size)

    @classmethod
    def check_params(cls, params, train):
        if set(params) - {"n_components"} or "n_components" not in params:
            raise ValueError("pca takes exactly one param, n_components")


@register("autoencoder", torch_based=True)
class AutoencoderMethod(Method):
    """Any architecture of :mod:`aebench.models`, trained by :func:`aebench.train.fit`."""

    def _spec(self):
        params = dict(self.params)
        return params.pop("arch", "mlp"), params

    def fit(self, data, seed, log=print, device="auto", train_defaults=None, **runtime):
        name, params = self._spec()
        cfg = TrainConfig.from_dict({**(train_defaults or {}), **self.train_cfg})
        self.device = resolve_device(device)
        torch.manual_seed(seed)  # weight init depends on the seed only
        self.net = arch.build(name, data.dim, **params)
        history = fit(self.net, data.x_train, data.x_val, cfg, seed=seed, device=self.device,
                      log=log, name=runtime.get("name", self.kind))
        self.net.eval()
        return history

    @torch.no_grad()
    def encode(self, x):
        x = torch.as_tensor(x, device=self._device())
        return batched(self.net.encode, x).cpu().numpy()

    @torch.no_grad()
    def decode(self, z):
        z = torch.as_tensor(z, dtype=torch.float32, device=self._device())
        return batched(self.net.decode, z).cpu().numpy()

    def _device(self):
        return next(self.net.parameters()).device

    def basis(self) -> np.ndarray:
        """For a linear AE: the columns of the last decoder weight span its code subspace."""
        return self.net.decoder_weights()[-1].detach().cpu().numpy()

    def n_params(self):
        return arch.n_params(self.net)

    def save(self, path):
        name, params = self._spec()
        torch.save({"kind": self.kind, "arch": name, "params": params, "train": self.train_cfg,
                    "input_dim": self.net.spec.input_dim, "state": self.net.state_dict()}, path)

    @staticmethod
    def load(path, device="cpu"):
        ck = torch.load(path, map_location=device, weights_only=False)
        m = AutoencoderMethod({"arch": ck["arch"], **ck["params"]}, ck["train"])
        m.net = arch.build(ck["arch"], ck["input_dim"], **ck["params"])
        m.net.load_state_dict(ck["state"])
        m.net.to(device).eval()
        return m

    @classmethod
    def check_params(cls, params, train):
        params = dict(params)
        name = params.pop("arch", "mlp")
        if name not in arch.ARCHITECTURES:
            raise ValueError(f"unknown arch {name!r}; known: {sorted(arch.ARCHITECTURES)}")
        spec_cls = arch.ARCHITECTURES[name][0]
        try:
            spec_cls(input_dim=1, **params)
        except TypeError as e:
            raise ValueError(f"{e}".replace("__init__()", spec_cls.__name__)) from None
        TrainConfig.from_dict(train)


def model_file(kind: str) -> str:
    return "model.pt" if kind in TORCH_KINDS else "model.joblib"


def load_method(model_dir: str | Path) -> Method:
    model_dir = Path(model_dir)
    info = json.loads((model_dir / "metrics.json").read_text())
    path = model_dir / model_file(info["kind"])
    cls = METHODS[info["kind"]]
    return cls.load(path) if info["kind"] in TORCH_KINDS else Method.load(path)


def make_method(kind: str, params: dict, train: dict | None = None) -> Method:
    if kind not in METHODS:
        raise ValueError(f"unknown model kind {kind!r}; known: {sorted(METHODS)}")
    return METHODS[kind](params, train)


def check_model_config(name: str, entry: dict) -> None:
    """Fail fast, naming the model and the key, before any job runs."""
    kind = entry.get("kind")
    if kind not in METHODS:
        raise ValueError(f"models.{name}.kind: unknown kind {kind!r}; known: {sorted(METHODS)}")
    try:
        METHODS[kind].check_params(entry.get("params", {}), entry.get("train", {}))
    except ValueError as e:
        raise ValueError(f"models.{name}: {e}") from None


__all__ = ["METHODS", "TORCH_KINDS", "Method", "register", "load_method", "make_method",
           "model_file", "check_model_config"]
