"""E10's judge: a digit classifier trained once on the image training set, as a model.

A grid point of a 2-D code space "decodes to a digit" when this classifier is confident
about the decoded image (its max softmax probability reaches a threshold). Multinomial
logistic regression (scikit-learn) is enough: it is fast, deterministic, and its softmax is
reasonably calibrated on MNIST (~92% test accuracy). It is not seeded: one fit serves all.
"""

from __future__ import annotations

import numpy as np

from ..spec import ModelSpec
from . import Kind, only, register


@register("logreg")
class LogReg(Kind):
    seeded = False

    @classmethod
    def parse(cls, name, entry, dataset, train_defaults) -> ModelSpec:
        p = {"C": 1.0, "max_iter": 200, **(entry.get("params") or {})}
        only(p, {"C", "max_iter"}, set(), "logreg")
        if p["C"] <= 0 or p["max_iter"] < 1:
            raise ValueError(f"logreg: C must be > 0 and max_iter >= 1, got {p}")
        return ModelSpec(name, cls.name, dataset, params=p, seeded=False)

    def fit(self, data, seed, deps, *, device="cpu", log=print):
        from sklearn.linear_model import LogisticRegression

        p = self.spec.params
        log(f"logistic regression on {len(data.x_train)} {data.name} training images ({p})")
        self.clf = LogisticRegression(C=p["C"], max_iter=p["max_iter"], random_state=0).fit(
            data.x_train, data.y_train)
        return []

    def metrics(self, data):
        acc = float((self.clf.predict(data.x_test) == data.y_test).mean())
        conf, _ = self.confidence(data.x_test)
        return {"n_train": len(data.x_train), "test_accuracy": acc,
                "test_mean_confidence": float(conf.mean())}

    def confidence(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Max class probability and the predicted class of each row of ``x``."""
        p = self.clf.predict_proba(x)
        return p.max(1), self.clf.classes_[p.argmax(1)]
