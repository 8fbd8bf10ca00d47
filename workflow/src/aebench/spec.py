"""The settings layer: every model's spec and every training setting as dataclasses.

Torch-free on purpose: the workflow parses the whole config into these once, on every
snakemake start (dry runs and no-op re-runs included), and importing torch there would cost
seconds. A rule passes a model's spec (``ModelSpec.to_dict()``) to its job; the job and the
saved model rebuild it with :meth:`ModelSpec.from_dict`, so nothing downstream splits a raw
params dict by key name again.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .settings import RBMConfig, TrainConfig, from_mapping  # noqa: F401 (re-exported)
from .variants import NoiseSpec, RegularizerSpec

ACTIVATION_NAMES = ("relu", "sigmoid", "tanh", "linear", "softmax")


# --------------------------------------------------------------------------- architectures


@dataclass
class MLPSpec:
    """A symmetric MLP autoencoder ``in - hidden... - code - reversed(hidden)... - in``."""

    input_dim: int
    hidden: list[int] = field(default_factory=lambda: [1000, 500, 250])
    code_dim: int = 30
    activation: str = "relu"
    code_activation: str = "linear"  # the lecture's (and Hinton's) linear code layer
    output: str = "sigmoid"  # pixels live in [0, 1]
    tied: bool = False  # decoder weight = encoder weight transposed (slide 2-3)
    # Std of Gaussian noise added to the code pre-activation while training: with a sigmoid
    # code it drives the units to 0/1, so thresholding loses little (semantic hashing,
    # Krizhevsky & Hinton 2011).
    code_noise: float = 0.0
    # Word-count input (Hinton & Salakhutdinov's document AE): the first encoder layer's bias
    # is scaled by each document's length D = sum(x), i.e. it computes act(W x + D b) on the
    # counts x, the hidden units of the replicated softmax RBM it is unrolled from
    # (aebench.rbm_models.ReplicatedSoftmaxRBM.hidden_prob).
    count_input: bool = False
    # Max-norm on the two layers next to the code: each code unit's incoming weights (the
    # encoder's last layer) and outgoing weights (the decoder's first) are scaled down to an
    # L2 norm of at most this, on every forward pass. Without it a penalty on the code's size
    # is undone for free (shrink z, grow the decoder's first weights); with it the decoder can
    # no longer grow to follow a shrinking code (E10). None: unconstrained.
    code_max_norm: float | None = None

    def __post_init__(self):
        for key in ("activation", "code_activation", "output"):
            if getattr(self, key) not in ACTIVATION_NAMES:
                raise ValueError(f"{key}: {getattr(self, key)!r} is not one of {ACTIVATION_NAMES}")
        if self.code_max_norm is not None and not self.code_max_norm > 0:
            raise ValueError(f"code_max_norm must be > 0 (or null: no constraint), got {self.code_max_norm}")


DECODER_NAMES = ("unpool", "unpool_fixed", "upsample", "transposed")


@dataclass
class ConvSpec:
    """A convolutional autoencoder (slides 17-19): ``len(channels)`` stages of 3x3 conv +
    2x2 max-pool encode the image; the code is the last feature map, flattened. The decoder
    mirrors the stages and differs only in how it undoes each pooling:

    * ``unpool``: max-unpooling with the encoder's pooling switches, then a conv. The
      switches (where each maximum was) reach the decoder beside the code: side information
      (``ConvAutoencoder.side_info_bits``);
    * ``unpool_fixed``: the control for ``unpool``: each value goes back to a fixed place of
      its window (the top-left), zeros elsewhere, then a conv; it decodes from the code alone
      (zero-interleaving then a conv: the same functions as ``transposed``, slide 19);
    * ``upsample``: nearest-neighbour upsampling (Keras' UpSampling2D), then a conv;
    * ``transposed``: one stride-2 transposed convolution ("deconvolution").

    All four have the same parameter count (one kernel per stage). The image side comes
    from the data (``input_dim = in_channels * side**2``), so 8x8 digits and 28x28 MNIST
    both work.
    """

    input_dim: int
    channels: list[int] = field(default_factory=lambda: [16, 8, 8])  # Keras' blog conv AE
    decoder: str = "unpool"
    kernel_size: int = 3
    in_channels: int = 1
    activation: str = "relu"
    output: str = "sigmoid"

    def __post_init__(self):
        for key in ("activation", "output"):
            if getattr(self, key) not in ACTIVATION_NAMES:
                raise ValueError(f"{key}: {getattr(self, key)!r} is not one of {ACTIVATION_NAMES}")
        if self.decoder not in DECODER_NAMES:
            raise ValueError(f"decoder: {self.decoder!r} is not one of {DECODER_NAMES}")
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"channels: {self.channels!r} must be a non-empty list of positive ints")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size: {self.kernel_size} must be odd (the conv keeps the size)")
        side = math.isqrt(self.input_dim // self.in_channels)
        if self.in_channels * side * side != self.input_dim:
            raise ValueError(f"conv autoencoder: {self.input_dim} input features are not "
                             f"{self.in_channels} square image channel(s)")

    @property
    def side(self) -> int:
        return math.isqrt(self.input_dim // self.in_channels)


# Architecture name -> its spec class; aebench.nets maps the same names to nn.Modules.
ARCH_SPECS = {"mlp": MLPSpec, "conv": ConvSpec}


# --------------------------------------------------------------------------- model specs


@dataclass
class InitSpec:
    """A greedy stack's layer trainer (aebench.pretrain): ``rbm`` (its RBMConfig),
    ``ae`` (its objective: the E7 variants) or ``random``."""

    kind: str
    rbm: RBMConfig | None = None
    objective: "Objective | None" = None

    @classmethod
    def parse(cls, entry: dict, where: str, known, rbm_defaults: dict | None = None) -> "InitSpec":
        """``known``: the registered init kinds (aebench.pretrain.INITS, a Registry)."""
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: must be a mapping {{kind, params}}")
        extra = set(entry) - {"kind", "params"}
        if extra:
            raise ValueError(f"{where}: unknown key(s) {sorted(extra)}; an init is {{kind, params}}")
        kind, params = entry.get("kind"), dict(entry.get("params") or {})
        if kind not in known:
            raise ValueError(f"{where}.kind: {known.unknown(kind, 'kind')}")
        if kind == "rbm":
            return cls(kind, rbm=from_mapping(RBMConfig, {**(rbm_defaults or {}), **params},
                                              f"{where}.params"))
        if kind == "ae":
            return cls(kind, objective=Objective.parse(params, f"{where}.params", only=True))
        if params:
            raise ValueError(f"{where}.params: {kind} takes no params")
        return cls(kind)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "rbm": asdict(self.rbm) if self.rbm else None,
                "objective": self.objective.to_dict() if self.objective else None}

    @classmethod
    def from_dict(cls, d: dict) -> "InitSpec":
        return cls(d["kind"], RBMConfig(**d["rbm"]) if d.get("rbm") else None,
                   Objective.from_dict(d["objective"]) if d.get("objective") else None)


@dataclass
class Objective:
    """What an autoencoder's training adds to plain reconstruction (slide 14): input
    corruption (denoising) and a penalty on the code (sparse, contractive)."""

    input_noise: NoiseSpec | None = None
    regularizer: RegularizerSpec | None = None

    KEYS = ("input_noise", "regularizer")

    @classmethod
    def parse(cls, params: dict, where: str, only: bool = False) -> "Objective":
        if only:
            extra = set(params) - set(cls.KEYS)
            if extra:
                raise ValueError(f"{where}: unknown param(s) {sorted(extra)}; known: {list(cls.KEYS)}")
        out = {}
        for key, spec_cls in (("input_noise", NoiseSpec), ("regularizer", RegularizerSpec)):
            v = params.get(key)
            if v is None:
                continue
            if not isinstance(v, dict):
                raise ValueError(f"{where}.{key} must be a mapping like {{kind: ..., ...}}, got {v!r}")
            try:
                out[key] = spec_cls(**v)
            except TypeError:
                want = [f.name for f in fields(spec_cls)]
                raise ValueError(f"{where}.{key} takes exactly the keys {want}, got {sorted(v)}") from None
            except ValueError as e:
                raise ValueError(f"{where}.{key}: {e}") from None
        return cls(**out)

    def __bool__(self) -> bool:
        return self.input_noise is not None or self.regularizer is not None

    def to_dict(self) -> dict:
        return {k: asdict(v) for k in self.KEYS if (v := getattr(self, k)) is not None}

    @classmethod
    def from_dict(cls, d: dict) -> "Objective":
        return cls(NoiseSpec(**d["input_noise"]) if "input_noise" in d else None,
                   RegularizerSpec(**d["regularizer"]) if "regularizer" in d else None)


@dataclass
class ModelSpec:
    """One configured model, parsed once (aebench.kinds: each kind parses its own entry).

    ``params`` holds what is the kind's own (e.g. PCA's ``n_components``); an autoencoder's
    architecture, objective and pre-training are split off into ``arch``/``objective``/
    ``init``. ``needs`` names the models whose runs this one is built from (an E6 classifier
    needs its pre-trained stack); ``seeded: false`` models are fitted once, with seed 0.
    """

    name: str
    kind: str
    dataset: str
    input: str = "raw"
    arch: str | None = None
    arch_params: dict = field(default_factory=dict)
    objective: Objective = field(default_factory=Objective)
    init: InitSpec | None = None
    train: TrainConfig | None = None
    params: dict = field(default_factory=dict)
    needs: list[str] = field(default_factory=list)
    seeded: bool = True

    def arch_spec(self, input_dim: int):
        return ARCH_SPECS[self.arch](input_dim=input_dim, **self.arch_params)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["objective"] = self.objective.to_dict()
        d["init"] = self.init.to_dict() if self.init else None
        d["train"] = self.train.to_dict() if self.train else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        d = dict(d)
        d["objective"] = Objective.from_dict(d.get("objective") or {})
        d["init"] = InitSpec.from_dict(d["init"]) if d.get("init") else None
        d["train"] = TrainConfig(**d["train"]) if d.get("train") else None
        return cls(**d)
