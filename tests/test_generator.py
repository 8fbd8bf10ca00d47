"""E10: the code grid, the L2 penalty on the code, and the classifier that judges decodings."""

import numpy as np
import pytest
import torch

from aebench import nets
from aebench.datasets.digits import prepare_digits
from aebench.experiments.e10_generator import code_box, code_grid
from aebench.train import TrainConfig, autoencoder_objective, fit, reconstruction_loss, set_determinism


@pytest.fixture(scope="module")
def digits():
    p, _ = prepare_digits()
    return p


def test_grid_is_evenly_spaced_over_the_box_in_image_order():
    pts, lo, hi = code_grid([0.0, -2.0], [4.0, 2.0], n=3)
    np.testing.assert_array_equal(lo, [0, -2])
    np.testing.assert_array_equal(hi, [4, 2])
    # rows top (largest code 2) to bottom, columns left to right: make_grid's tile order
    np.testing.assert_allclose(pts, [[0, 2], [2, 2], [4, 2],
                                     [0, 0], [2, 0], [4, 0],
                                     [0, -2], [2, -2], [4, -2]])


def test_wider_grid_keeps_the_centre_and_scales_the_box():
    pts, lo, hi = code_grid([1.0, 1.0], [3.0, 5.0], n=5, extent=1.5)
    np.testing.assert_allclose(lo, [0.5, 0.0])
    np.testing.assert_allclose(hi, [3.5, 6.0])
    np.testing.assert_allclose(pts.mean(0), [2.0, 3.0], atol=1e-6)
    np.testing.assert_allclose(np.diff(np.unique(pts[:, 0])), 0.75, atol=1e-6)
    assert len(pts) == 25


def test_code_box_is_the_quantile_range_and_needs_2d_codes():
    z = np.stack([np.arange(101.0), -np.arange(101.0)], 1)
    lo, hi = code_box(z, 0.1)
    np.testing.assert_allclose(lo, [10, -90])
    np.testing.assert_allclose(hi, [90, -10])
    np.testing.assert_allclose(code_box(z, 0.0), ([0, -100], [100, 0]))
    with pytest.raises(ValueError, match="needs 2-D codes"):
        code_box(np.zeros((5, 3)), 0.01)


def test_code_l2_adds_the_mean_squared_code_norm(digits):
    torch.manual_seed(0)
    m = nets.build("mlp", 64, hidden=[16], code_dim=2)
    x = torch.tensor(digits.x_train[:50])
    z = m.encode(x)
    plain = autoencoder_objective(m, x, TrainConfig(loss="bce"))
    penalised = autoencoder_objective(m, x, TrainConfig(loss="bce", code_l2=0.5))
    torch.testing.assert_close(plain, reconstruction_loss(m(x), x, "bce"))
    torch.testing.assert_close(penalised - plain, 0.5 * (z ** 2).sum(1).mean())


def test_code_l2_pulls_codes_towards_the_origin(digits):
    norms = {}
    for l2 in (0.0, 0.05):
        set_determinism(0, threads=1)
        m = nets.build("mlp", 64, hidden=[32], code_dim=2)
        fit(m, digits.x_train, digits.x_val,
            TrainConfig(epochs=15, batch_size=64, lr=3e-3, code_l2=l2), log=lambda s: None)
        with torch.no_grad():
            norms[l2] = float((m.encode(torch.tensor(digits.x_test)) ** 2).sum(1).mean())
    assert norms[0.05] < 0.5 * norms[0.0], norms


def test_classifier_confidence_is_max_probability_and_real_digits_score_high(digits):
    from aebench.kinds import make, parse_model

    judge = make({"kind": "logreg", "params": {"max_iter": 500}}, dataset="digits")
    judge.fit(digits, 0, {}, log=lambda s: None)  # on digits.x_train, digits.y_train
    clf = judge.clf
    conf, label = judge.confidence(digits.x_test)
    p = clf.predict_proba(digits.x_test)
    np.testing.assert_allclose(conf, p.max(1))
    np.testing.assert_array_equal(label, clf.predict(digits.x_test))
    assert (label == digits.y_test).mean() > 0.9
    noise = np.random.RandomState(0).rand(200, 64).astype(np.float32)
    assert judge.confidence(noise)[0].mean() < conf.mean()
    with pytest.raises(ValueError, match="C must be > 0"):
        parse_model("judge", {"kind": "logreg", "params": {"C": 0}}, "digits", {})
