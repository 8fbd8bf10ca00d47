"""E10: the code grid in raw units over the plain model's box, the max-norm that keeps the L2
code penalty from being undone by rescaling, the CNN judge (calibrated confidence and
nearest-train distance, limits chosen on validation), the old logistic-regression judge and
its threshold, and that rescaling a trained model's code now changes what E10 measures."""

import numpy as np
import pytest
import torch

from aebench import nets
from aebench.datasets.digits import prepare_digits
from aebench.experiments.e10_generator import code_grid, code_rms, measure_grids
from aebench.kinds.cnn_judge import fit_temperature, nearest_distance
from aebench.kinds.judge import accuracy_threshold, confident_stats
from aebench.train import TrainConfig, autoencoder_objective, fit, reconstruction_loss, set_determinism


@pytest.fixture(scope="module")
def digits():
    p, _ = prepare_digits()
    return p


@pytest.fixture(scope="module")
def cnn_judge(digits):
    from aebench.kinds import make

    judge = make({"kind": "cnn_judge", "params": {"epochs": 12}}, dataset="digits")
    judge.fit(digits, 0, {}, log=lambda s: None)
    return judge


def test_grid_is_evenly_spaced_over_the_box_in_image_order():
    pts = code_grid([0.0, -2.0], [4.0, 2.0], n=3)
    # rows top (largest code 2) to bottom, columns left to right: make_grid's tile order
    np.testing.assert_allclose(pts, [[0, 2], [2, 2], [4, 2],
                                     [0, 0], [2, 0], [4, 0],
                                     [0, -2], [2, -2], [4, -2]])


def test_code_rms_is_the_per_axis_spread_about_the_origin_and_needs_2d_codes():
    z = np.array([[3.0, 1.0], [-3.0, 1.0], [3.0, -7.0], [-3.0, 1.0]])
    np.testing.assert_allclose(code_rms(z), [3.0, np.sqrt(52 / 4)])  # (1+1+49+1)/4 = 13
    with pytest.raises(ValueError, match="needs 2-D codes"):
        code_rms(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="not all zero"):
        code_rms(np.stack([np.arange(5.0), np.zeros(5)], 1))


def test_grids_lie_over_the_same_raw_box_and_count_plausible_images_relative_to_real():
    """The box for extent e is [-e * scale, e * scale] per axis, in raw code units."""
    seen = []

    def decode(points):
        seen.append(points)
        return np.zeros((len(points), 4), np.float32)

    def score(images):
        n = len(images)
        return {"plausible": np.arange(n) < 10, "label": np.arange(n) % 3,
                "confidence": np.linspace(0, 1, n), "distance": np.full(n, 2.0)}

    scale = np.array([3.0, 0.5])
    values, grids = measure_grids(scale, decode, score, 0.8, [1.5, 3.0], n=5)
    for e, points, (tag, lo, hi, _, ok) in zip([1.5, 3.0], seen, grids):
        np.testing.assert_allclose(points.min(0), -e * scale, rtol=1e-6)
        np.testing.assert_allclose(points.max(0), e * scale, rtol=1e-6)
        np.testing.assert_allclose(points.mean(0), [0, 0], atol=1e-6)
        np.testing.assert_allclose(lo, -e * scale), np.testing.assert_allclose(hi, e * scale)
        assert tag == f"{e:g}rms" and ok.sum() == 10
    assert values["plausible_share@1.5rms"] == pytest.approx(10 / 25)
    assert values["plausible_vs_real@3rms"] == pytest.approx(10 / 25 / 0.8)  # 0.5
    assert values["digits_generated@3rms"] == 3  # labels 0, 1, 2 among the first ten
    assert values["mean_confidence@3rms"] == pytest.approx(0.5)
    assert values["mean_distance@1.5rms"] == pytest.approx(2.0)


def test_code_max_norm_bounds_the_code_layers_and_is_off_by_default(digits):
    torch.manual_seed(0)
    plain = nets.build("mlp", 64, hidden=[16], code_dim=2)
    capped = nets.build("mlp", 64, hidden=[16], code_dim=2, code_max_norm=0.5)
    capped.load_state_dict(plain.state_dict())  # the same raw weights
    with torch.no_grad():
        for m in (plain, capped):
            m.enc[-1].weight.mul_(10), m.dec[0].weight.mul_(10)  # norms well above 0.5
    x = torch.tensor(digits.x_train[:20])
    # off: exactly the layers' own weights
    w_enc, w_dec = plain.code_weights()
    assert w_enc is plain.enc[-1].weight and w_dec is plain.dec[0].weight
    # on: each code unit's incoming row and outgoing column scaled to norm 0.5
    w_enc, w_dec = capped.code_weights()
    torch.testing.assert_close(w_enc.norm(dim=1), torch.full((2,), 0.5))
    torch.testing.assert_close(w_dec.norm(dim=0), torch.full((2,), 0.5))
    torch.testing.assert_close(w_enc, capped.enc[-1].weight * (0.5 / capped.enc[-1].weight.norm(dim=1, keepdim=True)))
    hidden = torch.relu(capped.enc[0](x))
    torch.testing.assert_close(capped.encode(x), hidden @ w_enc.T + capped.enc[-1].bias)
    z = torch.randn(5, 2)
    torch.testing.assert_close(capped.decode(z), torch.sigmoid(
        capped.dec[1](torch.relu(z @ w_dec.T + capped.dec[0].bias))))
    assert not torch.allclose(capped.encode(x), plain.encode(x))
    with pytest.raises(ValueError, match="code_max_norm must be > 0"):
        nets.build("mlp", 64, hidden=[16], code_dim=2, code_max_norm=0)


def _fit_ae(digits, **params):
    from aebench.kinds import make

    set_determinism(0, threads=1)
    train = params.pop("train", {})
    ae = make({"kind": "autoencoder", "params": {"arch": "mlp", "hidden": [32], "code_dim": 2, **params},
               "train": {"epochs": 8, "batch_size": 64, "lr": 3e-3, **train}}, dataset="digits")
    ae.fit(digits, 0, {}, log=lambda s: None)
    return ae


def test_max_norm_holds_after_training_and_a_rescaled_code_is_no_longer_free(digits):
    ae = _fit_ae(digits, code_max_norm=3.0, train={"code_l2": 0.01, "epochs": 15})
    w_enc, w_dec = ae.net.code_weights()
    assert (w_enc.norm(dim=1) <= 3.0 + 1e-5).all() and (w_dec.norm(dim=0) <= 3.0 + 1e-5).all()
    with torch.no_grad():  # the raw weights as computed (clipped), so rescaling them is exact
        ae.net.enc[-1].weight.copy_(w_enc), ae.net.dec[0].weight.copy_(w_dec)
    x = digits.x_val
    err = ((ae.reconstruct(x) - x) ** 2).sum(1).mean()
    # the trick the penalty rewards: code shrunk 20x, decoder's first weights grown 20x; the
    # max-norm clips the grown weights, so the copy reconstructs much worse (3.4 -> 4.9 when
    # written; a copy without the max-norm reconstructs the same, see the test below)
    shrunk = _rescaled(ae, (0.05, 0.05))
    assert ((shrunk.encode(x) ** 2).sum(1).mean()
            == pytest.approx(0.05 ** 2 * (ae.encode(x) ** 2).sum(1).mean(), rel=1e-3))
    assert ((shrunk.reconstruct(x) - x) ** 2).sum(1).mean() > 1.3 * err

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


def test_rescaling_a_trained_code_changes_its_result_on_the_fixed_raw_box(digits, cnn_judge):
    """The old standardised grid measured any rescaled copy the same (the scale was divided
    out); on one raw box (sized from the original's codes, as E10 sizes it from the plain
    model's) a copy with a shrunk code decodes other images there, and scores otherwise."""
    ae = _fit_ae(digits)
    scale = code_rms(ae.encode(digits.x_train))

    def score(images):
        return cnn_judge.score(images, digits.x_train)

    real = float(score(digits.x_test)["plausible"].mean())
    same, grids = measure_grids(scale, ae.decode, score, real, [1.5, 3.0], n=9)
    shrunk = _rescaled(ae, (0.05, 0.05))  # the same autoencoder, codes 20x smaller
    np.testing.assert_allclose(shrunk.reconstruct(digits.x_val), ae.reconstruct(digits.x_val), atol=1e-4)
    moved, grids2 = measure_grids(scale, shrunk.decode, score, real, [1.5, 3.0], n=9)
    assert not np.allclose(grids[0][3], grids2[0][3], atol=1e-2)
    assert moved["mean_distance@3rms"] != pytest.approx(same["mean_distance@3rms"], rel=1e-3)
    assert moved != same


def test_nearest_distance_and_temperature_by_hand():
    np.testing.assert_allclose(nearest_distance(np.array([[0.0, 0.0], [6.0, 11.0]]),
                                                np.array([[0.0, 1.0], [6.0, 8.0], [9.0, 9.0]])),
                               [1.0, 3.0], rtol=1e-6)  # (0, 1); (6, 8), not (9, 9) at 3.6
    # labels drawn from softmax(l): given 2 * l, the NLL-optimal temperature is about 2
    rs = np.random.RandomState(0)
    logits = rs.randn(20000, 5) * 2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = (p.cumsum(1) > rs.rand(len(p), 1)).argmax(1)
    assert fit_temperature(2 * logits, y) == pytest.approx(2.0, rel=0.05)
    assert fit_temperature(logits, y) == pytest.approx(1.0, rel=0.05)


def test_cnn_judge_limits_come_from_validation_and_images_far_from_digits_score_low(digits, cnn_judge):
    j = cnn_judge
    conf, _ = j.confidence(digits.x_val)
    dist = nearest_distance(digits.x_val, digits.x_train)
    # each limit lets 95% of real validation digits through
    assert j.threshold == pytest.approx(np.quantile(conf, 0.05))
    assert j.max_distance == pytest.approx(np.quantile(dist, 0.95))
    assert (conf >= j.threshold).mean() == pytest.approx(0.95, abs=0.01)
    assert (dist <= j.max_distance).mean() == pytest.approx(0.95, abs=0.01)
    real = j.score(digits.x_test, digits.x_train)
    assert real["plausible"].mean() > 0.8 and (real["label"] == digits.y_test).mean() > 0.85
    # a constant gray field and uniform noise: far from every digit -> not plausible, even
    # where the classifier is confident about them
    gray = np.full((50, 64), 0.5, np.float32)
    noise = np.random.RandomState(0).rand(50, 64).astype(np.float32)
    for far in (gray, noise):
        s = j.score(far, digits.x_train)
        assert s["plausible"].mean() == 0 and (s["distance"] > j.max_distance).all()
    m = j.metrics(digits)
    assert m["threshold"] == j.threshold and m["max_distance"] == j.max_distance
    assert m["val_plausible_share"] == pytest.approx(
        ((conf >= j.threshold) & (dist <= j.max_distance)).mean())
