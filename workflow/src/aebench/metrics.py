"""Metrics, each a thin wrapper over the library function that defines it."""

from __future__ import annotations

import numpy as np

from .verdicts import t_half_width


def squared_error_per_image(x: np.ndarray, xhat: np.ndarray) -> float:
    """Hinton & Salakhutdinov's unit: sum over pixels of the squared error, mean over images."""
    return float(((np.asarray(x, np.float64) - xhat) ** 2).sum(axis=1).mean())


def mse_per_pixel(x: np.ndarray, xhat: np.ndarray) -> float:
    return float(((np.asarray(x, np.float64) - xhat) ** 2).mean())


def principal_angles_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles (degrees, descending) between the column spaces of ``a`` and ``b``."""
    from scipy.linalg import subspace_angles

    return np.degrees(subspace_angles(a, b))


def knn_accuracy(z_train, y_train, z_test, y_test, k: int = 5) -> float:
    """Accuracy of a k-NN classifier fitted on train codes, measured on test codes."""
    from sklearn.neighbors import KNeighborsClassifier

    return float(KNeighborsClassifier(n_neighbors=k).fit(z_train, y_train).score(z_test, y_test))


def _probe_sample(z_train, y_train, n_train: int | None, seed: int):
    if n_train and n_train < len(z_train):
        idx = np.random.RandomState(seed).choice(len(z_train), n_train, replace=False)
        return z_train[idx], y_train[idx]
    return z_train, y_train


def _probe(C: float, max_iter: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))


def linear_probe_accuracy(z_train, y_train, z_test, y_test, n_train: int | None = None,
                          max_iter: int = 1000, seed: int = 0, C: float = 1.0) -> float:
    """Test accuracy of a logistic regression on standardised codes (a linear probe: how
    linearly the classes can be read off the code), fitted on at most ``n_train`` train codes."""
    z_train, y_train = _probe_sample(z_train, y_train, n_train, seed)
    return float(_probe(C, max_iter).fit(z_train, y_train).score(z_test, y_test))


def tuned_probe(z_train, y_train, z_val, y_val, z_test, y_test, Cs, n_train: int | None = None,
                max_iter: int = 1000, seed: int = 0) -> dict[str, float]:
    """A linear probe (:func:`linear_probe_accuracy`) whose inverse regularisation C is chosen
    on validation: each C of ``Cs`` in turn is fitted on the same train codes and scored on
    the validation codes; the best (the first of equal ones) alone is scored on test. Every
    feature set gets the same grid, so none is read with a better-tuned probe than another.
    Returns the test ``accuracy``, the chosen ``C`` and its ``val_accuracy``."""
    z_train, y_train = _probe_sample(z_train, y_train, n_train, seed)
    best = None
    for C in Cs:
        probe = _probe(float(C), max_iter).fit(z_train, y_train)
        val = float(probe.score(z_val, y_val))
        if best is None or val > best[0]:
            best = (val, float(C), probe)
    val, C, probe = best
    return {"accuracy": float(probe.score(z_test, y_test)), "C": C, "val_accuracy": val}


def silhouette(z, y, n: int | None = None, seed: int = 0) -> float:
    """Silhouette of the class labels in code space (on a sample of ``n`` points: O(n^2))."""
    from sklearn.metrics import silhouette_score

    return float(silhouette_score(z, y, sample_size=n if n and n < len(z) else None,
                                  random_state=seed))


def trustworthiness(x, z, n_neighbors: int = 12, n: int | None = None, seed: int = 0) -> float:
    """How well the code keeps each point's input-space neighbours (on ``n`` points: O(n^2))."""
    from sklearn.manifold import trustworthiness as tw

    if n and n < len(x):
        idx = np.random.RandomState(seed).choice(len(x), n, replace=False)
        x, z = x[idx], z[idx]
    return float(tw(x, z, n_neighbors=n_neighbors))


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the Student-t confidence interval (nan with one value)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    if len(v) == 1:
        return float(v[0]), float("nan")
    return float(v.mean()), t_half_width(float(v.std(ddof=1)), len(v), confidence)
