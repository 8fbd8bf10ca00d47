"""E1 (slides 2-4): reconstruction error of PCA-30 vs the deep AE-30, and the digit figure."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import Experiment, reconstruction_values, rows


@dataclass
class Params:
    models: list[str] = field(metadata={"schema": {"minItems": 1}})
    n_show: int = field(default=10, metadata={"schema": {"minimum": 1, "maximum": 64}})


class E1(Experiment):
    name = "e1"
    title = "PCA vs deep AE"
    lecture = "slides 2-4"
    Params = Params
    table_caption = (
        "Reconstruction error on the test set: squared error per image (Hinton & Salakhutdinov's "
        "unit: sum over pixels in [0, 1], mean over images) and per-pixel MSE, mean ± 95% CI over "
        "seeds. ae30 is pre-trained (RBM stack, unrolled, fine-tuned); ae30_scratch is the same "
        "shape from random initialisation. Anchors: PCA-30 13.87, deep AE 3.00.")
    figures = {"reconstructions.png": (
        "Top row: test images. Then one row per model of E1 (first seed): PCA-30, the deep "
        "autoencoder 784-1000-500-250-30 pre-trained as a stack of RBMs (ae30, Hinton & "
        "Salakhutdinov's recipe) and the same shape trained from random initialisation "
        "(ae30_scratch). The lecture's point: the deep AE is much sharper (slides 3-4).")}

    # errors from metrics.json, the figure from the test reconstructions a fit keeps: a run
    # spread over machines keeps each finished fit (aebench.runctl.restore.restore_plan)
    reads = ("recon_test_head",)

    def run(self, ctx):
        from ..plots import reconstruction_grid

        out = []
        for model in ctx.params.models:
            for seed in ctx.seeds(model):
                out += rows(model, seed, reconstruction_values(ctx.metrics_json(model, seed)))
        n = ctx.params.n_show
        d = ctx.data_of(ctx.seeds(ctx.params.models[0])[0])  # the first seed's, as the panels
        panels = {"test input": d.x_test[:n]}
        for model in ctx.params.models:
            seed = ctx.seeds(model)[0]
            panels[model] = ctx.codes(model, seed)["recon_test_head"][:n]
        reconstruction_grid(panels, d.shape, ctx.figure("reconstructions.png"))
        return out
