import math

import numpy as np
import pytest

from aebench import metrics


def test_reconstruction_units():
    x = np.zeros((2, 4))
    xhat = np.array([[1.0, 0, 0, 0], [1.0, 1.0, 0, 0]])
    assert metrics.squared_error_per_image(x, xhat) == 1.5  # (1 + 2) / 2 images
    assert metrics.mse_per_pixel(x, xhat) == 3 / 8


def test_principal_angles_hand_case():
    theta = math.radians(30)
    a = np.array([[1.0], [0.0], [0.0]])
    b = np.array([[math.cos(theta)], [math.sin(theta)], [0.0]])
    assert metrics.principal_angles_deg(a, b)[0] == pytest.approx(30.0)
    same = np.array([[1.0, 1.0], [0.0, 2.0], [0.0, 0.0]])  # same plane, other basis
    e12 = np.eye(3)[:, :2]
    assert np.allclose(metrics.principal_angles_deg(same, e12), 0.0, atol=1e-6)


def test_knn_accuracy_hand_case():
    z_train = np.array([[0.0], [0.1], [10.0], [10.1]])
    y_train = np.array([0, 0, 1, 1])
    z_test = np.array([[0.05], [9.0], [5.1]])
    y_test = np.array([0, 1, 0])  # the last is nearer class 1: one error in three
    assert metrics.knn_accuracy(z_train, y_train, z_test, y_test, k=1) == pytest.approx(2 / 3)


def test_separation_scores():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 50)
    far = np.c_[y * 100.0, np.zeros(100)] + rng.randn(100, 2)
    mixed = rng.randn(100, 2)
    assert metrics.silhouette(far, y) > 0.9 > metrics.silhouette(mixed, y)
    x = rng.randn(60, 5)
    assert metrics.trustworthiness(x, x, n_neighbors=5) == pytest.approx(1.0)
    assert metrics.trustworthiness(x, rng.randn(60, 2), n_neighbors=5) < 0.8


def test_mean_ci_student_t():
    mean, half = metrics.mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)  # t(0.975, 2) * sd / sqrt(n)
    m1, h1 = metrics.mean_ci([5.0])
    assert m1 == 5.0 and math.isnan(h1)


def test_one_student_t_formula_for_tables_and_verdicts():
    from aebench.verdicts import _stats, t_half_width

    # t(0.95, 2) = 2.919986, t(0.975, 2) = 4.302653: the verdicts' 90% and the tables' 95% interval
    assert t_half_width(1.0, 3, 0.90) == pytest.approx(2.919986 / math.sqrt(3), rel=1e-6)
    assert metrics.mean_ci([1.0, 2.0, 3.0])[1] == t_half_width(1.0, 3, 0.95)  # sd of 1, 2, 3 is 1
    n, mean, lo, hi, sd = _stats([1.0, 2.0, 3.0])
    assert sd == 1.0
    assert (lo, hi) == (2.0 - t_half_width(1.0, 3, 0.90), 2.0 + t_half_width(1.0, 3, 0.90))


def test_the_tuned_probe_chooses_C_on_validation_and_scores_only_that_one_on_test():
    from aebench.metrics import linear_probe_accuracy, tuned_probe

    rng = np.random.RandomState(0)
    # 40 noisy dimensions around a weak class signal: strong regularisation reads it best
    y = rng.randint(0, 3, 600)
    z = rng.randn(600, 40)
    z[:, :3] += 0.6 * np.eye(3)[y]
    tr, va, te = slice(0, 200), slice(200, 400), slice(400, 600)
    Cs = [1e-3, 1e-2, 1.0, 100.0]
    r = tuned_probe(z[tr], y[tr], z[va], y[va], z[te], y[te], Cs)
    val = [linear_probe_accuracy(z[tr], y[tr], z[va], y[va], C=C) for C in Cs]
    assert r["val_accuracy"] == max(val) and r["C"] == Cs[val.index(max(val))]  # first of ties
    assert r["accuracy"] == linear_probe_accuracy(z[tr], y[tr], z[te], y[te], C=r["C"])
    assert len(set(val)) > 1  # the grid matters here
