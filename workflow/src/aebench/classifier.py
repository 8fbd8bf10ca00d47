"""The judge of E10: a digit classifier trained once on the image training set.

A grid point of a 2-D code space "decodes to a digit" when this classifier is confident
about the decoded image (its max softmax probability reaches a threshold). Multinomial
logistic regression (scikit-learn) is enough: it is fast, deterministic, and its softmax is
reasonably calibrated on MNIST (~92% test accuracy).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import joblib
import numpy as np


@dataclass
class ClassifierConfig:
    C: float = 1.0  # inverse L2 strength of LogisticRegression
    max_iter: int = 200

    def __post_init__(self):
        if self.C <= 0 or self.max_iter < 1:
            raise ValueError(f"classifier: C must be > 0 and max_iter >= 1, got {asdict(self)}")


def fit_classifier(x: np.ndarray, y: np.ndarray, cfg: ClassifierConfig, seed: int = 0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=cfg.C, max_iter=cfg.max_iter, random_state=seed).fit(x, y)


def confidence(clf, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max class probability and the predicted class of each row of ``x``."""
    p = clf.predict_proba(x)
    return p.max(1), clf.classes_[p.argmax(1)]


def save(clf, path: str | Path) -> None:
    joblib.dump(clf, path)


def load(path: str | Path):
    return joblib.load(path)
