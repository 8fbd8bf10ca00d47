"""E10: the code grid in standardised units, the L2 penalty on the code, the classifier that
judges decodings and its threshold (chosen on validation), and that rescaling a trained
model's code does not change what E10 measures."""

import numpy as np
import pytest
import torch

from aebench import nets
from aebench.datasets.digits import prepare_digits
from aebench.experiments.e10_generator import code_grid, code_scale, measure_grids
from aebench.kinds.judge import accuracy_threshold, confident_stats
from aebench.train import TrainConfig, autoencoder_objective, fit, reconstruction_loss, set_determinism


@pytest.fixture(scope="module")
def digits():
    p, _ = prepare_digits()
    return p


def test_grid_is_evenly_spaced_over_the_box_in_image_order():
    pts = code_grid([0.0, -2.0], [4.0, 2.0], n=3)
    # rows top (largest code 2) to bottom, columns left to right: make_grid's tile order
    np.testing.assert_allclose(pts, [[0, 2], [2, 2], [4, 2],
                                     [0, 0], [2, 0], [4, 0],
                                     [0, -2], [2, -2], [4, -2]])


def test_code_scale_is_the_per_axis_mean_and_sd_and_needs_2d_varying_codes():
    z = np.stack([np.arange(101.0), 5 - 2 * np.arange(101.0)], 1)
    mean, sd = code_scale(z)
    np.testing.assert_allclose(mean, [50, -95])
    np.testing.assert_allclose(sd, [z[:, 0].std(), 2 * z[:, 0].std()])
    with pytest.raises(ValueError, match="needs 2-D codes"):
        code_scale(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="vary along both axes"):
        code_scale(np.stack([np.arange(5.0), np.ones(5)], 1))


def test_grids_lie_over_the_standardised_box_in_each_models_own_units():
    """The box [-e, e]^2 in standardised units is mean +- e * sd in the model's units."""
    z = np.random.RandomState(0).randn(500, 2) * [3.0, 0.5] + [10.0, -1.0]
    mean, sd = code_scale(z)
    seen = []

    def decode(points):
        seen.append(points)
        return np.zeros((len(points), 4), np.float32)

    def confidence(images):
        return np.linspace(0, 1, len(images)), np.arange(len(images)) % 3

    values, grids = measure_grids(z, decode, confidence, 0.5, [1.5, 3.0], n=5)
    for e, points, (tag, lo, hi, _, ok) in zip([1.5, 3.0], seen, grids):
        np.testing.assert_allclose(points.min(0), mean - e * sd, rtol=1e-5)
        np.testing.assert_allclose(points.max(0), mean + e * sd, rtol=1e-5)
        np.testing.assert_allclose(points.mean(0), mean, rtol=1e-5)
        np.testing.assert_array_equal(lo, [-e, -e]), np.testing.assert_array_equal(hi, [e, e])
        assert tag == f"{e:g}sd" and ok.sum() == 13  # linspace(0, 1, 25) >= 0.5
    assert values["confident_share@1.5sd"] == pytest.approx(13 / 25)
    assert values["digits_generated@3sd"] == 3
    assert values["mean_confidence@3sd"] == pytest.approx(0.5)


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
    with pytest.raises(ValueError, match="target_accuracy in"):
        parse_model("judge", {"kind": "logreg", "params": {"target_accuracy": 1.5}}, "digits", {})


def test_threshold_is_the_smallest_that_reaches_the_accuracy_by_hand():
    # sorted by confidence: 0.99 ok, 0.95 ok, 0.9 wrong, 0.8 ok, 0.7 ok, 0.6 wrong, 0.5 wrong
    conf = np.array([0.8, 0.5, 0.99, 0.9, 0.6, 0.95, 0.7])
    correct = np.array([1, 0, 1, 0, 0, 1, 1], bool)
    # top-k accuracies: 1, 1, 2/3, 3/4, 4/5, 4/6, 4/7
    assert accuracy_threshold(conf, correct, 1.0) == 0.95
    assert accuracy_threshold(conf, correct, 0.8) == 0.7  # not 0.95: the accuracy dips, then recovers
    assert accuracy_threshold(conf, correct, 0.75) == 0.7
    assert accuracy_threshold(conf, correct, 0.6) == 0.6
    assert accuracy_threshold(conf, correct, 0.5) == 0.5  # every image kept (4/7 >= 0.5)
    assert confident_stats(conf, correct, 0.7) == (5 / 7, 0.8)
    with pytest.raises(ValueError, match="no confidence threshold reaches"):
        accuracy_threshold(np.array([0.9, 0.8]), np.array([False, True]), 0.9)


def test_threshold_keeps_or_drops_tied_confidences_together():
    conf = np.array([0.9, 0.9, 0.9, 0.5])
    correct = np.array([True, True, False, True])
    # {conf >= 0.9} is right 2/3 of the time; no threshold keeps only the two right 0.9s
    assert accuracy_threshold(conf, correct, 0.7) == 0.5  # all four: 3/4
    with pytest.raises(ValueError):
        accuracy_threshold(conf, correct, 0.8)


def test_judge_chooses_its_threshold_on_validation_not_test(digits):
    from dataclasses import replace

    from aebench.kinds import make

    judge = make({"kind": "logreg", "params": {"max_iter": 500, "target_accuracy": 0.99}},
                 dataset="digits")
    judge.fit(digits, 0, {}, log=lambda s: None)
    conf, label = judge.confidence(digits.x_val)
    assert judge.threshold == accuracy_threshold(conf, label == digits.y_val, 0.99)
    share, acc = confident_stats(conf, label == digits.y_val, judge.threshold)
    assert acc >= 0.99 and 0 < share < 1
    # any lower confidence value of a validation image would miss the target
    lower = np.unique(conf[conf < judge.threshold])
    assert all(confident_stats(conf, label == digits.y_val, t)[1] < 0.99 for t in lower)
    m = judge.metrics(digits)
    assert m["threshold"] == judge.threshold and m["val_confident_accuracy"] == acc
    assert {"test_accuracy", "test_confident_share", "test_confident_accuracy"} <= set(m)
    # scrambling the test labels changes nothing: test is never looked at for the choice
    scrambled = replace(digits, y_test=np.roll(digits.y_test, 1))
    again = make({"kind": "logreg", "params": {"max_iter": 500, "target_accuracy": 0.99}},
                 dataset="digits")
    again.fit(scrambled, 0, {}, log=lambda s: None)
    assert again.threshold == judge.threshold


def _rescaled(model, scale, shift=(0.0, 0.0)):
    """A copy of a fitted MLP AE whose code is ``scale * z + shift`` (per axis; the code
    layer's weights and bias changed to match) and whose decoder's first layer undoes it:
    the same autoencoder, with a code whose squared norm (the L2 penalty) is changed at will."""
    import copy

    a, b = torch.tensor(scale, dtype=torch.float32), torch.tensor(shift, dtype=torch.float32)
    out = copy.deepcopy(model)
    enc, dec = out.net.enc[-1], out.net.dec[0]
    with torch.no_grad():
        enc.weight.mul_(a[:, None]), enc.bias.mul_(a).add_(b)
        dec.weight.div_(a[None, :])
        dec.bias.sub_(dec.weight @ b)
    return out


def test_rescaling_a_trained_code_does_not_change_its_measured_share(digits):
    from aebench.kinds import make

    set_determinism(0, threads=1)
    ae = make({"kind": "autoencoder", "params": {"arch": "mlp", "hidden": [32], "code_dim": 2},
               "train": {"epochs": 8, "batch_size": 64, "lr": 3e-3}}, dataset="digits")
    ae.fit(digits, 0, {}, log=lambda s: None)
    judge = make({"kind": "logreg", "params": {"max_iter": 500}}, dataset="digits")
    judge.fit(digits, 0, {}, log=lambda s: None)
    x = digits.x_train
    copies = {"same": ((1.0, 1.0), (0.0, 0.0)), "shrunk": ((0.05, 0.05), (0.0, 0.0)),
              "grown": ((20.0, 20.0), (0.0, 0.0)), "per axis, shifted": ((0.1, 8.0), (3.0, -5.0))}
    measured, norms = {}, {}
    for name, (scale, shift) in copies.items():
        m = _rescaled(ae, scale, shift)
        np.testing.assert_allclose(m.reconstruct(x[:100]), ae.reconstruct(x[:100]), atol=1e-4)
        z = m.encode(x)
        norms[name] = float((z ** 2).sum(1).mean())
        measured[name] = measure_grids(z, m.decode, judge.confidence, judge.threshold, [1.5, 3.0], n=9)
    # the penalty's target moves by c^2 (and with a shift, anyhow) ...
    assert norms["shrunk"] == pytest.approx(norms["same"] * 0.05 ** 2, rel=1e-3)
    assert norms["grown"] == pytest.approx(norms["same"] * 400, rel=1e-3)
    values, grids = measured["same"]
    shares = [values["confident_share@1.5sd"], values["confident_share@3sd"]]
    assert all(0 < s < 1 for s in shares), shares  # points on both sides of the threshold
    for name in copies:
        # ... the measured shares do not move at all
        v, g = measured[name]
        assert v.keys() == values.keys()
        for k in values:
            if k.startswith(("confident_share", "digits_generated")):
                assert v[k] == values[k], (name, k)
            else:
                assert v[k] == pytest.approx(values[k], abs=1e-4), (name, k)
        for (_, _, _, images, ok), (_, _, _, images0, ok0) in zip(g, grids):
            np.testing.assert_allclose(images, images0, atol=1e-4)
            np.testing.assert_array_equal(ok, ok0)
