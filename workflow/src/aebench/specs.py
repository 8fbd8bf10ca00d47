"""Settings dataclasses, free of torch so the workflow can check a config without importing it
(every snakemake start, dry runs and no-op re-runs included)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

ACTIVATION_NAMES = ("relu", "sigmoid", "tanh", "linear", "softmax")


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

    def __post_init__(self):
        for key in ("activation", "code_activation", "output"):
            if getattr(self, key) not in ACTIVATION_NAMES:
                raise ValueError(f"{key}: {getattr(self, key)!r} is not one of {ACTIVATION_NAMES}")


DECODER_NAMES = ("unpool", "upsample", "transposed")


@dataclass
class ConvSpec:
    """A convolutional autoencoder (slides 17-19): ``len(channels)`` stages of 3x3 conv +
    2x2 max-pool encode the image; the code is the last feature map, flattened. The decoder
    mirrors the stages and differs only in how it undoes each pooling:

    * ``unpool``: max-unpooling with the encoder's pooling switches, then a conv;
    * ``upsample``: nearest-neighbour upsampling (Keras' UpSampling2D), then a conv;
    * ``transposed``: one stride-2 transposed convolution ("deconvolution").

    All three have the same parameter count (one kernel per stage). The image side comes
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


# Architecture name -> its spec class; aebench.models maps the same names to nn.Modules.
SPECS = {"mlp": MLPSpec, "conv": ConvSpec}


@dataclass
class TrainConfig:
    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0  # decoupled (AdamW): each step shrinks weights by lr * this
    patience: int = 10  # epochs without a better validation loss before stopping
    lr_decay: float = 1.0  # multiply lr by this each epoch (1 = constant)
    # "bce" (images in [0,1], Hinton's choice), "mse", or "softmax_ce" (word frequencies vs a
    # softmax output: the cross-entropy of Hinton & Salakhutdinov's document model)
    loss: str = "bce"
    code_l1: float = 0.0  # sparsity penalty on the code (mean |z|)
    code_l2: float = 0.0  # keeps codes near the origin (slide 21): mean ||z||^2

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training option(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)
