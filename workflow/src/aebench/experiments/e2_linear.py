"""E2 (slides 2-3): a linear AE (tied or untied) finds PCA's subspace.

For each linear AE the principal angles between its decoder's column space and the span
of PCA's components are measured, with both reconstruction errors.
"""

import pandas as pd

from ..methods import load_method
from ..metrics import principal_angles_deg
from ..plots import principal_angles_plot
from . import experiment, rows


@experiment("e2")
def linear_vs_pca(ctx):
    pca_name = ctx.params["reference"]
    out, curves = [], []
    for seed in ctx.seeds(pca_name):
        pca = load_method(ctx.models[pca_name][seed])
        pca_err = ctx.metrics_json(pca_name, seed)["test_sq_err_per_image"]
        out += rows(pca_name, seed, {"sq_err_per_image": pca_err})
        for model in ctx.params["models"]:
            if seed not in ctx.models[model]:
                continue
            ae = load_method(ctx.models[model][seed])
            angles = principal_angles_deg(ae.basis(), pca.basis())
            err = ctx.metrics_json(model, seed)["test_sq_err_per_image"]
            out += rows(model, seed, {"max_angle_deg": angles.max(),
                                      "mean_angle_deg": angles.mean(),
                                      "sq_err_per_image": err,
                                      "err_ratio_to_pca": err / pca_err})
            curves += [{"model": model, "seed": seed, "index": i + 1, "angle_deg": a}
                       for i, a in enumerate(sorted(angles))]
    principal_angles_plot(pd.DataFrame(curves), ctx.figures["angles"])
    return out
