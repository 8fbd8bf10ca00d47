import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from _workflow import ROOT
from aebench import nets
from aebench.datasets.digits import prepare_digits
from aebench.train import DivergenceError, TrainConfig, fit, set_determinism, validation_loss


@pytest.fixture(scope="module")
def digits():
    p, _ = prepare_digits()
    return p


def _run(digits, seed, epochs=4):
    set_determinism(seed, threads=1)
    m = nets.build("mlp", 64, hidden=[32], code_dim=8)
    h = fit(m, digits.x_train, digits.x_val, TrainConfig(epochs=epochs, batch_size=64),
            seed=seed, log=lambda s: None)
    return m, h


def test_same_seed_same_numbers(digits):
    m1, h1 = _run(digits, 3)
    m2, h2 = _run(digits, 3)
    assert [r["val_loss"] for r in h1] == [r["val_loss"] for r in h2]
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    _, h3 = _run(digits, 4)
    assert [r["val_loss"] for r in h3] != [r["val_loss"] for r in h1]


def test_loss_decreases_and_best_epoch_is_restored(digits):
    m, h = _run(digits, 0, epochs=15)
    vals = [r["val_loss"] for r in h]
    assert vals[-1] < vals[0]
    final = validation_loss(m, torch.tensor(digits.x_val), TrainConfig())
    assert math.isclose(final, min(vals), rel_tol=1e-5)


def test_early_stopping_stops(digits):
    set_determinism(0, 1)
    m = nets.build("mlp", 64, hidden=[32], code_dim=8)
    # lr 0 never improves after the first epoch: stops after 1 + patience epochs
    h = fit(m, digits.x_train, digits.x_val, TrainConfig(epochs=50, lr=0.0, patience=3),
            log=lambda s: None)
    assert len(h) == 4


def test_diverging_loss_fails_with_a_clear_message(digits):
    set_determinism(0, 1)
    m = nets.build("mlp", 64, hidden=[], code_dim=8, activation="linear", output="linear")
    cfg = TrainConfig(epochs=5, lr=1e10, loss="mse")
    with pytest.raises(DivergenceError, match=r"diverged.*Lower `lr`"):
        fit(m, digits.x_train * 100, digits.x_val, cfg, log=lambda s: None, name="bad")


def test_progress_is_logged(digits):
    lines = []
    set_determinism(0, 1)
    m = nets.build("mlp", 64, hidden=[16], code_dim=4)
    fit(m, digits.x_train, digits.x_val, TrainConfig(epochs=2), log=lines.append, name="ae")
    assert any("epoch    2/2" in s and "train" in s and "val" in s for s in lines)


def test_codes_are_batched_like_the_full_pass():
    from aebench.train import batched

    x = torch.randn(10, 3)
    np.testing.assert_allclose(batched(lambda t: t * 2, x, batch_size=3).numpy(), (x * 2).numpy())


def test_set_determinism_sets_the_flag_without_loading_the_compiler():
    """Every pipeline job calls set_determinism; the public torch.use_deterministic_algorithms
    imports torch._inductor (~3 s per job). A fresh interpreter shows which modules load."""
    code = ("import sys; from aebench.train import set_determinism; import torch; "
            "set_determinism(0, 1); "
            "print(torch.are_deterministic_algorithms_enabled(), 'torch._inductor' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_weight_decay_shrinks_the_weights(digits):
    def train(wd):
        set_determinism(0, 1)
        m = nets.build("mlp", 64, hidden=[32], code_dim=8)
        fit(m, digits.x_train, digits.x_val, TrainConfig(epochs=3, batch_size=64, lr=1e-2,
                                                             weight_decay=wd), log=lambda s: None)
        return sum(float(w.detach().pow(2).sum()) for w in m.parameters())
    plain, decayed = train(0.0), train(1.0)
    # decoupled decay (AdamW) shrinks every step by lr * wd = 1%: 3 epochs of ~19 steps take
    # 0.99**57 ~ 0.56 off the norm, 0.32 off its square, less what the gradients put back
    assert decayed < 0.7 * plain


def test_fits_flush_denormal_floats_unless_told_not_to(monkeypatch):
    """A denormal (1e-39) times 2 is 0 once set_determinism has run: the x86 flush flags are
    on for the fit (late-training denormals cost tens of times a normal float's time)."""
    from aebench import train

    try:
        train.set_determinism(0)
        assert (torch.tensor([1e-39]) * 2).item() == 0.0
        monkeypatch.setattr(train, "FLUSH_DENORMALS", False)
        train.set_determinism(0)
        assert (torch.tensor([1e-39]) * 2).item() == pytest.approx(2e-39, rel=1e-3)
    finally:
        torch.set_flush_denormal(True)


def test_fp32_specs_are_unchanged_by_the_precision_setting():
    """precision: fp32 (the default) is left out of a spec's dict, so no fitted run's params
    change and nothing re-runs; bf16 is kept and read back."""
    assert "precision" not in TrainConfig().to_dict()
    bf16 = TrainConfig().over({"precision": "bf16"})
    assert bf16.to_dict()["precision"] == "bf16" and TrainConfig(**bf16.to_dict()) == bf16
    # a value the setting does not take is refused when the config is read (its schema)
    import yaml

    from aebench import config as aeconfig

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["training"]["precision"] = "fp16"
    with pytest.raises(aeconfig.ConfigError, match="precision"):
        aeconfig.load(cfg)


def test_bf16_is_refused_where_the_device_would_emulate_it(digits, monkeypatch):
    from aebench import train

    monkeypatch.setattr(train, "native_bf16", lambda device: False)
    m = nets.build("mlp", 64, hidden=[32], code_dim=8)
    with pytest.raises(RuntimeError, match=r"precision: bf16 needs .* Set `precision: fp32`"):
        fit(m, digits.x_train, digits.x_val, TrainConfig(epochs=1, precision="bf16"),
            log=lambda s: None)


def test_bf16_steps_train_fp32_weights_close_to_fp32s(digits, monkeypatch):
    """On a CPU with native bf16 (else the autocast path is forced: it is the same code, only
    slower): bf16 steps learn, the weights stay fp32, and the validation loss lands near the
    fp32 run's."""
    from aebench import train

    monkeypatch.setattr(train, "native_bf16", lambda device: True)
    losses = {}
    for precision in ("fp32", "bf16"):
        set_determinism(0, threads=1)
        m = nets.build("mlp", 64, hidden=[32], code_dim=8)
        h = fit(m, digits.x_train, digits.x_val,
                TrainConfig(epochs=15, batch_size=64, precision=precision), log=lambda s: None)
        assert all(p.dtype == torch.float32 for p in m.parameters())
        losses[precision] = [r["val_loss"] for r in h]
    assert losses["bf16"][-1] < losses["bf16"][0]
    assert losses["bf16"] != losses["fp32"]  # the steps did run in bf16
    assert abs(min(losses["bf16"]) / min(losses["fp32"]) - 1) < 0.05
