"""scikit-learn's bundled 8x8 digits (no download)."""

from __future__ import annotations

import numpy as np

from . import Prepared, register, split_train_val

TEST_SEED = 0  # digits' stand-in for an official test split: fixed, never a run's seed


@register("digits", "image", 1 / 16, offline=lambda: True)
def prepare_digits(raw_root=None, mirror=None, allow_download=False, n_val=200, n_test=397,
                   n_train=None, split_seed=0) -> tuple[Prepared, dict]:
    """scikit-learn's bundled 8x8 digits: no download, so tests and smoke runs need no mirror.

    It has no official split: a permutation with a fixed seed (:data:`TEST_SEED`, the same for
    every run seed, as a data set's official test split would be) puts the last ``n_test`` in
    test; the run's ``split_seed`` draws the validation split (and any train subset) from the
    rest. So a model fitted on one seed's train never saw another seed's test images.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.RandomState(TEST_SEED).permutation(len(d.target))
    x = d.data[order].astype(np.float32) / 16.0
    y = d.target[order]
    x, y, xt, yt = x[:-n_test], y[:-n_test], x[-n_test:], y[-n_test:]
    x_tr, y_tr, x_va, y_va = split_train_val(x, y, n_val, n_train, split_seed)
    p = Prepared("digits", "image", x_tr, y_tr, x_va, y_va, xt, yt, shape=(1, 8, 8),
                 classes=[str(c) for c in range(10)])
    return p, {"sklearn.load_digits": "bundled"}


