"""Autoencoder architectures. Each exposes ``encode``, ``decode`` and ``forward``.

New architectures register themselves in ``ARCHITECTURES`` so a config entry
``arch: <name>`` can build them (see :func:`build`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "linear": nn.Identity,
}


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


class MLPAutoencoder(nn.Module):
    def __init__(self, spec: MLPSpec):
        super().__init__()
        self.spec = spec
        dims = [spec.input_dim, *spec.hidden, spec.code_dim]
        self.enc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.enc_act = [ACTIVATIONS[spec.activation]() for _ in spec.hidden] + [
            ACTIVATIONS[spec.code_activation]()]
        rdims = dims[::-1]
        if spec.tied:
            # Tied: the decoder owns only biases; its weights are the encoder's, transposed,
            # so there is one parameter tensor per layer and gradients flow into it from both.
            self.dec_bias = nn.ParameterList(nn.Parameter(torch.zeros(b)) for b in rdims[1:])
            self.dec = None
        else:
            self.dec = nn.ModuleList(nn.Linear(a, b) for a, b in zip(rdims[:-1], rdims[1:]))
        self.dec_act = [ACTIVATIONS[spec.activation]() for _ in spec.hidden] + [
            ACTIVATIONS[spec.output]()]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        for layer, act in zip(self.enc, self.enc_act):
            x = act(layer(x))
        return x

    def decoder_weights(self) -> list[torch.Tensor]:
        """Weight of each decoder layer, shape (out, in), in decoding order."""
        if self.dec is None:
            return [layer.weight.t() for layer in reversed(self.enc)]
        return [layer.weight for layer in self.dec]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if self.dec is None:
            for w, b, act in zip(self.decoder_weights(), self.dec_bias, self.dec_act):
                z = act(F.linear(z, w, b))
            return z
        for layer, act in zip(self.dec, self.dec_act):
            z = act(layer(z))
        return z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


ARCHITECTURES = {"mlp": (MLPSpec, MLPAutoencoder)}


def build(arch: str, input_dim: int, **params) -> nn.Module:
    """Build architecture ``arch`` for inputs of ``input_dim`` features from config params."""
    spec_cls, model_cls = ARCHITECTURES[arch]
    return model_cls(spec_cls(input_dim=input_dim, **params))


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
