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

from . import variants
from .specs import SPECS, TrainConfig

# torch is imported inside the torch-based methods only: the workflow imports this module to
# check the config, and every snakemake start would otherwise pay for importing torch.

METHODS: dict[str, type["Method"]] = {}
TORCH_KINDS: set[str] = set()

# How a method sees its input (params `input:`). Documents as word frequencies are the input
# of Hinton & Salakhutdinov's document autoencoder.
INPUTS = {
    "raw": lambda x: x,
    "doc_normalize": lambda x: (x / np.maximum(x.sum(1, keepdims=True), 1)).astype(np.float32),
}


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
        self.input = self.params.pop("input", "raw")
        if self.input not in INPUTS:
            raise ValueError(f"input: {self.input!r} is not one of {sorted(INPUTS)}")
        self.train_cfg = dict(train or {})

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return INPUTS[self.input](x)

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
        cls(params, train)  # the input transform is checked by the constructor
        cls.check_own_params({k: v for k, v in params.items() if k != "input"}, train)

    @classmethod
    def check_own_params(cls, params: dict, train: dict) -> None:
        pass


def _only(params: dict, allowed: set[str], required: set[str], kind: str) -> None:
    extra, missing = set(params) - allowed, required - set(params)
    if extra or missing:
        raise ValueError(f"{kind}: unknown param(s) {sorted(extra)}" if extra else
                         f"{kind}: missing param(s) {sorted(missing)}")


@register("identity")
class IdentityMethod(Method):
    """No model: the (transformed) input is the code. The raw-pixel retrieval baseline."""

    def fit(self, data, seed, log=print, **runtime):
        return []

    def encode(self, x):
        return np.asarray(self.inputs(x), dtype=np.float32)

    def decode(self, z):
        return z

    @classmethod
    def check_own_params(cls, params, train):
        _only(params, set(), set(), "identity")


class DecompositionMethod(Method):
    """A scikit-learn decomposition: codes = transform(features(x)), decoding = its inverse."""

    def make(self, seed: int):
        raise NotImplementedError

    def fit_features(self, x: np.ndarray) -> None:
        """Learn any feature weighting from train (before the decomposition sees it)."""

    def features(self, x: np.ndarray):
        return self.inputs(x)

    def fit(self, data, seed, log=print, **runtime):
        self.fit_features(data.x_train)
        self.model = self.make(seed).fit(self.features(data.x_train))
        log(f"{self.kind}-{self.params['n_components']}: explained variance "
            f"{self.model.explained_variance_ratio_.sum():.4f}")
        return []

    def encode(self, x):
        return self.model.transform(self.features(x)).astype(np.float32)

    def decode(self, z):
        return self.model.inverse_transform(z).astype(np.float32)

    def n_params(self):
        return int(self.model.components_.size)


@register("pca")
class PCAMethod(DecompositionMethod):
    """scikit-learn PCA: the linear baseline of slides 2-5."""

    def make(self, seed):
        from sklearn.decomposition import PCA

        return PCA(n_components=self.params["n_components"], random_state=seed)

    def basis(self) -> np.ndarray:
        """Columns span the principal subspace (features x k)."""
        return self.model.components_.T

    def n_params(self):
        return int(self.model.components_.size + self.model.mean_.size)

    @classmethod
    def check_own_params(cls, params, train):
        _only(params, {"n_components"}, {"n_components"}, "pca")


@register("lsa")
class LSAMethod(DecompositionMethod):
    """Latent semantic analysis: scikit-learn TruncatedSVD of tf-idf (or log) word counts."""

    def make(self, seed):
        from sklearn.decomposition import TruncatedSVD

        return TruncatedSVD(self.params["n_components"], random_state=seed)

    def fit_features(self, x):
        from sklearn.feature_extraction.text import TfidfTransformer

        tfidf = self.params.get("weighting", "tfidf") == "tfidf"
        self.tfidf = TfidfTransformer().fit(self.inputs(x)) if tfidf else None

    def features(self, x):
        x = self.inputs(x)
        return self.tfidf.transform(x) if self.tfidf is not None else np.log1p(x)

    @classmethod
    def check_own_params(cls, params, train):
        _only(params, {"n_components", "weighting"}, {"n_components"}, "lsa")
        if params.get("weighting", "tfidf") not in ("tfidf", "log"):
            raise ValueError("lsa: weighting must be 'tfidf' or 'log'")


# Autoencoder params that set how it is trained, not its architecture.
TRAINING_PARAM_KEYS = (*variants.PARAM_KEYS, "pretrain")


@register("autoencoder", torch_based=True)
class AutoencoderMethod(Method):
    """Any architecture of :mod:`aebench.models`, trained by :func:`aebench.train.fit`.

    ``pretrain: {kind, params}`` (an init of :mod:`aebench.pretrain`, e.g. ``rbm``) first
    trains a greedy stack on the encoder's layer sizes and unrolls it into encoder and decoder
    (Hinton & Salakhutdinov 2006); :func:`aebench.train.fit` then fine-tunes the whole net.
    """

    def _spec(self):
        """(architecture name, its params): the training settings are not the architecture's."""
        params = {k: v for k, v in self.params.items() if k not in TRAINING_PARAM_KEYS}
        return params.pop("arch", "mlp"), params

    def objective(self):
        """The training objective: the plain one unless params name a variant (slide 14)."""
        from functools import partial

        from .train import autoencoder_objective

        noise, reg = variants.parse(self.params)
        if noise is None and reg is None:
            return autoencoder_objective
        return partial(autoencoder_objective, corrupt=noise, penalty=reg)

    def fit(self, data, seed, log=print, device="auto", train_defaults=None, **runtime):
        import torch

        from . import models as arch
        from .train import fit, resolve_device

        name, params = self._spec()
        cfg = TrainConfig.from_dict({**(train_defaults or {}), **self.train_cfg})
        self.device = resolve_device(device)
        torch.manual_seed(seed)  # weight init depends on the seed only
        self.net = arch.build(name, data.dim, **params)
        x_train, x_val = self.inputs(data.x_train), self.inputs(data.x_val)
        if "pretrain" in self.params:
            self._pretrain(x_train, x_val, cfg, seed, log)
        history = fit(self.net, x_train, x_val, cfg,
                      seed=seed, device=self.device, objective=self.objective(),
                      log=log, name=runtime.get("name", self.kind))
        self.net.eval()
        return history

    def _pretrain(self, x_train, x_val, cfg: TrainConfig, seed: int, log) -> None:
        from . import pretrain

        entry, spec = self.params["pretrain"], self.net.spec
        # A linear code layer is pre-trained as an RBM with linear hidden units; `ae` layers
        # are trained with the model's own training settings.
        settings = {"rbm": {"linear_top": spec.code_activation == "linear"},
                    "pretrain": cfg.to_dict()}
        dims = [spec.input_dim, *spec.hidden, spec.code_dim]
        log(f"pre-training {dims} ({entry['kind']}), then unrolling it into the autoencoder")
        stack = pretrain.pretrain(entry["kind"], x_train, x_val, dims, entry.get("params", {}),
                                  settings, seed, self.device, log)
        pretrain.unroll(stack, self.net)

    def _apply(self, fn, x):
        import torch

        from .train import batched

        x = torch.as_tensor(x, dtype=torch.float32, device=self._device())
        return batched(fn, x).cpu().numpy()

    def encode(self, x):
        return self._apply(self.net.encode, self.inputs(x))

    def decode(self, z):
        return self._apply(self.net.decode, z)

    def reconstruct(self, x):
        # forward() encodes and decodes each batch together: a conv AE's unpool decoder needs
        # the pooling switches of the same images (for the MLP this is decode(encode(x))).
        return self._apply(self.net, self.inputs(x))

    def _device(self):
        return next(self.net.parameters()).device

    def basis(self) -> np.ndarray:
        """For a linear AE: the columns of the last decoder weight span its code subspace."""
        return self.net.decoder_weights()[-1].detach().cpu().numpy()

    def n_params(self):
        from .models import n_params

        return n_params(self.net)

    def save(self, path):
        import torch

        name, params = self._spec()
        torch.save({"kind": self.kind, "arch": name, "params": params, "input": self.input,
                    "train": self.train_cfg,
                    "variant": {k: self.params[k] for k in variants.PARAM_KEYS if k in self.params},
                    "pretrain": self.params.get("pretrain"),
                    "input_dim": self.net.spec.input_dim, "state": self.net.state_dict()}, path)

    @staticmethod
    def load(path, device="cpu"):
        import torch

        from . import models as arch

        ck = torch.load(path, map_location=device, weights_only=False)
        m = AutoencoderMethod({"arch": ck["arch"], "input": ck["input"], **ck["params"],
                               **ck.get("variant", {})}, ck["train"])
        m.net = arch.build(ck["arch"], ck["input_dim"], **ck["params"])
        m.net.load_state_dict(ck["state"])
        m.net.to(device).eval()
        return m

    @classmethod
    def check_own_params(cls, params, train):
        variants.parse(params)
        pre = params.get("pretrain")
        params = {k: v for k, v in params.items() if k not in TRAINING_PARAM_KEYS}
        name = params.pop("arch", "mlp")
        if name not in SPECS:
            raise ValueError(f"unknown arch {name!r}; known: {sorted(SPECS)}")
        spec_cls = SPECS[name]
        try:
            spec = spec_cls(input_dim=1, **params)
        except TypeError as e:
            raise ValueError(f"{e}".replace("__init__()", spec_cls.__name__)) from None
        TrainConfig.from_dict(train)
        if pre is not None:
            from .pretrain import check_init

            if not isinstance(pre, dict):
                raise ValueError("pretrain: must be a mapping {kind, params}")
            check_init(pre, "pretrain")
            # The stack's units are logistic and its layers are unrolled into an untied MLP.
            if name != "mlp" or spec.tied or spec.activation != "sigmoid":
                raise ValueError("pretrain: needs arch: mlp, tied: false and activation: "
                                 "sigmoid (a stack's hidden units are logistic)")


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
