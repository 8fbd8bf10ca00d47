"""E10 (slides 20-21): the decoder of a 2-D-code AE as a generator.

Two AEs differ only in an L2 penalty on the code (train ``code_l2``): ``models[0]`` has none,
``models[1]`` has it. Both carry a max-norm on the two layers next to the code (arch param
``code_max_norm``, aebench.nets): without it the penalty is undone for free (shrink z by c,
grow the decoder's first weights by 1/c: the same function, a c² smaller penalty), so the
codes' size would say nothing. With it the decoder cannot follow a shrinking code beyond the
max, and the penalty has to change the codes' shape, not just their units.

One grid in RAW code units is laid, per seed, over the same boxes for both models:
``[-e·s, e·s]`` per axis, ``s`` the root mean square of the plain model's train codes on that
axis (their spread about the origin, where the penalty pulls codes), ``e`` in ``extents``:
a narrow box (about the region the plain model's codes occupy) and wider ones. A rescaled
code (z -> c·z, decoder compensating) now lands elsewhere on that grid, so it changes the
result (tests/test_generator.py checks it).

Each decoded image is judged by E10's derived ``cnn_judge`` (aebench.kinds.cnn_judge): a
small CNN trained once on the run's training images, temperature-calibrated on validation;
an image is *plausible* when its calibrated confidence and its distance to the nearest
training image are both within what ``real_share`` of real validation digits reach. The
measure is reported relative to real digits: a grid's plausible share divided by the share
of real TEST digits that are plausible (``plausible_vs_real``; 1 = as plausible as real
digits). Images far from every digit (a gray field, noise) are far from every training
image, so they are not plausible however confident the classifier is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import Experiment, rows


def code_rms(z: np.ndarray) -> np.ndarray:
    """Per-axis root mean square of the codes ``z`` (n x 2) about the origin: the box scale."""
    z = np.asarray(z, float)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"E10 needs 2-D codes, got codes of shape {z.shape}")
    s = np.sqrt((z ** 2).mean(0))
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise ValueError(f"E10 needs codes that are not all zero on either axis, got rms {s}")
    return s


def code_grid(lo, hi, n: int) -> np.ndarray:
    """``n x n`` evenly spaced points over the box [lo, hi] (n*n x 2), in image order: rows
    from the top (largest code 2) down, columns left to right (code 1 ascending)."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(hi[1], lo[1], n)
    gx, gy = np.meshgrid(xs, ys)  # gx[r, c] = xs[c], gy[r, c] = ys[r]
    return np.stack([gx.ravel(), gy.ravel()], 1)


def extent_label(extent: float) -> str:
    """The metric tag of the box ``[-extent·s, extent·s]`` per axis, e.g. ``3rms``."""
    return f"{extent:g}rms"


def measure_grids(scale, decode, score, real_share: float, extents, n: int):
    """Decode an ``n x n`` grid over each raw box ``[-e·scale, e·scale]`` (``e`` in
    ``extents``) with ``decode`` (codes -> images) and judge the images with ``score``
    (images -> dict with ``plausible``, ``confidence``, ``distance``, ``label`` per image).
    ``real_share``: the plausible share of real test digits, the unit of ``plausible_vs_real``.

    Returns the values (``plausible_share@<e>rms``, ``plausible_vs_real@..``,
    ``digits_generated@..``, ``mean_confidence@..``, ``mean_distance@..``) and, per box,
    ``(tag, lo, hi, images, plausible)`` with the box in raw code units.
    """
    scale = np.asarray(scale, float)
    values, grids = {}, []
    for extent in extents:
        lo, hi = -float(extent) * scale, float(extent) * scale
        images = decode(code_grid(lo, hi, n).astype(np.float32))
        s = score(images)
        ok = np.asarray(s["plausible"], bool)
        tag = extent_label(extent)
        values[f"plausible_share@{tag}"] = float(ok.mean())
        values[f"plausible_vs_real@{tag}"] = float(ok.mean() / real_share)
        values[f"digits_generated@{tag}"] = len(set(np.asarray(s["label"])[ok].tolist()))
        values[f"mean_confidence@{tag}"] = float(np.mean(s["confidence"]))
        values[f"mean_distance@{tag}"] = float(np.mean(s["distance"]))
        grids.append((tag, lo, hi, images, ok))
    return values, grids


JUDGE = "e10_judge"  # the judge of decoded images E10 derives (kind cnn_judge, fitted once)


@dataclass
class JudgeParams:
    epochs: int = field(default=20, metadata={"schema": {"minimum": 1}})
    lr: float = field(default=1e-3, metadata={"schema": {"exclusiveMinimum": 0}})
    batch_size: int = field(default=128, metadata={"schema": {"minimum": 1}})
    patience: int = field(default=3, metadata={"schema": {"minimum": 1}})


@dataclass
class Params:
    models: list[str] = field(metadata={"schema": {"minItems": 2, "maxItems": 2}})
    grid_n: int = field(default=15, metadata={"schema": {"minimum": 2, "maximum": 40}})
    # boxes [-e*s, e*s] per axis in raw code units, s = the rms of the plain model's
    # (models[0]) train codes, the same for both models: the first is about the region its
    # codes occupy, the others wider
    extents: list[float] = field(default_factory=lambda: [1.5, 3.0], metadata={"schema": {
        "minItems": 1, "items": {"type": "number", "exclusiveMinimum": 0}}})
    # "plausible": calibrated confidence and nearest-train distance each within what this
    # share of real validation digits reach (the judge's two limits, chosen on validation)
    real_share: float = field(default=0.95, metadata={"schema": {"exclusiveMinimum": 0,
                                                                 "exclusiveMaximum": 1}})
    judge: JudgeParams = field(default_factory=JudgeParams)

    def __post_init__(self):
        if isinstance(self.judge, dict):
            self.judge = JudgeParams(**self.judge)


class E10(Experiment):
    name = "e10"
    title = "generator"
    lecture = "slides 20-21"
    Params = Params
    table_caption = (
        "The decoder as a generator (slides 20-21). Two 2-D-code AEs that differ only in the "
        "penalty code_l2 · mean ‖z‖² on the code ({p.models[0]}: none; {p.models[1]}: code_l2 "
        "from config.yaml), both with a max-norm on the layers next to the code (so the "
        "penalty cannot be undone by rescaling the code). Per seed one {p.grid_n}x{p.grid_n} "
        "grid of raw codes is decoded over the same boxes for both models: ``@Erms`` is "
        "[-E·s, E·s] per axis, s the root mean square of {p.models[0]}'s train codes on that "
        "axis, E in {p.extents}. A decoded image is plausible when a small CNN digit "
        "classifier (trained once on the training images, temperature-calibrated on "
        "validation) is at least as confident about it, and it is at most as far from its "
        "nearest training image (pixel L2), as {p.real_share} of real validation digits each "
        "are. ``plausible_share@Erms``: the grid's plausible share; ``plausible_vs_real@Erms``: "
        "that share divided by the plausible share of real test digits (the judge row's "
        "``plausible_share@real``); ``digits_generated``: distinct classes among the plausible "
        "images; ``mean_confidence``, ``mean_distance``: over the grid. ``code_sq_norm``: mean "
        "‖z‖² of the test codes; ``sq_err_per_image``: test reconstruction error. Mean ± 95% "
        "CI over seeds.")
    figures = {"grids.png": (
        "Left: test codes of each 2-D-code AE in raw code units, coloured by digit, with the "
        "grid boxes [-E·s, E·s] (E in {p.extents}, s from {p.models[0]}'s train codes; the same "
        "boxes for both models). Right: the images decoded at each grid point (top row = "
        "largest code 2, code 1 increasing to the right); tiles drawn faint are not plausible "
        "(the CNN judge's calibrated confidence below, or the nearest-train distance above, "
        "what {p.real_share} of real validation digits reach). First seed.")}

    def models(self, p):
        return [*p.models, JUDGE]

    def derived_models(self, p, config):
        from ..datasets import of_model
        from ..kinds.cnn_judge import CNNJudge

        dataset = of_model(config, config["models"].get(p.models[0], {}))
        j = p.judge
        return {JUDGE: CNNJudge.spec(JUDGE, dataset, epochs=j.epochs, lr=j.lr,
                                     batch_size=j.batch_size, patience=j.patience,
                                     real_share=p.real_share)}

    def run(self, ctx):
        from ..plots import generator_grids

        p = ctx.params
        d = ctx.data_of(0)  # the judge is fitted once, on seed 0's data
        judge = ctx.load(JUDGE, 0)

        def score(images):
            return judge.score(images, d.x_train)

        real = score(d.x_test)
        real_share = float(real["plausible"].mean())
        if real_share == 0:
            raise ValueError("E10: no real test digit is plausible to the judge; check its fit "
                             f"(results/runs/{JUDGE}/seed0)")
        out = rows("judge", 0, {"test_accuracy": float((real["label"] == d.y_test).mean()),
                                "temperature": judge.temperature, "threshold": judge.threshold,
                                "max_distance": judge.max_distance,
                                "plausible_share@real": real_share,
                                "mean_confidence@real": float(real["confidence"].mean()),
                                "mean_distance@real": float(real["distance"].mean())})
        ctx.log(f"judge: test accuracy {(real['label'] == d.y_test).mean():.4f}; plausible = "
                f"confidence >= {judge.threshold:.4f} and nearest-train distance <= "
                f"{judge.max_distance:.3f} (chosen on validation); real test digits: "
                f"{real_share:.1%} plausible")
        panels = {}
        plain = p.models[0]
        for seed in ctx.seeds(plain):
            scale = code_rms(ctx.codes(plain, seed)["z_train"])  # the plain model's spread
            for model in p.models:
                c, ds = ctx.codes(model, seed), ctx.data_of(seed)
                method = ctx.load(model, seed)
                values = {"code_sq_norm": float((c["z_test"] ** 2).sum(1).mean()),
                          "sq_err_per_image": ctx.metrics_json(model, seed)["test_sq_err_per_image"]}
                grid_values, grids = measure_grids(scale, method.decode, score, real_share,
                                                   p.extents, p.grid_n)
                values.update(grid_values)
                out += rows(model, seed, values)
                ctx.log(f"{model} seed {seed}: " + ", ".join(f"{k} {v:.3g}" for k, v in values.items()))
                if model not in panels:
                    panels[model] = (c["z_test"], ds.y_test, grids)
        generator_grids(panels, d.shape, p.grid_n, ctx.figure("grids.png"),
                        axis_label="code {} (raw units)", measure="plausible")
        return out
