"""E3 (slide 5): 2-D codes of PCA-2 vs the deep AE-2, and how well they separate classes."""

from .. import metrics
from ..plots import code_scatter
from . import experiment, rows


@experiment("e3")
def codes_2d(ctx):
    p, d = ctx.params, ctx.data
    out, panels = [], {}
    for model in p["models"]:
        for seed in ctx.seeds(model):
            c = ctx.codes(model, seed)
            out += rows(model, seed, {
                "knn_accuracy": metrics.knn_accuracy(c["z_train"], d.y_train, c["z_test"],
                                                     d.y_test, k=p["knn_k"]),
                "silhouette": metrics.silhouette(c["z_test"], d.y_test, n=p["sample_n"], seed=seed),
                "trustworthiness": metrics.trustworthiness(d.x_test, c["z_test"],
                                                           n_neighbors=p["trust_k"],
                                                           n=p["sample_n"], seed=seed),
            })
            if model not in panels:
                panels[model] = (c["z_test"], d.y_test)
    code_scatter(panels, ctx.figures["scatter"])
    return out
