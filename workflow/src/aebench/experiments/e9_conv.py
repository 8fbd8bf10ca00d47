"""E9 (slides 17-19): one conv encoder, three ways to undo its pooling in the decoder.

Per model and seed: reconstruction error, parameter count and code size. For decoders built
from transposed convolutions, the lecture's slide 19 is checked on the trained layer: its
output on the real test codes equals an ordinary convolution of the zero-interleaved,
zero-padded codes with the flipped kernel (largest absolute difference).
"""

from __future__ import annotations

import torch

from ..methods import load_method
from ..models import ConvAutoencoder, transposed_conv_as_conv
from ..plots import reconstruction_grid
from . import experiment, reconstruction_values, rows


@torch.no_grad()
def deconv_as_conv_error(net: ConvAutoencoder, codes) -> float:
    """Largest |ConvTranspose2d(h) - conv2d(zero-spread h, flipped kernel)| over the first
    decoder layer applied to ``codes`` (flat, as ``encode`` returns them)."""
    layer = net.dec[0]
    h = torch.as_tensor(codes, dtype=torch.float32).reshape(len(codes), *net.code_shape)
    size = net.sizes[-1]
    lib = layer(h, output_size=(size, size)) - layer.bias.view(1, -1, 1, 1)
    k, s, p = layer.kernel_size[0], layer.stride[0], layer.padding[0]
    natural = (h.shape[-1] - 1) * s - 2 * p + k
    ours = transposed_conv_as_conv(h, layer.weight, stride=s, padding=p,
                                   output_padding=size - natural)
    return float((lib - ours).abs().max())


@experiment("e9")
def conv_decoders(ctx):
    out = []
    for model in ctx.params["models"]:
        for seed in ctx.seeds(model):
            m = ctx.metrics_json(model, seed)
            codes = ctx.codes(model, seed)["z_test"]
            values = {**reconstruction_values(m), "code_dim": codes.shape[1]}
            net = getattr(load_method(ctx.models[model][seed]), "net", None)
            if isinstance(net, ConvAutoencoder) and net.spec.decoder == "transposed":
                values["deconv_as_conv_max_err"] = deconv_as_conv_error(net, codes[:256])
            out += rows(model, seed, values)
    n = ctx.params["n_show"]
    panels = {"test input": ctx.data.x_test[:n]}
    for model in ctx.params["models"]:
        panels[model] = ctx.codes(model, ctx.seeds(model)[0])["recon_test_head"][:n]
    reconstruction_grid(panels, ctx.data.shape, ctx.figures["reconstructions"])
    return out
