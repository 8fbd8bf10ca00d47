"""E5 (slides 8-10): image retrieval with raw pixels vs AE codes vs binary codes.

Each test image queries the train set: Euclidean distance for pixels and real-valued codes,
Hamming distance for binary codes (sigmoid code units thresholded at 0.5: semantic
hashing, Krizhevsky & Hinton 2011). Relevant = same class.
"""

import numpy as np

from .. import retrieval
from ..plots import retrieval_hits
from . import experiment, rows


@experiment("e5")
def image_retrieval(ctx):
    d, p = ctx.data, ctx.params
    binary = set(p.get("binary", []))
    out, hits = [], {}
    for model in p["models"]:
        for seed in ctx.seeds(model):
            c = ctx.codes(model, seed)
            q, db = c["z_test"], c["z_train"]
            metric = "euclidean"
            if model in binary:
                q, db, metric = retrieval.binarize(q), retrieval.binarize(db), "hamming"
                out += rows(model, seed, {"bits_used": float((db.std(0) > 0).sum())})
            r = retrieval.evaluate(q, d.y_test, db, d.y_train, metric, ks=p["ks"], n_top=8,
                                   device=p["device"])
            out += rows(model, seed, {"mAP": r.mean_ap,
                                      **{f"P@{k}": v for k, v in r.precision_at.items()}})
            ctx.log(f"{model} seed {seed} ({metric}): mAP {r.mean_ap:.4f}, "
                    + ", ".join(f"P@{k} {v:.4f}" for k, v in r.precision_at.items()))
            if model not in hits:
                hits[model] = r.top
    shown = np.arange(p["n_queries_shown"]) * (len(d.y_test) // p["n_queries_shown"])
    retrieval_hits(d.x_test[shown], {m: d.x_train[t[shown]] for m, t in hits.items()}, d.shape,
                   ctx.figures["hits"])
    return out
