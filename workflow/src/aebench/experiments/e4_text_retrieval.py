"""E4 (slides 6-7): document retrieval with LSA vs deep AE codes (Hinton & Salakhutdinov 2006).

Every test document queries the train set by cosine similarity of the codes; a retrieved
document is relevant when it has the query's newsgroup. Precision and recall are measured
at 1, 3, 7, 15, ... retrieved documents (the paper's x axis), with mAP over the full ranking.
"""

import pandas as pd

from .. import retrieval
from ..plots import code_scatter, precision_recall_plot
from . import experiment, rows


def cutoffs(n: int) -> list[int]:
    """1, 3, 7, 15, 31, ... up to the database size."""
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k = 2 * k + 1
    return ks


@experiment("e4")
def text_retrieval(ctx):
    d, p = ctx.data, ctx.params
    ks = cutoffs(len(d.y_train))
    out, curve = [], []
    for model in p["models"]:
        for seed in ctx.seeds(model):
            c = ctx.codes(model, seed)
            r = retrieval.evaluate(c["z_test"], d.y_test, c["z_train"], d.y_train, "cosine",
                                   ks=ks, n_top=1, device=p["device"])
            out += rows(model, seed, {"mAP": r.mean_ap, **{f"P@{k}": v for k, v in
                                                           r.precision_at.items() if k in p["report_k"]}})
            curve += [{"model": model, "seed": seed, "retrieved": k, "precision": r.precision_at[k],
                       "recall": r.recall_at[k]} for k in ks]
            ctx.log(f"{model} seed {seed}: mAP {r.mean_ap:.4f}")
    curve = pd.DataFrame(curve)
    curve.to_csv(ctx.figures["curve_csv"], index=False)
    precision_recall_plot(curve, ctx.figures["pr_curve"])
    panels = {}
    for model in p["scatter"]:
        c = ctx.codes(model, ctx.seeds(model)[0])
        panels[model] = (c["z_test"], d.y_test)
    code_scatter(panels, ctx.figures["scatter"], labels=d.classes)
    return out
