"""E1 (slides 2-4): reconstruction error of PCA-30 vs the deep AE-30, and the digit figure."""

from ..plots import reconstruction_grid
from . import experiment, reconstruction_values, rows


@experiment("e1")
def reconstruction(ctx):
    out = []
    for model in ctx.params["models"]:
        for seed in ctx.seeds(model):
            out += rows(model, seed, reconstruction_values(ctx.metrics_json(model, seed)))
    n = ctx.params["n_show"]
    panels = {"test input": ctx.data.x_test[:n]}
    for model in ctx.params["models"]:
        seed = ctx.seeds(model)[0]
        panels[model] = ctx.codes(model, seed)["recon_test_head"][:n]
    reconstruction_grid(panels, ctx.data.shape, ctx.figures["reconstructions"])
    return out
