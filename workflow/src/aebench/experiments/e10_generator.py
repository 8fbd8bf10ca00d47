"""E10 (slides 20-21): the decoder of a 2-D-code AE as a generator.

Each model's codes are measured in a normalised code space: per axis, minus the mean and
divided by the standard deviation of its own train codes. An evenly spaced grid is laid over
the same boxes ``[-e, e]^2`` in those units for every model (``extents``, in standard
deviations: a narrow box, the region the codes occupy, and wider ones), mapped back to each
model's own code units, and decoded. A grid point "decodes to a digit" when a classifier
trained once on the real training images (E10's derived `logreg` model,
aebench.kinds.judge) gives the decoded image a max probability of at least its threshold,
which that model chose on the validation images (the smallest threshold at which it is
right on ``judge_accuracy`` of them). The same AE with an L2 penalty on its code (train
``code_l2``) is measured the same way: the lecture's claim is that it decodes sensibly over
a wider region.

Why standardised units: an L2 penalty on a code that feeds a linear layer can be undone by
rescaling (shrink z by c, scale the decoder's first weights by 1/c: the same function, a
c² smaller penalty), and a shift of the codes is absorbed by the decoder's bias just as
well. Boxes in each model's own units, or in units of its own spread, would then compare
nothing but that scale. Standardised per axis, a model and any rescaled / shifted copy of it
(z -> a*z + b per axis, decoder compensating) give the same grid images, so the same share
(tests/test_generator.py checks it on a trained AE); the code's squared norm is reported,
but it is scale-dependent and no claim rests on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import Experiment, rows


def code_scale(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis mean and standard deviation of the codes ``z`` (n x 2): the standardisation."""
    z = np.asarray(z, float)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"E10 needs 2-D codes, got codes of shape {z.shape}")
    mean, sd = z.mean(0), z.std(0)
    if not (np.isfinite(sd).all() and (sd > 0).all()):
        raise ValueError(f"E10 needs codes that vary along both axes, got standard deviations {sd}")
    return mean, sd


def code_grid(lo, hi, n: int) -> np.ndarray:
    """``n x n`` evenly spaced points over the box [lo, hi] (n*n x 2), in image order: rows
    from the top (largest code 2) down, columns left to right (code 1 ascending)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(hi[1], lo[1], n)
    gx, gy = np.meshgrid(xs, ys)  # gx[r, c] = xs[c], gy[r, c] = ys[r]
    return np.stack([gx.ravel(), gy.ravel()], 1)


def extent_label(extent: float) -> str:
    """The metric tag of the box [-extent, extent]^2 in standard deviations, e.g. ``3sd``."""
    return f"{extent:g}sd"


def measure_grids(z_train, decode, confidence, threshold: float, extents, n: int):
    """Decode an ``n x n`` grid over each standardised box ``[-e, e]^2`` (``e`` in
    ``extents``) of a model with train codes ``z_train`` and decoder ``decode`` (codes ->
    images), and judge the images with ``confidence`` (images -> max probability, class).

    Returns the values (``confident_share@<e>sd``, ``digits_generated@..``,
    ``mean_confidence@..``) and, per box, ``(tag, lo, hi, images, confident)`` with the box in
    standardised units.
    """
    mean, sd = code_scale(z_train)
    values, grids = {}, []
    for extent in extents:
        lo, hi = np.full(2, -float(extent)), np.full(2, float(extent))
        points = (mean + code_grid(lo, hi, n) * sd).astype(np.float32)  # in the model's own units
        images = decode(points)
        conf, label = confidence(images)
        ok = conf >= threshold
        tag = extent_label(extent)
        values[f"confident_share@{tag}"] = float(ok.mean())
        values[f"digits_generated@{tag}"] = len(set(label[ok].tolist()))
        values[f"mean_confidence@{tag}"] = float(conf.mean())
        grids.append((tag, lo, hi, images, ok))
    return values, grids


JUDGE = "e10_judge"  # the digit classifier E10 derives (kind logreg, fitted once)


@dataclass
class ClassifierParams:
    C: float = field(default=1.0, metadata={"schema": {"exclusiveMinimum": 0}})
    max_iter: int = field(default=200, metadata={"schema": {"minimum": 1}})


@dataclass
class Params:
    models: list[str] = field(metadata={"schema": {"minItems": 1}})
    grid_n: int = field(default=15, metadata={"schema": {"minimum": 2, "maximum": 40}})
    # boxes [-e, e]^2 in standard deviations of each model's train codes (per axis), the
    # same for every model: the first is "the region the codes occupy", the others wider
    extents: list[float] = field(default_factory=lambda: [1.5, 3.0], metadata={"schema": {
        "minItems": 1, "items": {"type": "number", "exclusiveMinimum": 0}}})
    # "decodes to a digit": max probability >= the smallest threshold at which the
    # classifier is right on at least this share of the validation images it keeps
    judge_accuracy: float = field(default=0.99, metadata={"schema": {"exclusiveMinimum": 0, "maximum": 1}})
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
        "config.yaml) a {p.grid_n}x{p.grid_n} grid of codes is decoded over boxes that are the "
        "same for both models in standardised units: per axis, the model's codes minus the mean "
        "and divided by the standard deviation of its own train codes; ``@Esd`` is the box "
        "[-E, E]² in those units (E in {p.extents}; the first is the region the codes occupy). "
        "A rescaling of a model's code (with the decoder compensating) changes nothing in "
        "these units. ``confident_share@Esd``: share of the grid's decoded images that a "
        "logistic-regression classifier, trained once on the real training images, assigns a "
        "max probability ≥ its threshold, chosen on the validation images (not on test) as the "
        "smallest at which it is right on ≥ {p.judge_accuracy} of the validation images it keeps; "
        "``digits_generated@Esd``: how many distinct classes those confident images cover; "
        "``mean_confidence@Esd``: mean max probability. ``code_sq_norm``: mean ‖z‖² of the test "
        "codes in the model's own units (the penalty's target; scale-dependent, so it does not "
        "show that the penalty did anything a rescaling could not); ``sq_err_per_image``: test "
        "reconstruction error. The classifier row: its test accuracy, the chosen threshold, the "
        "share of real test digits at or above it (the ceiling) and its accuracy on those "
        "(the validation target, checked on test). Mean ± 95% CI over seeds.")
    figures = {"grids.png": (
        "Left: test codes of each 2-D-code AE in standardised units (per axis: minus the mean, "
        "divided by the standard deviation of its train codes), coloured by digit, with the "
        "grid boxes [-E, E]² for E in {p.extents} (the same boxes for both models). Right: the "
        "images decoded at each grid point (top row = largest code 2, code 1 increasing to the "
        "right); tiles drawn faint are those the classifier's max probability puts below its "
        "threshold (chosen on validation images for accuracy {p.judge_accuracy}). Top: plain "
        "AE; bottom: the same AE with an L2 penalty on the code (first seed).")}

    def models(self, p):
        return [*p.models, JUDGE]

    def derived_models(self, p, config):
        from ..datasets import of_model
        from ..kinds.judge import LogReg

        dataset = of_model(config, config["models"].get(p.models[0], {}))
        return {JUDGE: LogReg.spec(JUDGE, dataset, C=p.classifier.C, max_iter=p.classifier.max_iter,
                                   target_accuracy=p.judge_accuracy)}

    def run(self, ctx):
        from ..kinds.judge import confident_stats
        from ..plots import generator_grids

        p = ctx.params
        d = ctx.data_of(0)  # the judge is fitted once, on seed 0's data
        judge = ctx.load(JUDGE, 0)
        threshold = float(ctx.metrics_json(JUDGE, 0)["threshold"])  # chosen on validation
        conf, label = judge.confidence(d.x_test)
        share, acc_kept = confident_stats(conf, label == d.y_test, threshold)
        out = rows("classifier", 0, {"test_accuracy": float((label == d.y_test).mean()),
                                     "threshold": threshold, "confident_share@real": share,
                                     "confident_accuracy@real": acc_kept})
        ctx.log(f"classifier: test accuracy {(label == d.y_test).mean():.4f}; confident means max "
                f"probability >= {threshold:.4f} (chosen on validation for accuracy "
                f"{p.judge_accuracy}); on test: {share:.1%} kept, {acc_kept:.4f} right")
        panels = {}
        for model in p.models:
            for seed in ctx.seeds(model):
                c, d = ctx.codes(model, seed), ctx.data_of(seed)
                method = ctx.load(model, seed)
                values = {"code_sq_norm": float((c["z_test"] ** 2).sum(1).mean()),
                          "sq_err_per_image": ctx.metrics_json(model, seed)["test_sq_err_per_image"]}
                grid_values, grids = measure_grids(c["z_train"], method.decode, judge.confidence,
                                                   threshold, p.extents, p.grid_n)
                values.update(grid_values)
                out += rows(model, seed, values)
                ctx.log(f"{model} seed {seed}: " + ", ".join(f"{k} {v:.3g}" for k, v in values.items()))
                if model not in panels:
                    mean, sd = code_scale(c["z_train"])
                    panels[model] = ((c["z_test"] - mean) / sd, d.y_test, grids)
        generator_grids(panels, ctx.data_of(0).shape, p.grid_n, ctx.figure("grids.png"),
                        axis_label="code {} (standardised)")
        return out
