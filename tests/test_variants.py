"""E7 variants: noise models, clean targets, the contractive and sparse penalties."""

import json

import numpy as np
import pytest
import torch

from aebench import nets, variants
from aebench.datasets.digits import prepare_digits
from aebench.kinds import load_run, make, parse_model
from aebench.train import TrainConfig, autoencoder_objective, reconstruction_loss, set_determinism


@pytest.fixture(scope="module")
def digits():
    p, _ = prepare_digits()
    return p


def test_gaussian_noise_has_the_asked_statistics():
    x = torch.rand(400, 500)
    g = torch.Generator().manual_seed(0)
    d = variants.NoiseSpec("gaussian", 0.3)(x, generator=g) - x
    assert abs(d.mean().item()) < 3 * 0.3 / np.sqrt(d.numel())  # zero mean (3 sigma)
    assert d.std().item() == pytest.approx(0.3, rel=0.01)
    # Normal, not e.g. uniform: ~68.3% within one std
    assert (d.abs() < 0.3).float().mean().item() == pytest.approx(0.6827, abs=0.005)
    assert variants.NoiseSpec("gaussian", 0.0)(x).equal(x)


def test_masking_noise_zeroes_the_asked_fraction_and_keeps_the_rest():
    x = torch.rand(400, 500) + 0.5  # no zeros to begin with
    for level in (0.1, 0.5, 0.9):
        y = variants.NoiseSpec("mask", level)(x, generator=torch.Generator().manual_seed(1))
        zeroed = y == 0
        assert zeroed.float().mean().item() == pytest.approx(level, abs=0.005)
        assert torch.equal(y[~zeroed], x[~zeroed])  # kept inputs are not rescaled


def test_noise_is_seeded():
    x = torch.rand(10, 20)
    a = variants.NoiseSpec("mask", 0.5)(x, generator=torch.Generator().manual_seed(3))
    b = variants.NoiseSpec("mask", 0.5)(x, generator=torch.Generator().manual_seed(3))
    c = variants.NoiseSpec("mask", 0.5)(x, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_denoising_objective_corrupts_the_input_but_targets_the_clean_one():
    set_determinism(0, 1)
    m = nets.build("mlp", 20, hidden=[], code_dim=8, code_activation="sigmoid")
    x = torch.rand(32, 20)
    cfg = TrainConfig(loss="bce")
    noise = variants.NoiseSpec("mask", 0.5)
    torch.manual_seed(7)
    loss = autoencoder_objective(m, x, cfg, corrupt=noise)
    torch.manual_seed(7)
    x_noisy = noise(x)
    assert not torch.equal(x_noisy, x)
    out = m(x_noisy)
    assert torch.equal(loss, reconstruction_loss(out, x, "bce"))  # clean target
    assert not torch.allclose(loss, reconstruction_loss(out, x_noisy, "bce"))
    assert not torch.allclose(loss, reconstruction_loss(m(x), x, "bce"))


def finite_difference_jacobian(f, x, eps=1e-6):
    """Central differences, one input coordinate at a time (float64)."""
    cols = []
    for i in range(x.numel()):
        e = torch.zeros_like(x)
        e[i] = eps
        cols.append((f(x + e) - f(x - e)) / (2 * eps))
    return torch.stack(cols, dim=1)  # (out, in)


@pytest.mark.parametrize("hidden", [[], [5]])
def test_contractive_penalty_matches_a_finite_difference_jacobian(hidden):
    """[] takes the closed form for one sigmoid layer, [5] the torch.func path."""
    torch.manual_seed(0)
    m = nets.build("mlp", 6, hidden=hidden, code_dim=4, activation="tanh",
                     code_activation="sigmoid").double().eval()
    assert variants._single_sigmoid_layer(m) == (hidden == [])
    x = torch.randn(3, 6, dtype=torch.float64)
    ours = variants.jacobian_frobenius_sq(m, x)
    with torch.no_grad():
        fd = torch.stack([finite_difference_jacobian(lambda v: m.encode(v[None])[0], xi)
                          .pow(2).sum() for xi in x])
    torch.testing.assert_close(ours, fd, rtol=1e-6, atol=1e-9)
    pen = variants.contractive_penalty(m, x, m.encode(x))
    torch.testing.assert_close(pen, fd.mean(), rtol=1e-6, atol=1e-9)


def test_closed_form_and_torch_func_agree_in_value_and_gradient(monkeypatch):
    torch.manual_seed(1)
    m = nets.build("mlp", 7, hidden=[], code_dim=5, code_activation="sigmoid").double()
    x = torch.rand(4, 7, dtype=torch.float64)

    def grads(force_generic):
        if force_generic:
            monkeypatch.setattr(variants, "_single_sigmoid_layer", lambda model: False)
        m.zero_grad()
        p = variants.contractive_penalty(m, x, m.encode(x))
        p.backward()
        monkeypatch.undo()
        return p.detach(), [q.grad.clone() for q in m.enc.parameters()]

    (p1, g1), (p2, g2) = grads(False), grads(True)
    torch.testing.assert_close(p1, p2)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)
    assert all(g.abs().sum() > 0 for g in g1)  # the penalty does train the encoder


def _fit(digits, params, epochs=15):
    m = make({"kind": "autoencoder",
              "params": {"hidden": [], "code_dim": 16, "code_activation": "sigmoid", **params},
              "train": {"epochs": epochs, "batch_size": 64, "patience": 50}}, dataset="digits")
    set_determinism(0, 1)
    m.fit(digits, 0, {}, log=lambda s: None, device="cpu")
    return m


@pytest.fixture(scope="module")
def plain(digits):
    return _fit(digits, {})


def test_l1_penalty_makes_the_code_sparse(digits, plain):
    sparse = _fit(digits, {"regularizer": {"kind": "l1", "weight": 0.05}})
    z_plain, z_sparse = plain.encode(digits.x_test), sparse.encode(digits.x_test)
    assert np.abs(z_sparse).sum(1).mean() < 0.5 * np.abs(z_plain).sum(1).mean()
    assert (np.abs(z_sparse) < 0.05).mean() > (np.abs(z_plain) < 0.05).mean() + 0.2


def test_contractive_training_shrinks_the_encoder_jacobian(digits, plain):
    cae = _fit(digits, {"regularizer": {"kind": "contractive", "weight": 0.5}})
    x = torch.as_tensor(digits.x_test)
    with torch.no_grad():
        j_plain = variants.jacobian_frobenius_sq(plain.net, x).mean()
        j_cae = variants.jacobian_frobenius_sq(cae.net, x).mean()
    assert j_cae < 0.5 * j_plain


def test_variant_survives_save_and_load(digits, tmp_path):
    m = _fit(digits, {"input_noise": {"kind": "gaussian", "level": 0.2}}, epochs=1)
    m.save(tmp_path)
    # the variant travels in the spec that run.json carries (as aebench.runs.fit_run writes it)
    (tmp_path / "run.json").write_text(json.dumps({"kind": "autoencoder", "seed": 0,
                                                   "dataset": "digits", "spec": m.spec.to_dict()}))
    back = load_run(tmp_path)
    assert back.spec.objective.to_dict()["input_noise"] == {"kind": "gaussian", "level": 0.2}
    assert back.spec.objective.input_noise == variants.NoiseSpec("gaussian", 0.2)
    assert back.objective_fn().keywords["corrupt"] == variants.NoiseSpec("gaussian", 0.2)
    np.testing.assert_array_equal(back.encode(digits.x_test), m.encode(digits.x_test))


def test_plain_model_keeps_the_plain_objective():
    m = make({"kind": "autoencoder", "params": {"code_dim": 4}})
    assert not m.spec.objective
    assert m.objective_fn() is autoencoder_objective


@pytest.mark.parametrize("params, match", [
    ({"input_noise": {"kind": "salt", "level": 0.1}}, "noise kind 'salt'"),
    ({"input_noise": {"kind": "mask", "level": 1.5}}, "masked fraction"),
    ({"input_noise": {"kind": "gaussian"}}, r"input_noise takes exactly the keys \['kind', 'level'\]"),
    ({"regularizer": {"kind": "l2", "weight": 1.0}}, "kind 'l2' is not one of"),
    ({"regularizer": {"kind": "l1", "weight": -1}}, "weight must be"),
    ({"regularizer": "l1"}, "regularizer must be a mapping"),
])
def test_bad_variant_params_fail_fast_naming_the_model(params, match):
    with pytest.raises(ValueError, match=f"models.v: .*{match}"):
        parse_model("v", {"kind": "autoencoder", "params": {"code_dim": 4, **params}}, "digits", {})


def test_a_name_registered_twice_is_an_error():
    from aebench.registry import Registry

    table = Registry("function")
    register = table.register
    register("a")(len)
    assert table == {"a": len}
    with pytest.raises(ValueError, match="'a' is registered twice"):
        register("a")(abs)
    assert table == {"a": len}  # the first one stays


def test_e7_fits_its_budget_models_as_capped_copies_and_picks_the_best_on_validation():
    from aebench import experiments
    from aebench.experiments.e7_variants import Params, best_budget

    e7 = experiments.EXPERIMENTS["e7"]
    p = Params(models=["ae_plain", "ae_sparse"], noise_eval=[{"kind": "mask", "level": 0.3}],
               budget_models=["ae_plain"], budget_epochs=[5, 20])
    config = {"models": {"ae_plain": {"kind": "autoencoder",
                                      "params": {"hidden": [], "code_dim": 16},
                                      "train": {"epochs": 80, "lr": 0.01}}},
              "training": {"epochs": 300, "batch_size": 64}}
    derived = e7.derived_models(p, config)
    assert sorted(derived) == ["ae_plain_ep20", "ae_plain_ep5"]
    spec = derived["ae_plain_ep5"]
    assert spec.train.epochs == 5 and spec.train.lr == 0.01 and spec.train.batch_size == 64
    assert e7.models(p) == ["ae_plain", "ae_sparse", "ae_plain_ep5", "ae_plain_ep20"]
    fits = {"ae_plain": {"probe_val_accuracy": 0.90, "probe_accuracy": 0.89, "epochs": 80},
            "ae_plain_ep5": {"probe_val_accuracy": 0.94, "probe_accuracy": 0.93, "epochs": 5},
            "ae_plain_ep20": {"probe_val_accuracy": 0.94, "probe_accuracy": 0.99, "epochs": 20}}
    assert best_budget(fits)["epochs"] == 5  # best on validation, the first of equals; never test
    with pytest.raises(ValueError, match="not one of its models"):
        e7.derived_models(Params(models=["ae_sparse"], noise_eval=p.noise_eval,
                                 budget_models=["ae_plain"], budget_epochs=[5]), config)
