"""E10 (slides 20-21): the decoder of a 2-D-code AE as a generator.

An evenly spaced grid is laid over the region a model's codes occupy (the box between the
``region_quantile`` and ``1 - region_quantile`` quantiles of its train codes, per axis) and
over wider boxes (the same centre, half-widths times each of ``extents``); every grid point
is decoded. A grid point "decodes to a digit" when a classifier trained once on the real
training images (aebench.classifier) gives the decoded image a max probability of at least
``confidence``. The same AE with an L2 penalty on its code (train ``code_l2``) is measured
the same way: the lecture's claim is that it decodes sensibly over a wider region.
"""

from __future__ import annotations

import numpy as np

from .. import classifier
from ..methods import load_method
from ..plots import generator_grids
from . import experiment, rows


def code_box(z: np.ndarray, quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis [quantile, 1 - quantile] range of the codes ``z`` (n x 2)."""
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"E10 needs 2-D codes, got codes of shape {z.shape}")
    return np.quantile(z, quantile, axis=0), np.quantile(z, 1 - quantile, axis=0)


def code_grid(lo, hi, n: int, extent: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n x n`` evenly spaced points over the box [lo, hi] scaled by ``extent`` about its
    centre, in image order: rows from the top (largest code 2) down, columns left to right
    (code 1 ascending). Returns the points (n*n x 2) and the scaled box's corners."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    centre, half = (lo + hi) / 2, (hi - lo) / 2 * extent
    lo, hi = centre - half, centre + half
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(hi[1], lo[1], n)
    gx, gy = np.meshgrid(xs, ys)  # gx[r, c] = xs[c], gy[r, c] = ys[r]
    return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32), lo, hi


def extent_label(extent: float) -> str:
    return f"{extent:g}x"


@experiment("e10")
def decoder_as_generator(ctx):
    p, d = ctx.params, ctx.data
    clf = classifier.load(ctx.inputs["classifier"])
    acc = float((clf.predict(d.x_test) == d.y_test).mean())
    real_conf, _ = classifier.confidence(clf, d.x_test)  # the ceiling: real test digits
    out = rows("classifier", 0, {"test_accuracy": acc,
                                 "confident_share@real": (real_conf >= p["confidence"]).mean()})
    ctx.log(f"classifier: test accuracy {acc:.4f}; confident means max probability "
            f">= {p['confidence']}")
    panels = {}
    for model in p["models"]:
        for seed in ctx.seeds(model):
            c = ctx.codes(model, seed)
            method = load_method(ctx.models[model][seed])
            lo, hi = code_box(c["z_train"], p["region_quantile"])
            values = {"code_sq_norm": float((c["z_test"] ** 2).sum(1).mean()),
                      "sq_err_per_image": ctx.metrics_json(model, seed)["test_sq_err_per_image"]}
            grids = []
            for extent in p["extents"]:
                points, glo, ghi = code_grid(lo, hi, p["grid_n"], extent)
                images = method.decode(points)
                conf, label = classifier.confidence(clf, images)
                ok = conf >= p["confidence"]
                tag = extent_label(extent)
                values[f"confident_share@{tag}"] = ok.mean()
                values[f"digits_generated@{tag}"] = len(set(label[ok].tolist()))
                values[f"mean_confidence@{tag}"] = conf.mean()
                grids.append((tag, glo, ghi, images, ok))
            out += rows(model, seed, values)
            ctx.log(f"{model} seed {seed}: " + ", ".join(f"{k} {v:.3g}" for k, v in values.items()))
            if model not in panels:
                panels[model] = (c["z_test"], d.y_test, grids)
    generator_grids(panels, d.shape, p["grid_n"], ctx.figures["grids"])
    return out
