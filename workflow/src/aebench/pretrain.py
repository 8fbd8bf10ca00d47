"""E6/E8: greedy layer-wise pre-training of a deep classifier's hidden layers (slides 11-13).

An *init* is a registered function that returns the weights of the hidden layers
``input - hidden[0] - ... - hidden[-1]`` (a "stack"): ``random`` (the control), ``ae``
(autoencoder layers, with the variants of :mod:`aebench.variants`: L1 code penalty,
denoising noise) or ``rbm`` (a DBN). A config entry ``experiments.e6.inits.<name>: {kind,
params}`` picks one; adding an init is one registered function plus one config entry.

Greedy stacking (:func:`greedy_stack`): layer k is trained on the codes of layers 1..k-1,
which are computed once from the frozen (detached, cloned) weights, so no later step can
change them. Fine-tuning (:mod:`aebench.finetune`) copies the stack into the classifier.

Torch is imported inside the functions: the workflow imports this module to check the config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from . import variants
from .registry import registrar

INITS: dict[str, Callable] = {}


@dataclass
class RBMConfig:
    epochs: int = 50
    batch_size: int = 100
    lr: float = 0.05
    momentum: float = 0.9  # 0.5 for the first `initial_momentum_epochs`, then this
    initial_momentum_epochs: int = 5
    weight_decay: float = 2e-4  # L2 on W, as in Hinton's guide

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or not 0 <= self.momentum < 1:
            raise ValueError(f"rbm settings: epochs/batch_size >= 1, lr > 0, 0 <= momentum < 1; "
                             f"got {asdict(self)}")


init_kind = registrar(INITS)  # @init_kind("rbm") registers an init


@dataclass
class Stack:
    """The hidden layers of the classifier: ``weights[k]`` is (dims[k+1], dims[k])."""

    dims: list[int]
    weights: list = field(default_factory=list)  # torch tensors
    biases: list = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def save(self, path) -> None:
        import torch

        torch.save({"dims": self.dims, "weights": self.weights, "biases": self.biases,
                    "info": self.info}, path)

    @staticmethod
    def load(path) -> "Stack":
        import torch

        d = torch.load(path, map_location="cpu", weights_only=False)
        return Stack(d["dims"], d["weights"], d["biases"], d["info"])

    def codes(self, x, upto: int | None = None):
        """Sigmoid activations of layer ``upto`` (default: the top) for inputs ``x``."""
        import torch

        h = torch.as_tensor(x, dtype=torch.float32)
        with torch.no_grad():
            for w, b in list(zip(self.weights, self.biases))[:upto]:
                h = torch.sigmoid(h @ w.t() + b)
        return h


def greedy_stack(x_train, x_val, dims: list[int], train_layer: Callable, log=print) -> Stack:
    """Train ``len(dims) - 1`` layers one after the other.

    ``train_layer(h_train, h_val, n_out, k) -> (weight, bias, history)`` learns layer ``k``
    from the codes ``h`` of the layers below it; its weights are then frozen: cloned,
    detached, and used only to compute the next layer's input.
    """
    import torch

    stack = Stack(list(dims), info={"history": []})
    h_tr = torch.as_tensor(x_train, dtype=torch.float32)
    h_va = torch.as_tensor(x_val, dtype=torch.float32)
    for k, n_out in enumerate(dims[1:]):
        log(f"layer {k + 1}/{len(dims) - 1}: {dims[k]} -> {n_out}, on the codes of "
            f"{k} frozen layer(s)")
        w, b, hist = train_layer(h_tr, h_va, n_out, k)
        w, b = w.detach().cpu().clone(), b.detach().cpu().clone()
        stack.weights.append(w)
        stack.biases.append(b)
        stack.info["history"] += [{"layer": k + 1, **row} for row in hist]
        with torch.no_grad():
            h_tr = torch.sigmoid(h_tr @ w.t() + b)
            h_va = torch.sigmoid(h_va @ w.t() + b)
    return stack


# --------------------------------------------------------------------------- inits
# ``fn(x_train, x_val, dims, params, settings, seed, device, log) -> Stack``. ``settings`` is
# experiments.e6 of the config (its `pretrain` / `rbm` training settings).


@init_kind("random")
def random_init(x_train, x_val, dims, params, settings, seed, device, log) -> Stack:
    """The control: PyTorch's default nn.Linear initialisation, seeded."""
    import torch

    torch.manual_seed(seed)
    layers = [torch.nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])]
    log(f"random init of {dims} (nn.Linear default, seed {seed})")
    return Stack(list(dims), [m.weight.detach().clone() for m in layers],
                 [m.bias.detach().clone() for m in layers], {"history": []})


@init_kind("ae")
def autoencoder_init(x_train, x_val, dims, params, settings, seed, device, log) -> Stack:
    """Each layer an AE ``n_in - n_out - n_in`` with sigmoid code and output, trained by the
    one training core (BCE: the inputs are pixels or codes in [0, 1]); params are the E7
    variants (``regularizer: {kind: l1, ...}`` for the over-complete sparse AE of the lecture,
    ``input_noise: ...`` for a stacked denoising AE). The encoder of each becomes the layer."""
    from functools import partial

    import torch

    from .models import build
    from .specs import TrainConfig
    from .train import autoencoder_objective, fit

    noise, reg = variants.parse(params)
    objective = partial(autoencoder_objective, corrupt=noise, penalty=reg)
    cfg = TrainConfig.from_dict(settings["pretrain"])

    def train_layer(h_tr, h_va, n_out, k):
        torch.manual_seed(seed + 1000 * k)
        net = build("mlp", h_tr.shape[1], hidden=[], code_dim=n_out, code_activation="sigmoid")
        hist = fit(net, h_tr, h_va, cfg, seed=seed + 1000 * k, device=device,
                   objective=objective, log=log, name=f"ae layer {k + 1}")
        return net.enc[0].weight, net.enc[0].bias, hist

    return greedy_stack(x_train, x_val, dims, train_layer, log)


@init_kind("rbm")
def rbm_init(x_train, x_val, dims, params, settings, seed, device, log) -> Stack:
    """A DBN (Hinton, Osindero & Teh 2006): each layer an RBM trained by CD-1
    (:mod:`aebench.rbm`) on the hidden probabilities of the RBM below."""
    from .rbm import RBMConfig, train_rbm

    cfg = RBMConfig(**{**settings["rbm"], **params})

    def train_layer(h_tr, h_va, n_out, k):
        rbm, hist = train_rbm(h_tr, h_va, n_out, cfg, seed=seed + 1000 * k, device=device,
                              log=log, name=f"rbm layer {k + 1}")
        return rbm.weight, rbm.h_bias, hist

    return greedy_stack(x_train, x_val, dims, train_layer, log)


def check_inits(inits: dict) -> None:
    """Fail fast on an unknown init kind or bad params (called when the config is loaded)."""
    for name, entry in inits.items():
        kind, params = entry.get("kind"), entry.get("params", {})
        if kind not in INITS:
            raise ValueError(f"experiments.e6.inits.{name}.kind: unknown kind {kind!r}; "
                             f"known: {sorted(INITS)}")
        try:
            if kind == "ae":
                extra = set(params) - set(variants.PARAM_KEYS)
                if extra:
                    raise ValueError(f"unknown param(s) {sorted(extra)}; "
                                     f"known: {list(variants.PARAM_KEYS)}")
                variants.parse(params)
            elif kind == "rbm":
                RBMConfig(**params)
            elif params and kind == "random":
                raise ValueError("random takes no params")
        except (TypeError, ValueError) as e:
            raise ValueError(f"experiments.e6.inits.{name}: {e}") from None


def pretrain(kind: str, x_train, x_val, dims, params, settings, seed, device, log=print) -> Stack:
    stack = INITS[kind](x_train, x_val, dims, params, settings, seed, device, log)
    stack.info.update(kind=kind, params=params, seed=seed)
    return stack
