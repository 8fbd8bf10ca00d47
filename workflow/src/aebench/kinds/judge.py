"""A digit classifier trained once on the image training set, as a model (kind ``logreg``).

E10 judged its grids with it until issue 40; it now uses aebench.kinds.cnn_judge, because
this confidence does not fall off away from the data (wider grids scored higher).

A grid point of a 2-D code space "decodes to a digit" when this classifier is confident
about the decoded image: its max softmax probability reaches a threshold. The threshold is
not set by hand: :meth:`LogReg.fit` chooses it on the VALIDATION split
(:func:`accuracy_threshold`) as the smallest one at which the classifier is right on at
least ``target_accuracy`` of the validation images it is that confident about, and
metrics.json records it (E10 reads it from there). The test split plays no part in the
choice; metrics.json reports the accuracy and share above the threshold on test as an
out-of-sample check. Multinomial logistic regression (scikit-learn) is enough: it is fast
and deterministic (~92% test accuracy on MNIST). It is not seeded: one fit serves all.
"""

from __future__ import annotations

import numpy as np

from ..spec import ModelSpec
from . import Kind, only, register


def accuracy_threshold(conf: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The smallest threshold ``t`` among the values of ``conf`` such that the images with
    ``conf >= t`` are ``correct`` in at least a share ``target`` of cases.

    Between two neighbouring values of ``conf`` the set ``conf >= t`` does not change, so
    the smallest such ``t`` is one of them: the confidence of the least confident image that
    is kept. Ties are kept or dropped together. The accuracy of the kept set is not monotone
    in ``t``; this is the smallest ``t`` that reaches the target, not the first one met
    coming down from the top. Raises ValueError when no threshold reaches it.
    """
    conf, correct = np.asarray(conf, float).ravel(), np.asarray(correct, bool).ravel()
    if conf.shape != correct.shape or conf.size == 0:
        raise ValueError(f"need as many confidences as outcomes (>0), got {conf.shape}, {correct.shape}")
    if not 0 < target <= 1:
        raise ValueError(f"target accuracy must be in (0, 1], got {target}")
    order = np.argsort(-conf, kind="stable")
    c, ok = conf[order], correct[order]
    kept = np.arange(1, len(c) + 1)
    acc = np.cumsum(ok) / kept  # accuracy of the top-k, k = 1..n
    # the top-k is a set {conf >= t} only where the next value is lower (a tie group ends)
    ends = np.r_[c[1:] < c[:-1], True]
    good = np.flatnonzero(ends & (acc >= target))
    if good.size == 0:
        raise ValueError(f"no confidence threshold reaches accuracy {target} "
                         f"(the most confident images alone are right {acc[ends][0]:.3f} of the time)")
    return float(c[good[-1]])


def confident_stats(conf: np.ndarray, correct: np.ndarray, threshold: float) -> tuple[float, float]:
    """Share of images with ``conf >= threshold``, and the accuracy among them (nan if none)."""
    keep = np.asarray(conf) >= threshold
    return float(keep.mean()), float(np.asarray(correct)[keep].mean()) if keep.any() else float("nan")


@register("logreg")
class LogReg(Kind):
    seeded = False

    @classmethod
    def parse(cls, name, entry, dataset, train_defaults) -> ModelSpec:
        p = dict(entry.get("params") or {})
        only(p, {"C", "max_iter", "target_accuracy"}, set(), "logreg")
        return cls.spec(name, dataset, **p)

    @classmethod
    def spec(cls, name: str, dataset: str, C: float = 1.0, max_iter: int = 200,
             target_accuracy: float = 0.99) -> ModelSpec:
        """The judge (E10 builds it from its parsed settings; :meth:`parse` from an entry)."""
        p = {"C": C, "max_iter": max_iter, "target_accuracy": target_accuracy}
        if C <= 0 or max_iter < 1 or not 0 < target_accuracy <= 1:
            raise ValueError("logreg: C must be > 0, max_iter >= 1 and target_accuracy in (0, 1], "
                             f"got {p}")
        return ModelSpec(name, cls.name, dataset, params=p, seeded=False)

    def fit(self, data, seed, deps, *, device="cpu", log=print):
        from sklearn.linear_model import LogisticRegression

        p = self.spec.params
        log(f"logistic regression on {len(data.x_train)} {data.name} training images ({p})")
        self.clf = LogisticRegression(C=p["C"], max_iter=p["max_iter"], random_state=0).fit(
            data.x_train, data.y_train)
        conf, label = self.confidence(data.x_val)
        self.threshold = accuracy_threshold(conf, label == data.y_val, p["target_accuracy"])
        share, acc = confident_stats(conf, label == data.y_val, self.threshold)
        log(f"confidence threshold {self.threshold:.4f}, chosen on {len(data.x_val)} validation "
            f"images: accuracy {acc:.4f} on the {share:.1%} of them at or above it")
        return []

    def metrics(self, data):
        out = {"n_train": len(data.x_train), "target_accuracy": self.spec.params["target_accuracy"],
               "threshold": self.threshold}
        for split in ("val", "test"):
            x, y = data.split(split)
            conf, label = self.confidence(x)
            share, acc = confident_stats(conf, label == y, self.threshold)
            out.update({f"{split}_accuracy": float((label == y).mean()),
                        f"{split}_mean_confidence": float(conf.mean()),
                        f"{split}_confident_share": share, f"{split}_confident_accuracy": acc})
        return out

    def confidence(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Max class probability and the predicted class of each row of ``x``."""
        p = self.clf.predict_proba(x)
        return p.max(1), self.clf.classes_[p.argmax(1)]
