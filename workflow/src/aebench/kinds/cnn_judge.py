"""E10's judge of decoded images: a small CNN digit classifier, calibrated on validation,
plus the distance to the nearest training image; both compared with real digits.

An image is *plausible* when (a) the CNN's calibrated max probability reaches
``threshold`` and (b) its pixel distance to the nearest training image is at most
``max_distance``. Both limits are chosen on the VALIDATION split so that a share
``real_share`` of real validation digits meets each one (the ``1 - real_share`` quantile of
their confidences, the ``real_share`` quantile of their nearest-train distances); test plays
no part. Calibration is temperature scaling (Guo et al. 2017): one scalar T, fitted to
minimise the validation negative log-likelihood of ``softmax(logits / T)``.

Why both: a classifier's confidence alone does not fall off away from the data (a ReLU
net's logits grow linearly along any ray, so images far from every digit can score *more*
confident, as the logistic-regression judge did on E10's wider grids). The nearest-train
distance does fall off: an image unlike every training digit is far from all of them.
"""

from __future__ import annotations

import numpy as np

from ..spec import ModelSpec
from . import Kind, only, register


def nearest_distance(x: np.ndarray, ref: np.ndarray, batch: int = 256) -> np.ndarray:
    """Euclidean distance from each row of ``x`` to its nearest row of ``ref`` (exact)."""
    import torch

    r = torch.as_tensor(np.asarray(ref, np.float32))
    out = []
    for i in range(0, len(x), batch):
        q = torch.as_tensor(np.asarray(x[i:i + batch], np.float32))
        out.append(torch.cdist(q, r).min(1).values.numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T > 0 that minimises the mean NLL of ``softmax(logits / T)`` on ``y``."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    logits, y = np.asarray(logits, float), np.asarray(y)

    def nll(log_t):
        return -log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(y)), y].mean()

    return float(np.exp(minimize_scalar(nll, bounds=(-4.0, 4.0), method="bounded").x))


def _net(shape, n_classes: int):
    import torch.nn as nn

    c, h, w = shape
    # two conv + pool stages; 8x8 digits -> 2x2, 28x28 MNIST -> 7x7
    return nn.Sequential(
        nn.Conv2d(c, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * (h // 4) * (w // 4), 64), nn.ReLU(),
        nn.Linear(64, n_classes))


@register("cnn_judge")
class CNNJudge(Kind):
    seeded = False
    KEYS = {"epochs", "lr", "batch_size", "patience", "real_share"}

    @classmethod
    def parse(cls, name, entry, dataset, train_defaults) -> ModelSpec:
        p = dict(entry.get("params") or {})
        only(p, cls.KEYS, set(), "cnn_judge")
        return cls.spec(name, dataset, **p)

    @classmethod
    def spec(cls, name: str, dataset: str, epochs: int = 20, lr: float = 1e-3,
             batch_size: int = 128, patience: int = 3, real_share: float = 0.95) -> ModelSpec:
        p = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "patience": patience,
             "real_share": real_share}
        if min(epochs, batch_size, patience) < 1 or lr <= 0 or not 0 < real_share < 1:
            raise ValueError("cnn_judge: epochs, batch_size, patience >= 1, lr > 0 and "
                             f"real_share in (0, 1), got {p}")
        return ModelSpec(name, cls.name, dataset, params=p, seeded=False)

    def fit(self, data, seed, deps, *, device="cpu", log=print):
        import copy

        import torch
        import torch.nn.functional as F

        p = self.spec.params
        torch.manual_seed(0)
        self.shape = tuple(data.shape)
        self.net = _net(self.shape, len(data.classes))
        opt = torch.optim.Adam(self.net.parameters(), lr=p["lr"])
        x, y = torch.as_tensor(self._img(data.x_train)), torch.as_tensor(data.y_train).long()
        gen = torch.Generator().manual_seed(0)
        best, best_state, waited, history = np.inf, None, 0, []
        for epoch in range(1, p["epochs"] + 1):
            self.net.train()
            for idx in torch.randperm(len(x), generator=gen).split(p["batch_size"]):
                opt.zero_grad()
                F.cross_entropy(self.net(x[idx]), y[idx]).backward()
                opt.step()
            val = float(F.cross_entropy(torch.as_tensor(self.logits(data.x_val)),
                                        torch.as_tensor(data.y_val).long()))
            history.append({"epoch": epoch, "val_loss": val})
            if val < best:  # early stopping on the validation loss
                best, best_state, waited = val, copy.deepcopy(self.net.state_dict()), 0
            else:
                waited += 1
                if waited >= p["patience"]:
                    break
        self.net.load_state_dict(best_state)
        self.net.eval()
        self.temperature = fit_temperature(self.logits(data.x_val), data.y_val)
        conf, _ = self.confidence(data.x_val)
        dist = nearest_distance(data.x_val, data.x_train)
        self.threshold = float(np.quantile(conf, 1 - p["real_share"]))
        self.max_distance = float(np.quantile(dist, p["real_share"]))
        log(f"cnn judge: {len(history)} epochs (best val loss {best:.4f}), temperature "
            f"{self.temperature:.3f}; plausible = confidence >= {self.threshold:.4f} and nearest-"
            f"train distance <= {self.max_distance:.3f} (each met by {p['real_share']:.0%} of "
            f"{len(data.x_val)} validation digits)")
        return []

    def _img(self, x):
        return np.asarray(x, np.float32).reshape(len(x), *self.shape)

    def logits(self, x: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return np.concatenate([self.net(torch.as_tensor(self._img(x[i:i + 2048]))).numpy()
                                   for i in range(0, len(x), 2048)]) if len(x) else np.zeros((0, 10))

    def confidence(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated max probability and the predicted class of each row of ``x``."""
        from scipy.special import softmax

        prob = softmax(self.logits(x) / self.temperature, axis=1)
        return prob.max(1), prob.argmax(1)

    def score(self, x: np.ndarray, x_train: np.ndarray) -> dict[str, np.ndarray]:
        """Per image of ``x``: confidence, label, distance to the nearest of ``x_train`` (the
        training images the judge was fitted on: the model file does not carry them), and
        ``plausible`` (both limits met)."""
        conf, label = self.confidence(x)
        dist = nearest_distance(x, x_train)
        return {"confidence": conf, "label": label, "distance": dist,
                "plausible": (conf >= self.threshold) & (dist <= self.max_distance)}

    def metrics(self, data):
        out = {"n_train": len(data.x_train), "temperature": self.temperature,
               "threshold": self.threshold, "max_distance": self.max_distance,
               "real_share": self.spec.params["real_share"]}
        for split in ("val", "test"):
            x, y = data.split(split)
            s = self.score(x, data.x_train)
            out.update({f"{split}_accuracy": float((s["label"] == y).mean()),
                        f"{split}_plausible_share": float(s["plausible"].mean())})
        return out
