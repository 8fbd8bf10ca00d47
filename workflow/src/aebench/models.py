"""Autoencoder architectures. Each exposes ``encode``, ``decode`` and ``forward``.

A new architecture is a spec dataclass in :mod:`aebench.specs` (``SPECS``) and an
``nn.Module`` here (``ARCHITECTURES``) under the same name; a config entry
``arch: <name>`` then builds it (see :func:`build`).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .specs import SPECS, MLPSpec

ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "linear": nn.Identity,
    "softmax": lambda: nn.Softmax(dim=1),
}


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
        last = len(self.enc) - 1
        for i, (layer, act) in enumerate(zip(self.enc, self.enc_act)):
            x = layer(x)
            if i == last and self.training and self.spec.code_noise:
                x = x + self.spec.code_noise * torch.randn_like(x)
            x = act(x)
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


# Architecture name -> nn.Module; its spec dataclass is specs.SPECS[name].
ARCHITECTURES = {"mlp": MLPAutoencoder}


def build(arch: str, input_dim: int, **params) -> nn.Module:
    """Build architecture ``arch`` for inputs of ``input_dim`` features from config params."""
    return ARCHITECTURES[arch](SPECS[arch](input_dim=input_dim, **params))


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
