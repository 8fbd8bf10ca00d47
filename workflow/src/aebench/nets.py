"""Autoencoder architectures. Each exposes ``encode``, ``decode`` and ``forward``.

A new architecture is a spec dataclass in :mod:`aebench.spec` (``ARCH_SPECS``) and an
``nn.Module`` here (``ARCHITECTURES``) under the same name; a config entry
``arch: <name>`` then builds it (see :func:`build`).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .spec import ARCH_SPECS, ConvSpec, MLPSpec

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
            if i == 0 and self.spec.count_input:
                # W x + D b on word counts x, D = sum(x) per document: the bias is added once
                # per word, as a replicated softmax RBM's hidden bias is (spec.count_input).
                x = F.linear(x, layer.weight) + x.sum(1, keepdim=True) * layer.bias
            elif i == last and self.spec.code_max_norm is not None:
                x = F.linear(x, self.code_weights()[0], layer.bias)
            else:
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

    def code_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The weights the code layer is computed with (encoder's last, (code, hidden)) and
        decoded with (decoder's first, (hidden, code)), under ``spec.code_max_norm``: each code
        unit's row / column scaled to a norm of at most the max (torch.renorm, differentiable:
        the raw weights train on, the constraint holds for what the net computes)."""
        w_enc, w_dec = self.enc[-1].weight, self.decoder_weights()[0]
        c = self.spec.code_max_norm
        if c is None:
            return w_enc, w_dec
        return torch.renorm(w_enc, 2, 0, c), torch.renorm(w_dec, 2, 1, c)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        weights = self.decoder_weights()
        if self.spec.code_max_norm is not None:
            weights = [self.code_weights()[1], *weights[1:]]
        if self.dec is None:
            for w, b, act in zip(weights, self.dec_bias, self.dec_act):
                z = act(F.linear(z, w, b))
            return z
        for layer, w, act in zip(self.dec, weights, self.dec_act):
            z = act(F.linear(z, w, layer.bias) if w is not layer.weight else layer(z))
        return z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def max_unpool2d(x: torch.Tensor, switches: torch.Tensor, size) -> torch.Tensor:
    """What ``nn.MaxUnpool2d`` does: each value goes back to the position its pooling switch
    recorded (the argmax of its window), zeros everywhere else.

    Written as a scatter because torch refuses ``nn.MaxUnpool2d`` under
    ``torch.use_deterministic_algorithms(True)`` (overlapping windows could write one place
    twice). Our 2x2/stride-2 windows never overlap, so the scatter is exact and
    deterministic; tests/test_conv.py checks it equals ``nn.MaxUnpool2d``.
    """
    n, c = x.shape[:2]
    out = x.new_zeros(n, c, size[0] * size[1])
    return out.scatter(2, switches.flatten(2), x.flatten(2)).view(n, c, *size)


def fixed_switches(pooled: int, size: int, device=None) -> torch.Tensor:
    """Switches that send every pooled value to the top-left of its 2x2 window, in the
    flat-index layout of ``max_unpool2d`` (``row * size + col``) for a ``pooled x pooled``
    map unpooled to ``size x size``. With ceil-mode pooling on an odd side (7 -> 4) the last
    window is cut short, but its top-left (row or column ``size - 1``) is still inside: the
    top-left is the one place every window has.
    """
    if pooled != -(-size // 2):
        raise ValueError(f"a {pooled}x{pooled} map is not the 2x2 pooling of {size}x{size}")
    pos = torch.arange(0, size, 2, device=device)
    return (pos[:, None] * size + pos[None, :]).view(1, 1, pooled, pooled)


def transposed_conv_as_conv(x: torch.Tensor, weight: torch.Tensor, stride: int = 1,
                            padding: int = 0, output_padding: int = 0) -> torch.Tensor:
    """``F.conv_transpose2d(x, weight, stride=..., padding=...)`` computed the lecture's way
    (slide 19): put ``stride - 1`` zeros between the input pixels, pad ``k - 1 - padding``
    zeros around, and run an ordinary convolution with the flipped kernel.

    ``weight`` has the transposed-conv layout (in, out, k, k); no bias.
    """
    n, c, h, w = x.shape
    kh, kw = weight.shape[-2:]
    if padding > min(kh, kw) - 1:
        raise ValueError(f"padding {padding} > kernel_size - 1 = {min(kh, kw) - 1}")
    spread = x.new_zeros(n, c, (h - 1) * stride + 1, (w - 1) * stride + 1)
    spread[:, :, ::stride, ::stride] = x
    eh, ew = kh - 1 - padding, kw - 1 - padding
    spread = F.pad(spread, (ew, ew + output_padding, eh, eh + output_padding))
    return F.conv2d(spread, weight.flip(-1, -2).transpose(0, 1))


class ConvAutoencoder(nn.Module):
    """Conv + max-pool encoder; the decoder undoes each pooling by unpooling (with the
    switches, or with fixed ones), upsampling or a transposed conv (see
    :class:`aebench.spec.ConvSpec`). Takes and returns flat images, like
    :class:`MLPAutoencoder`, so the training core and every method work unchanged.

    The ``unpool`` decoder needs the pooling switches of the images being decoded: ``encode``
    keeps those of its last call and ``decode`` uses them (the decoder cannot generate from a
    code alone; forward() and the training objective always encode first). The other three,
    ``unpool_fixed`` included, decode from the code alone.
    """

    def __init__(self, spec: ConvSpec):
        super().__init__()
        self.spec = spec
        k, chans = spec.kernel_size, [spec.in_channels, *spec.channels]
        self.enc = nn.ModuleList(nn.Conv2d(a, b, k, padding=k // 2)
                                 for a, b in zip(chans[:-1], chans[1:]))
        self.pool = nn.MaxPool2d(2, return_indices=True, ceil_mode=True)  # odd sides: 7 -> 4
        pairs = list(zip(chans[:0:-1], chans[-2::-1]))  # decoding order: (from, to) channels
        if spec.decoder == "transposed":
            self.dec = nn.ModuleList(nn.ConvTranspose2d(a, b, k, stride=2, padding=k // 2)
                                     for a, b in pairs)
        else:
            self.dec = nn.ModuleList(nn.Conv2d(a, b, k, padding=k // 2) for a, b in pairs)
        self.act = ACTIVATIONS[spec.activation]()
        self.out_act = ACTIVATIONS[spec.output]()
        # Side of the feature map entering each pooling: where each decoder stage must land.
        self.sizes = [spec.side]
        for _ in spec.channels[1:]:
            self.sizes.append(-(-self.sizes[-1] // 2))
        last = -(-self.sizes[-1] // 2)
        self.code_shape = (spec.channels[-1], last, last)
        self.switches: list[torch.Tensor] | None = None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        s = self.spec
        h = x.reshape(len(x), s.in_channels, s.side, s.side)
        switches = []
        for conv in self.enc:
            h, idx = self.pool(self.act(conv(h)))
            switches.append(idx)
        self.switches = switches
        return h.flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = z.reshape(len(z), *self.code_shape)
        kind = self.spec.decoder
        if kind == "unpool" and (self.switches is None or len(self.switches[0]) != len(z)):
            raise RuntimeError("the unpool decoder needs the pooling switches of these images: "
                               "call encode() on them first (or use forward())")
        last = len(self.dec) - 1
        for i, (layer, size) in enumerate(zip(self.dec, reversed(self.sizes))):
            if kind == "unpool":
                h = layer(max_unpool2d(h, self.switches[last - i], (size, size)))
            elif kind == "unpool_fixed":
                idx = fixed_switches(h.shape[-1], size, h.device).expand(*h.shape)
                h = layer(max_unpool2d(h, idx, (size, size)))
            elif kind == "upsample":
                h = layer(F.interpolate(h, size=(size, size), mode="nearest"))
            else:
                h = layer(h, output_size=(size, size))
            h = self.out_act(h) if i == last else self.act(h)
        return h.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def side_info_bits(self) -> float:
        """Bits the decoder receives beside the code, per image: for ``unpool``, the pooling
        switches of every stage, log2(positions of its window) for each pooled value; 0 for
        the decoders that get the code alone.

        Windows are counted at their actual size: with ceil-mode pooling on an odd side
        (7 -> 4) the last row and column of windows are cut to 2x1, 1x2 and 1x1 positions,
        i.e. 1, 1 and 0 bits instead of 2. The sum is log2 of the number of switch settings
        the decoder can be given, an upper bound on what they tell it (a switch whose pooled
        value is 0, e.g. after a ReLU, changes nothing). MNIST 28x28 with channels
        [16, 8, 8]: 16*14*14*2 + 8*7*7*2 + 8*(3*3*2 + 6*1 + 0) = 7248 bits (the 2-bits-
        everywhere count, 2 * (16*14*14 + 8*7*7 + 8*4*4) = 7312, overcounts the cut windows).
        """
        if self.spec.decoder != "unpool":
            return 0.0
        k = self.pool.kernel_size
        k = k if isinstance(k, int) else k[0]
        bits = 0.0
        for chans, side in zip(self.spec.channels, self.sizes):  # side entering each pooling
            widths = [min(k, side - start) for start in range(0, side, k)]  # window extents
            bits += chans * sum(math.log2(a * b) for a in widths for b in widths)
        return bits


# Architecture name -> nn.Module; its spec dataclass is spec.ARCH_SPECS[name].
ARCHITECTURES = {"mlp": MLPAutoencoder, "conv": ConvAutoencoder}


def build(arch: str, input_dim: int, **params) -> nn.Module:
    """Build architecture ``arch`` for inputs of ``input_dim`` features from config params."""
    return ARCHITECTURES[arch](ARCH_SPECS[arch](input_dim=input_dim, **params))


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
