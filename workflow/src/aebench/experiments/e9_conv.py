"""E9 (slides 17-19): one conv encoder, four ways to undo its pooling in the decoder.

Per model and seed: reconstruction error, parameter count, code size (``code_floats``) and
the side information its decoder receives beside the code (``side_info_bits``: the pooling
switches of the ``unpool`` decoder; 0 for the others, the fixed-switch control
``unpool_fixed`` included). For decoders built
from transposed convolutions, the lecture's slide 19 is checked on the trained layer: its
output on the real test codes equals an ordinary convolution of the zero-interleaved,
zero-padded codes with the flipped kernel (largest absolute difference).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import Evaluation, Experiment, reconstruction_values, rows


def deconv_as_conv_error(net, codes) -> float:
    """Largest |ConvTranspose2d(h) - conv2d(zero-spread h, flipped kernel)| over the first
    decoder layer of a ConvAutoencoder applied to ``codes`` (flat, as ``encode`` returns them)."""
    import torch

    from ..nets import transposed_conv_as_conv

    layer = net.dec[0]
    with torch.no_grad():
        h = torch.as_tensor(codes, dtype=torch.float32).reshape(len(codes), *net.code_shape)
        size = net.sizes[-1]
        lib = layer(h, output_size=(size, size)) - layer.bias.view(1, -1, 1, 1)
        k, s, p = layer.kernel_size[0], layer.stride[0], layer.padding[0]
        natural = (h.shape[-1] - 1) * s - 2 * p + k
        ours = transposed_conv_as_conv(h, layer.weight, stride=s, padding=p,
                                       output_padding=size - natural)
    return float((lib - ours).abs().max())


@dataclass
class Params:
    models: list[str] = field(metadata={"schema": {"minItems": 1}})
    n_show: int = field(default=10, metadata={"schema": {"minimum": 1, "maximum": 64}})


class E9(Experiment):
    name = "e9"
    title = "conv AE"
    lecture = "slides 17-19"
    Params = Params
    table_caption = (
        "Convolutional autoencoders (slides 17-19): one encoder architecture (3x3 conv + ReLU + "
        "2x2 max-pool per stage (channels per stage as in config.yaml); the code is the last "
        "feature map, flattened) and four decoders that differ only in how they undo each "
        "pooling: **conv_unpool** puts each value back where the encoder's pooling switch says "
        "its maximum was (zeros elsewhere) and then convolves; **conv_unpool_fixed**, the "
        "control, does the same with fixed switches (each value back at the top-left of its "
        "window), so it decodes from the code alone; **conv_upsample** repeats each value over "
        "its 2x2 window (nearest neighbour, Keras' UpSampling2D) and then convolves; "
        "**conv_transposed** uses one stride-2 transposed convolution. All four have one kernel "
        "per stage, hence the same parameter count. Test squared error per image (sum over "
        "pixels in [0, 1]) and per-pixel MSE, mean ± 95% CI over seeds. "
        "``code_floats``: the code's size (floats per image). ``side_info_bits``: what the "
        "decoder receives beside the code, per image: for conv_unpool the switches, log2 of its "
        "window's positions for every pooled value of every stage (2 bits for a full 2x2 "
        "window; windows cut short by an odd side count 1 or 0). For 28x28 MNIST with channels "
        "[16, 8, 8] that is 7248 bits beside a 128-float code (for scale, the code's float32 "
        "values are 4096 bits): conv_unpool's lower error is measured given these switches, "
        "not from the code alone. conv_unpool_fixed (0 bits) is conv_unpool without them, same "
        "parameters: the gap between the two is what the switches buy. (Zero-interleaving "
        "followed by a conv is a transposed conv, slide 19: with each kernel flipped, "
        "conv_unpool_fixed computes what conv_transposed computes, so the two nets differ only "
        "in their initial weights and float rounding.) "
        "``deconv_as_conv_max_err``: the largest difference between the trained transposed-conv "
        "layer's output on the test codes and an ordinary convolution of the zero-interleaved, "
        "zero-padded codes with the flipped kernel (slide 19: a \"deconvolution\" is a "
        "convolution; float32 rounding only).")
    figures = {"reconstructions.png": (
        "First test images (top row) and their reconstructions by the conv autoencoders (first "
        "seed): max-unpooling with the pooling switches, max-unpooling with fixed switches "
        "(top-left; the control without side information), nearest-neighbour upsampling + conv, "
        "and transposed convolution.")}

    def evaluate(self, ctx, model, seed):
        from ..nets import ConvAutoencoder

        m = ctx.metrics_json(model, seed)
        codes = ctx.codes(model, seed)
        net = getattr(ctx.load(model, seed), "net", None)
        values = {**reconstruction_values(m), "code_floats": codes["z_test"].shape[1],
                  "side_info_bits": (net.side_info_bits()
                                     if isinstance(net, ConvAutoencoder) else 0.0)}
        if isinstance(net, ConvAutoencoder) and net.spec.decoder == "transposed":
            values["deconv_as_conv_max_err"] = deconv_as_conv_error(net, codes["z_test"][:256])
        return Evaluation(values, {"recon_test_head": codes["recon_test_head"][:ctx.params.n_show]})

    def run(self, ctx):
        from ..plots import reconstruction_grid

        out = []
        for model in ctx.params.models:
            for seed in ctx.seeds(model):
                out += rows(model, seed, ctx.evaluation(model, seed).values)
        n = ctx.params.n_show
        d = ctx.data_of(ctx.seeds(ctx.params.models[0])[0])  # the first seed's, as the panels
        panels = {"test input": d.x_test[:n]}
        for model in ctx.params.models:
            panels[model] = ctx.evaluation(model, ctx.seeds(model)[0]).arrays["recon_test_head"]
        reconstruction_grid(panels, d.shape, ctx.figure("reconstructions.png"))
        return out
