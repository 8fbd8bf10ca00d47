"""The config document as dataclasses: the one source of its JSON schema and of its defaults.

:func:`aebench.config.schema` is :func:`aebench.schema.schema_of` of :class:`Settings`, with
the names that registries define filled in (dataset names, experiment blocks from each
experiment's ``Params``); no part of the schema is written by hand anywhere else. Torch-free,
like :mod:`aebench.spec`: the workflow parses the config on every snakemake start.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal

from .schema import setting


def from_mapping(cls, d: dict | None, where: str):
    """``cls(**d)`` with one message naming the unknown keys (the schema catches most of these
    first; this guards the paths that bypass it, e.g. a model's ``params``)."""
    d = dict(d or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    try:
        return cls(**d)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: {e}".replace("__init__()", cls.__name__)) from None


# --------------------------------------------------------------------------- training


@dataclass
class TrainConfig:
    """Gradient training of one torch model (aebench.train.fit): ``training:``, a model's
    ``train:`` over it, and E6's ``pretrain:``/``finetune:``."""

    epochs: int = setting(100, minimum=1)  # the most; early stopping may end sooner
    batch_size: int = setting(256, minimum=1)
    lr: float = setting(1e-3, exclusiveMinimum=0)
    # adam: decoupled (AdamW), each step shrinks weights by lr * this; sgd: an L2 weight cost
    # added to the gradient (the papers' "weight cost")
    weight_decay: float = setting(0.0, minimum=0)
    # epochs without a better validation score (see stop_on) before stopping
    patience: int = setting(10, minimum=1)
    # multiply lr by this each epoch (1 = constant)
    lr_decay: float = setting(1.0, exclusiveMinimum=0, maximum=1)
    # "bce" (images in [0,1], Hinton's choice), "mse", or "softmax_ce" (word frequencies vs a
    # softmax output: the cross-entropy of Hinton & Salakhutdinov's document model)
    loss: Literal["bce", "mse", "softmax_ce"] = "bce"
    code_l1: float = setting(0.0, minimum=0)  # sparsity penalty on the code (mean |z|)
    code_l2: float = setting(0.0, minimum=0)  # keeps codes near the origin (slide 21): mean ||z||^2
    # "bf16": the training steps' forward and backward in bfloat16 (autocast), where the
    # device computes it natively (GPUs, CPUs with avx512_bf16/amx); the weights, the optimizer,
    # the loss and validation stay fp32. 2-3x faster matrix products, less precise ones.
    precision: Literal["fp32", "bf16"] = "fp32"
    # "adam" (Adam; AdamW with weight_decay) or "sgd" (SGD with `momentum`, the papers'
    # fine-tuning rule)
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = setting(0.9, minimum=0, exclusiveMaximum=1)  # sgd only
    # What early stopping watches: "loss" (the validation loss), or "error" (a classifier's
    # validation zero-one error, the loss breaking ties): what a classifier is judged on;
    # "none": train all `epochs` and keep the last (a refit for an epoch count chosen before)
    stop_on: Literal["loss", "error", "none"] = "loss"
    # Fine-tuning a pre-trained stack: the first this many epochs train the new output layer
    # alone, the layers below frozen (Hinton & Salakhutdinov 2006 trained the top layer alone
    # for 5 epochs), so its random early gradients do not undo the pre-trained features
    warmup_top_epochs: int = setting(0, minimum=0)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return from_mapping(cls, d, "training")

    def to_dict(self) -> dict:
        d = asdict(self)
        # Keys added after the published runs are left out at their defaults, so the specs
        # (and the fits' cache keys) of every run that does not set them stay as they were.
        for key, default in _LATER_DEFAULTS.items():
            if d[key] == default:
                del d[key]
        return d

    def over(self, d: dict | None, where: str = "train") -> "TrainConfig":
        """These settings with the keys of ``d`` (a model's ``train:``) set over them."""
        return from_mapping(type(self), {**asdict(self), **(d or {})}, where)


_LATER_DEFAULTS = {"precision": "fp32", "optimizer": "adam", "momentum": 0.9, "stop_on": "loss",
                   "warmup_top_epochs": 0}


@dataclass
class RBMConfig:
    """CD-1 settings of one RBM layer (Hinton's practical guide; aebench.rbm)."""

    epochs: int = setting(50, minimum=1)
    batch_size: int = setting(100, minimum=1)
    lr: float = setting(0.05, exclusiveMinimum=0)
    # 0.5 for the first `initial_momentum_epochs`, then this
    momentum: float = setting(0.9, minimum=0, exclusiveMaximum=1)
    initial_momentum_epochs: int = setting(5, minimum=0)
    weight_decay: float = setting(2e-4, minimum=0)  # L2 on W, as in Hinton's guide
    # The top RBM with linear (Gaussian) hidden units, and its much smaller learning rate:
    # the code layer of Hinton & Salakhutdinov's autoencoder (set for a linear-code AE).
    linear_top: bool = False
    lr_linear: float = setting(1e-3, exclusiveMinimum=0)
    # The bottom RBM's visible units: ``bernoulli`` (pixels in [0, 1]) or ``softmax``: the
    # replicated softmax on word counts (aebench.rbm_models.ReplicatedSoftmaxRBM), the bottom layer of
    # Hinton & Salakhutdinov's document autoencoder; it learns at its own rate ``lr_softmax``
    # (per word: train_rbm divides its statistics by the mean document length).
    bottom: Literal["bernoulli", "softmax"] = "bernoulli"
    lr_softmax: float = setting(0.3, exclusiveMinimum=0)

    def __post_init__(self):
        if (self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.lr_linear <= 0
                or self.lr_softmax <= 0 or not 0 <= self.momentum < 1):
            raise ValueError(f"rbm settings: epochs/batch_size >= 1, lr, lr_linear, lr_softmax "
                             f"> 0, 0 <= momentum < 1; got {asdict(self)}")
        if self.bottom not in ("bernoulli", "softmax"):
            raise ValueError(f"bottom: {self.bottom!r} is not one of ['bernoulli', 'softmax']")


# --------------------------------------------------------------------------- the document


@dataclass
class SplitSizes:
    """``datasets.<name>``: the split sizes its prepare function takes (aebench.datasets);
    a key left out keeps that function's default. ``n_train``/``n_test`` null: all of it."""

    n_train: int | None = setting(None, minimum=1)
    n_val: int = setting(None, minimum=1)
    n_test: int | None = setting(None, minimum=1)
    vocab_size: int = setting(None, minimum=2)  # text: the most frequent words kept


@dataclass
class Threads:
    """Threads per job (torch and BLAS use exactly this many: --cores N is never oversubscribed)."""

    train: int = setting(minimum=1)  # a torch model's fit
    baseline: int = setting(minimum=1)  # everything else (PCA, LSA, experiments)


# What a model's or a publication's name may be: it names a directory under results/.
NAME_PATTERN = r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]*$"


@dataclass
class ModelEntry:
    """``models.<name>``; each kind parses its own ``params`` (aebench.kinds)."""

    kind: str
    dataset: str = "image"  # image | text (config image_dataset/text_dataset) | a dataset name
    params: dict = setting(factory=dict)
    train: TrainConfig = setting(factory=TrainConfig)  # over `training:`


@dataclass(kw_only=True)
class Settings:
    data_mirror: str | None = setting(
        description="local directory with the original data files, tried before any download")
    allow_download: bool = True
    restore_from: str | None = setting(None, description=(
        "a published run (python -m aebench.publish); its finished experiments are copied, "
        "not re-run"))
    restore_changed_code: bool = setting(False, description=(
        "restore_from a run whose manifest lists training code changed since its fits "
        "(training_code_changed_since), with a warning; false: refuse it"))
    image_dataset: str = "mnist"  # enum: the registered image datasets
    text_dataset: str = "20news"  # enum: the registered text datasets
    datasets: dict[str, SplitSizes]  # properties: the registered datasets
    seeds: list[int] = setting(items={"type": "integer", "minimum": 0}, minItems=1,
                               uniqueItems=True)
    # The split the claims are judged on: test (a confirmation run) or val (development: every
    # choice is made on val tables; val is also early stopping's set, so slightly optimistic).
    judge_split: Literal["test", "val"] = "test"
    # Seeds drawn once for confirmation runs and never tuned on: a val-judged run may not use
    # them, and a run may not mix them with development seeds (aebench.config.check_protocol).
    confirmation_seeds: list[int] = setting(factory=list, items={"type": "integer", "minimum": 0},
                                            uniqueItems=True)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    gpu: int | Literal["auto"] = setting("auto", minimum=0, maximum=1, description=(
        "GPUs per training job (0 or 1); auto = 1 when this machine has a GPU"))
    gpu_model: str | None = setting(None, pattern="^[A-Za-z0-9_.]+$", description=(
        "SLURM GPU type for training jobs (--gpus=<model>:1); null = any"))
    threads: Threads
    training: TrainConfig
    # a model's name becomes a directory (results/runs/<name>) and part of a wildcard regex:
    # letters, digits, '_', '.', '-', never '..' nor a leading dot or dash
    models: dict[str, ModelEntry] = setting(minProperties=1, propertyNames={"pattern": NAME_PATTERN})
    experiments: dict  # properties: each experiment's Params (aebench.experiments)

    @classmethod
    def parse(cls, raw: dict) -> "Settings":
        """The schema-checked config, typed where it is read as a whole; ``datasets``,
        ``models`` and ``experiments`` stay as given: aebench.config parses each model
        into a ModelSpec and each experiment into its Params."""
        given = {f.name: raw[f.name] for f in fields(cls) if f.name in raw}
        return cls(**{**given, "threads": Threads(**raw["threads"]),
                      "training": TrainConfig.from_dict(raw["training"])})
