"""E10 (slides 20-21): the decoder of a 2-D-code AE as a generator.

An evenly spaced grid is laid over the region a model's codes occupy (the box between the
``region_quantile`` and ``1 - region_quantile`` quantiles of its train codes, per axis) and
over wider boxes (the same centre, half-widths times each of ``extents``); every grid point
is decoded. A grid point "decodes to a digit" when a classifier trained once on the real
training images (E10's derived `logreg` model, aebench.kinds.judge) gives the decoded image a
max probability of at least ``confidence``. The same AE with an L2 penalty on its code (train ``code_l2``) is measured
the same way: the lecture's claim is that it decodes sensibly over a wider region.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import Experiment, rows


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


JUDGE = "e10_judge"  # the digit classifier E10 derives (kind logreg, fitted once)


@dataclass
class ClassifierParams:
    C: float = field(default=1.0, metadata={"schema": {"exclusiveMinimum": 0}})
    max_iter: int = field(default=200, metadata={"schema": {"minimum": 1}})


@dataclass
class Params:
    models: list[str] = field(metadata={"schema": {"minItems": 1}})
    grid_n: int = field(default=15, metadata={"schema": {"minimum": 2, "maximum": 40}})
    # the codes' region: per axis, the q..1-q quantiles of train codes
    region_quantile: float = field(default=0.01, metadata={"schema": {"minimum": 0, "exclusiveMaximum": 0.5}})
    # grids over that box and over the box widened about its centre
    extents: list[float] = field(default_factory=lambda: [1.0, 1.5], metadata={"schema": {
        "minItems": 1, "items": {"type": "number", "exclusiveMinimum": 0}}})
    # "decodes to a digit": the classifier's max probability >= this
    confidence: float = field(default=0.9, metadata={"schema": {"exclusiveMinimum": 0, "maximum": 1}})
    classifier: ClassifierParams = field(default_factory=ClassifierParams)

    def __post_init__(self):
        if isinstance(self.classifier, dict):
            self.classifier = ClassifierParams(**self.classifier)


class E10(Experiment):
    name = "e10"
    title = "generator"
    lecture = "slides 20-21"
    Params = Params
    table_caption = (
        "The decoder as a generator (slides 20-21). For each 2-D-code AE (ae2: plain; ae2_l2: "
        "the same AE trained with the penalty code_l2 · mean ‖z‖² on its code, code_l2 from "
        "config.yaml) a {p.grid_n}x{p.grid_n} grid of codes is decoded over the region its codes "
        "occupy (per axis the {p.region_quantile}..{upper} quantiles of its train codes; \"1x\") "
        "and over that box widened about its centre (extents {p.extents}). "
        "``confident_share@Ex``: share of the grid's decoded images that a logistic-regression "
        "classifier, trained once on the real training images, assigns a max probability ≥ "
        "**{p.confidence}** (the threshold); ``digits_generated@Ex``: how many distinct classes "
        "those confident images cover; ``mean_confidence@Ex``: mean max probability. "
        "``code_sq_norm``: mean ‖z‖² of the test codes (the penalty's target); "
        "``sq_err_per_image``: its price in reconstruction. The classifier row gives its test "
        "accuracy and the share of real test digits it is confident about (the ceiling). Mean ± "
        "95% CI over seeds.")
    figures = {"grids.png": (
        "Left: test codes of each 2-D-code AE coloured by digit, with the grid regions marked "
        "(solid: the region the codes occupy, per-axis {p.region_quantile}..{upper} quantiles of "
        "the train codes; dashed: widened {wider}x about its centre). Right: the images decoded "
        "at each grid point (top row = largest code 2, code 1 increasing to the right); tiles "
        "drawn faint are those the classifier is less than {p.confidence} sure about. Top: plain "
        "AE; bottom: the same AE with an L2 penalty on the code (first seed).")}

    def caption_values(self, p) -> dict:
        return {"upper": round(1 - p.region_quantile, 6), "wider": p.extents[1:]}

    def models(self, p):
        return [*p.models, JUDGE]

    def derived_models(self, p, config):
        from ..datasets import of_model

        dataset = of_model(config, config["models"].get(p.models[0], {}))
        return {JUDGE: {"kind": "logreg", "dataset": dataset,
                        "params": {"C": p.classifier.C, "max_iter": p.classifier.max_iter}}}

    def run(self, ctx):
        from ..plots import generator_grids

        p, d = ctx.params, ctx.data
        judge = ctx.load(JUDGE, 0)
        acc = float((judge.clf.predict(d.x_test) == d.y_test).mean())
        real_conf, _ = judge.confidence(d.x_test)  # the ceiling: real test digits
        out = rows("classifier", 0, {"test_accuracy": acc,
                                     "confident_share@real": (real_conf >= p.confidence).mean()})
        ctx.log(f"classifier: test accuracy {acc:.4f}; confident means max probability "
                f">= {p.confidence}")
        panels = {}
        for model in p.models:
            for seed in ctx.seeds(model):
                c = ctx.codes(model, seed)
                method = ctx.load(model, seed)
                lo, hi = code_box(c["z_train"], p.region_quantile)
                values = {"code_sq_norm": float((c["z_test"] ** 2).sum(1).mean()),
                          "sq_err_per_image": ctx.metrics_json(model, seed)["test_sq_err_per_image"]}
                grids = []
                for extent in p.extents:
                    points, glo, ghi = code_grid(lo, hi, p.grid_n, extent)
                    images = method.decode(points)
                    conf, label = judge.confidence(images)
                    ok = conf >= p.confidence
                    tag = extent_label(extent)
                    values[f"confident_share@{tag}"] = ok.mean()
                    values[f"digits_generated@{tag}"] = len(set(label[ok].tolist()))
                    values[f"mean_confidence@{tag}"] = conf.mean()
                    grids.append((tag, glo, ghi, images, ok))
                out += rows(model, seed, values)
                ctx.log(f"{model} seed {seed}: " + ", ".join(f"{k} {v:.3g}" for k, v in values.items()))
                if model not in panels:
                    panels[model] = (c["z_test"], d.y_test, grids)
        generator_grids(panels, d.shape, p.grid_n, ctx.figure("grids.png"))
        return out
