"""E9: the conv autoencoder, its unpooling path, and slide 19's transposed-conv identity."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from snakemake.utils import update_config

from aebench import config as aeconfig
from aebench import nets
from aebench.datasets.digits import prepare_digits
from aebench.kinds import load_run, make, parse_model
from aebench.spec import DECODER_NAMES
from aebench.train import TrainConfig, fit, set_determinism

ROOT = Path(__file__).resolve().parents[1]


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


def test_fixed_switches_put_each_value_at_the_top_left_of_its_window_and_zeros_elsewhere():
    h = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    even = nets.max_unpool2d(h, nets.fixed_switches(2, 4).expand(*h.shape), (4, 4))
    torch.testing.assert_close(even, torch.tensor([[[[1.0, 0, 2, 0], [0, 0, 0, 0],
                                                     [3, 0, 4, 0], [0, 0, 0, 0]]]]),
                               rtol=0, atol=0)
    # Odd side (ceil-mode pooling, 3 -> 2): the cut-short last window keeps its top-left.
    odd = nets.max_unpool2d(h, nets.fixed_switches(2, 3).expand(*h.shape), (3, 3))
    torch.testing.assert_close(odd, torch.tensor([[[[1.0, 0, 2], [0, 0, 0], [3, 0, 4]]]]),
                               rtol=0, atol=0)
    # 7 -> 4 (MNIST's third stage), several images and channels: every value lands at
    # (2i, 2j), inside the 7x7 map, and nothing else is written.
    x = torch.randn(2, 3, 4, 4) + 10  # no zeros among the values
    up = nets.max_unpool2d(x, nets.fixed_switches(4, 7).expand(*x.shape), (7, 7))
    assert up.shape == (2, 3, 7, 7)
    torch.testing.assert_close(up[:, :, ::2, ::2], x, rtol=0, atol=0)
    assert (up != 0).sum() == x.numel()
    with pytest.raises(ValueError, match="not the 2x2 pooling"):
        nets.fixed_switches(3, 7)


@pytest.mark.parametrize("side", [8, 7])
def test_unpool_fixed_decoder_decodes_from_the_code_alone(side):
    torch.manual_seed(0)
    m = nets.build("conv", side * side, channels=[4], decoder="unpool_fixed")
    z = torch.rand(3, 4 * ((side + 1) // 2) ** 2)
    out = m.decode(z)  # no encode() before: nothing beyond the code is needed
    # by hand: each code value at the top-left of its window, zeros elsewhere, the conv
    spread = torch.zeros(3, 4, side, side)
    spread[:, :, ::2, ::2] = z.view(3, 4, (side + 1) // 2, (side + 1) // 2)
    conv = m.dec[0]
    expected = torch.sigmoid(F.conv2d(spread, conv.weight, conv.bias, padding=1)).flatten(1)
    torch.testing.assert_close(out, expected)
    # The images encoded last do not change the decoding of a code (unlike unpool's switches).
    x = torch.rand(3, side * side)
    torch.testing.assert_close(m(x), m.decode(m.encode(x)))
    m.encode(torch.rand(5, side * side))
    torch.testing.assert_close(m.decode(z), out)


@pytest.mark.parametrize("side", [8, 28, 7])
def test_unpool_fixed_computes_what_the_transposed_conv_decoder_computes(side):
    """Slide 19 from the other side: zero-interleaving (values at the top-left) and a conv is
    a stride-2 transposed conv with the flipped kernel; the control differs from
    conv_transposed only in its initial weights."""
    torch.manual_seed(1)
    # tanh, not ReLU: a random decoder whose ReLUs are all off would give a constant image
    # whatever its unpooling does, and the comparison would prove nothing
    kw = dict(channels=[4, 3], activation="tanh")
    fixed = nets.build("conv", side * side, decoder="unpool_fixed", **kw).double()
    tr = nets.build("conv", side * side, decoder="transposed", **kw).double()
    fixed.enc.load_state_dict(tr.enc.state_dict())
    with torch.no_grad():
        for a, b in zip(fixed.dec, tr.dec):
            a.weight.copy_(b.weight.flip(-1, -2).transpose(0, 1))
            a.bias.copy_(b.bias)
    x = torch.rand(4, side * side, dtype=torch.float64)
    assert (tr(x) - tr(x).mean()).abs().max() > 1e-3
    torch.testing.assert_close(fixed(x), tr(x))


def test_side_info_bits_count_the_switches_of_the_unpool_decoder_only():
    # MNIST 28x28, Keras' channels [16, 8, 8]: pooling 28 -> 14, 14 -> 7, 7 -> 4 (ceil mode).
    # Full 2x2 windows: 2 bits per pooled value. The 7 -> 4 stage has per channel 3x3 full
    # windows (2 bits), 6 cut to 2 positions (1 bit) and one corner of 1 position (0 bits).
    by_hand = 16 * 14 * 14 * 2 + 8 * 7 * 7 * 2 + 8 * (9 * 2 + 6 * 1 + 1 * 0)
    assert by_hand == 7248  # the 2-bits-everywhere count, 2 * 3656 = 7312, less 8 * 8
    net = nets.build("conv", 784, channels=[16, 8, 8], decoder="unpool")
    assert net.side_info_bits() == by_hand
    assert net.code_shape == (8, 4, 4)  # beside a 128-float code
    # 8x8 digits, the smoke preset's [16, 8]: 8 -> 4 -> 2, full windows only
    assert nets.build("conv", 64, channels=[16, 8]).side_info_bits() == 16 * 16 * 2 + 8 * 4 * 2
    for decoder in set(DECODER_NAMES) - {"unpool"}:
        assert nets.build("conv", 784, channels=[16, 8, 8], decoder=decoder).side_info_bits() == 0


@pytest.mark.parametrize("side,channels", [(28, [16, 8, 8]), (7, [2, 3, 1]), (9, [1, 1]),
                                           (5, [2, 2, 2])])
def test_side_info_bits_is_log2_of_the_positions_the_switches_can_take(side, channels):
    """Counted another way: pool images whose maximum is in turn at each position of the
    input and record which switch values every pooled place takes."""
    net = nets.build("conv", side * side, channels=channels, decoder="unpool")
    bits = 0.0
    for c, s in zip(channels, net.sizes):
        eye = torch.eye(s * s).view(s * s, 1, s, s)  # one image per input position
        _, idx = net.pool(eye)
        seen = {}
        for k in range(s * s):
            pooled_at = (idx[k, 0] == k).nonzero()  # the window this position fell into
            assert len(pooled_at) == 1
            seen.setdefault(tuple(pooled_at[0].tolist()), set()).add(k)
        assert len(seen) == idx[0, 0].numel()  # every pooled place has a window
        bits += c * sum(math.log2(len(v)) for v in seen.values())
    assert net.side_info_bits() == pytest.approx(bits, abs=1e-9)


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
                  for d in DECODER_NAMES}
    assert set(by_decoder) == {"unpool", "unpool_fixed", "upsample", "transposed"}
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
        parse_model("c", {"kind": "autoencoder", "params": {"arch": "conv", "hidden": [3]}},
                    "digits", {})


def test_config_check_knows_the_fixed_switch_decoder():
    ok = parse_model("c", {"kind": "autoencoder",
                           "params": {"arch": "conv", "decoder": "unpool_fixed"}}, "digits", {})
    assert ok.arch_params["decoder"] == "unpool_fixed"
    assert ok.arch_spec(64).decoder == "unpool_fixed"
    with pytest.raises(ValueError, match=r"models\.c: .*decoder: 'unpool_random' is not one of "
                                         r"\('unpool', 'unpool_fixed', 'upsample', 'transposed'\)"):
        parse_model("c", {"kind": "autoencoder",
                          "params": {"arch": "conv", "decoder": "unpool_random"}}, "digits", {})


@pytest.mark.parametrize("preset", [None, "quick", "smoke"])
def test_the_control_is_conv_unpool_with_fixed_switches_in_every_config(preset):
    """conv_unpool_fixed differs from conv_unpool in its decoder alone (channels, training,
    epochs), in the defaults and in each preset; E9 reads both."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    if preset:
        update_config(cfg, yaml.safe_load((ROOT / "workflow" / "presets" / f"{preset}.yaml")
                                          .read_text()))
    parsed = aeconfig.load(cfg)
    a, b = parsed.models["conv_unpool"], parsed.models["conv_unpool_fixed"]
    assert a.arch_params["decoder"] == "unpool" and b.arch_params["decoder"] == "unpool_fixed"
    assert ({**a.arch_params, "decoder": None} == {**b.arch_params, "decoder": None}
            and a.train == b.train and a.dataset == b.dataset)
    assert {"conv_unpool", "conv_unpool_fixed"} <= set(parsed.experiment_models("e9"))


def test_e9_reports_code_floats_and_side_info_bits(digits, tmp_path):
    """E9's rows on tiny untrained nets: the side information beside the code size."""
    from aebench.experiments import EXPERIMENTS, Context

    e9 = EXPERIMENTS["e9"]
    models = {f"conv_{d}": nets.build("conv", 64, channels=[16, 8], decoder=d)
              for d in DECODER_NAMES}
    x = torch.as_tensor(digits.x_test[:6], dtype=torch.float32)

    class Fake(Context):
        def metrics_json(self, model, seed):
            return {"test_sq_err_per_image": 1.0, "test_mse_per_pixel": 0.1,
                    "n_params": nets.n_params(models[model]), "train_seconds": 0.0}

        def codes(self, model, seed):
            with torch.no_grad():
                net = models[model]
                return {"z_test": net.encode(x).numpy(), "recon_test_head": net(x).numpy()}

        def load(self, model, seed):
            return SimpleNamespace(net=models[model])

    params = e9.Params(models=list(models), n_show=4)
    fake = Fake("e9", tmp_path / "digits.npz", {m: {0: tmp_path} for m in models},
                params, tmp_path / "figures", _data=digits)
    # each run is measured in its own step (rule evaluate); the experiment's step reads those
    evals = {m: {0: tmp_path / "evals" / m} for m in models}
    for m in models:
        e9.evaluate(fake, m, 0).save(evals[m][0])
    ctx = Context("e9", tmp_path / "digits.npz", evals, params, tmp_path / "figures", _data=digits)
    got = {(r["model"], r["metric"]): r["value"] for r in e9.run(ctx)}
    for m in models:
        assert got[m, "code_floats"] == 8 * 2 * 2
        assert got[m, "side_info_bits"] == (16 * 16 * 2 + 8 * 4 * 2 if m == "conv_unpool" else 0)
    assert got["conv_transposed", "deconv_as_conv_max_err"] < 1e-5
    assert (tmp_path / "figures" / "reconstructions.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("decoder", DECODER_NAMES)
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
