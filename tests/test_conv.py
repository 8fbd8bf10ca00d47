"""E9: the conv autoencoder, its unpooling path, and slide 19's transposed-conv identity."""

import json

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from aebench import nets
from aebench.datasets.digits import prepare_digits
from aebench.kinds import load_run, make
from aebench.train import TrainConfig, fit, set_determinism


@pytest.fixture(scope="module")
def digits():
    p, _ = prepare_digits()
    return p


def test_unpool_puts_values_back_at_the_argmax_positions_and_zeros_elsewhere():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 6, 6)
    pooled, switches = nn.MaxPool2d(2, return_indices=True)(x)
    up = nets.max_unpool2d(pooled, switches, (6, 6))
    windows = x.unfold(2, 2, 2).unfold(3, 2, 2).reshape(2, 3, 3, 3, 4)  # each 2x2 window
    arg = windows.argmax(-1)
    expected = torch.zeros_like(x)
    for i in range(3):
        for j in range(3):
            r, c = 2 * i + arg[..., i, j] // 2, 2 * j + arg[..., i, j] % 2
            n_idx, c_idx = torch.meshgrid(torch.arange(2), torch.arange(3), indexing="ij")
            expected[n_idx, c_idx, r, c] = x[n_idx, c_idx, r, c]
    torch.testing.assert_close(up, expected, rtol=0, atol=0)
    assert (up != 0).sum() == pooled.numel()  # exactly one non-zero per window
    # ... which is what nn.MaxUnpool2d computes (torch refuses it in deterministic mode).
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        ref = nn.MaxUnpool2d(2)(pooled, switches, output_size=(6, 6))
    finally:
        torch.use_deterministic_algorithms(was)
    torch.testing.assert_close(up, ref, rtol=0, atol=0)


def test_unpool_decoder_uses_the_switches_of_the_encoded_images():
    m = nets.build("conv", 64, channels=[4], decoder="unpool")
    x = torch.rand(3, 64)
    z = m.encode(x)
    assert z.shape == (3, 4 * 4 * 4)
    torch.testing.assert_close(m.decode(z), m(x))
    # The switches carry information beyond the code: the same code decoded with the
    # switches of other images gives another picture.
    m.encode(torch.rand(3, 64))
    assert not torch.allclose(m.decode(z), m(x))
    with pytest.raises(RuntimeError, match="pooling switches"):
        m.decode(z[:2])  # switches of 3 images cannot decode 2 codes
    with pytest.raises(RuntimeError, match="pooling switches"):
        nets.build("conv", 64, channels=[4], decoder="unpool").decode(z)


@pytest.mark.parametrize("stride,padding,output_padding,k", [
    (1, 0, 0, 3), (1, 1, 0, 3), (2, 0, 0, 3), (2, 1, 0, 3), (2, 1, 1, 3), (3, 2, 1, 4),
    (2, 0, 1, 2), (3, 0, 0, 5)])
def test_transposed_conv_is_a_conv_of_the_zero_spread_padded_input_with_flipped_kernel(
        stride, padding, output_padding, k):
    g = torch.Generator().manual_seed(stride * 100 + padding * 10 + k)
    x = torch.randn(2, 3, 5, 4, generator=g, dtype=torch.float64)
    w = torch.randn(3, 2, k, k, generator=g, dtype=torch.float64)  # (in, out, k, k)
    lib = F.conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=output_padding)
    ours = nets.transposed_conv_as_conv(x, w, stride, padding, output_padding)
    torch.testing.assert_close(ours, lib)
    # The flip matters: the same construction with the kernel as is gives something else.
    spread = x.new_zeros(2, 3, 4 * stride + 1, 3 * stride + 1)
    spread[:, :, ::stride, ::stride] = x
    e = k - 1 - padding
    unflipped = F.conv2d(F.pad(spread, (e, e + output_padding, e, e + output_padding)),
                         w.transpose(0, 1))
    assert not torch.allclose(unflipped, lib)


def test_transposed_conv_hand_case():
    # One input pixel per position, stride 2: the output is the kernel stamped at 2x spacing,
    # summed where stamps overlap.
    x = torch.tensor([[[[1.0, 2.0]]]])
    w = torch.tensor([[[[1.0, 10.0, 100.0]]]])
    expected = torch.tensor([[[[1.0, 10.0, 100.0 + 2.0, 20.0, 200.0]]]])
    torch.testing.assert_close(nets.transposed_conv_as_conv(x, w, stride=2), expected)
    torch.testing.assert_close(F.conv_transpose2d(x, w, stride=2), expected)


@pytest.mark.parametrize("side", [8, 28, 7])
def test_conv_ae_takes_the_image_side_from_the_data(side):
    by_decoder = {d: nets.build("conv", side * side, channels=[4, 3], decoder=d)
                  for d in ("unpool", "upsample", "transposed")}
    x = torch.rand(5, side * side)
    for net in by_decoder.values():
        out = net(x)
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    # one kernel per stage whichever way the pooling is undone
    assert len({nets.n_params(n) for n in by_decoder.values()}) == 1


def test_conv_spec_rejects_bad_params_clearly():
    with pytest.raises(ValueError, match="not 1 square image"):
        nets.build("conv", 50)
    with pytest.raises(ValueError, match="decoder: 'deconv' is not one of"):
        nets.build("conv", 64, decoder="deconv")
    with pytest.raises(ValueError, match="models.c: .*unexpected keyword argument .hidden."):
        from aebench.kinds import parse_model

        parse_model("c", {"kind": "autoencoder", "params": {"arch": "conv", "hidden": [3]}},
                    "digits", {})


@pytest.mark.parametrize("decoder", ["unpool", "upsample", "transposed"])
def test_conv_ae_learns_digits_with_the_training_core(digits, decoder):
    set_determinism(0, threads=1)
    net = nets.build("conv", digits.dim, channels=[8, 4], decoder=decoder)
    h = fit(net, digits.x_train, digits.x_val, TrainConfig(epochs=6, batch_size=64, lr=3e-3),
            log=lambda s: None)
    assert h[-1]["val_loss"] < 0.85 * h[0]["val_loss"]


def test_conv_method_round_trip_and_reconstruct_through_forward(digits, tmp_path):
    set_determinism(0, threads=1)
    m = make({"kind": "autoencoder",
              "params": {"arch": "conv", "channels": [4], "decoder": "unpool"},
              "train": {"epochs": 2, "batch_size": 128}}, dataset="digits")
    m.fit(digits, 0, {}, log=lambda s: None, device="cpu")
    rec = m.reconstruct(digits.x_test)
    assert rec.shape == digits.x_test.shape
    m.save(tmp_path)
    # load_run rebuilds the net from the spec that run.json carries (aebench.runs writes it)
    (tmp_path / "run.json").write_text(json.dumps({"kind": "autoencoder", "seed": 0,
                                                   "dataset": "digits", "spec": m.spec.to_dict()}))
    back = load_run(tmp_path)
    assert back.spec.arch == "conv" and back.net.spec.decoder == "unpool"
    np.testing.assert_array_equal(back.reconstruct(digits.x_test), rec)
    np.testing.assert_array_equal(back.encode(digits.x_test), m.encode(digits.x_test))


def test_mlp_reconstruct_is_unchanged_by_going_through_forward(digits):
    """reconstruct() now calls forward(); for the MLP that is bit-identical to before."""
    set_determinism(0, threads=1)
    m = make({"kind": "autoencoder", "params": {"hidden": [32], "code_dim": 8},
              "train": {"epochs": 2}}, dataset="digits")
    m.fit(digits, 0, {}, log=lambda s: None, device="cpu")
    np.testing.assert_array_equal(m.reconstruct(digits.x_test),
                                  m.decode(m.encode(digits.x_test)))
