"""E5 (slides 8-10): image retrieval with raw pixels vs AE codes vs binary codes.

Each test image queries the train set: Euclidean distance for pixels and real-valued codes,
Hamming distance for binary codes (sigmoid code units thresholded at 0.5: semantic
hashing, Krizhevsky & Hinton 2011). Relevant = same class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import Evaluation, Experiment, rows, subset_of_models


@dataclass
class Params:
    models: list[str] = field(metadata={"schema": {"minItems": 1}})
    binary: list[str] = field(default_factory=list)  # compared by Hamming distance
    ks: list[int] = field(default_factory=lambda: [1, 10, 100], metadata={"schema": {
        "minItems": 1, "items": {"type": "integer", "minimum": 1}}})
    n_queries_shown: int = field(default=5, metadata={"schema": {"minimum": 1, "maximum": 20}})


class E5(Experiment):
    name = "e5"
    title = "image retrieval"
    lecture = "slides 8-10"
    Params = Params
    threads = "baseline"
    resources = {"mem_mb": 8000, "runtime": 60}
    table_caption = (
        "Image retrieval on MNIST: each test image queries the train set; raw pixels and "
        "real-valued AE codes by Euclidean distance, binary codes (sigmoid code thresholded at "
        "0.5) by Hamming distance. Precision at k and mAP with class labels as relevance, mean ± "
        "95% CI over seeds; bits_used counts code bits that are not constant.")
    figures = {"top_hits.png": (
        "A few test queries (left of each row) and their 8 nearest training images for each "
        "representation (first seed).")}

    def check(self, p, cfg):
        subset_of_models(p, "binary")

    def evaluate(self, ctx, model, seed):
        from .. import retrieval

        d, p = ctx.data, ctx.params
        c = ctx.codes(model, seed)
        q, db = c["z_test"], c["z_train"]
        metric, values = "euclidean", {}
        if model in p.binary:
            q, db, metric = retrieval.binarize(q), retrieval.binarize(db), "hamming"
            values["bits_used"] = float((db.std(0) > 0).sum())
        r = retrieval.evaluate(q, d.y_test, db, d.y_train, metric, ks=p.ks, n_top=8, device=ctx.device)
        values.update({"mAP": r.mean_ap, **{f"P@{k}": v for k, v in r.precision_at.items()}})
        ctx.log(f"{model} seed {seed} ({metric}): mAP {r.mean_ap:.4f}, "
                + ", ".join(f"P@{k} {v:.4f}" for k, v in r.precision_at.items()))
        # the figure's queries' hits: all the figure needs of this run
        return Evaluation(values, {"top_shown": r.top[shown_queries(p, len(d.y_test))]})

    def run(self, ctx):
        from ..plots import retrieval_hits

        p = ctx.params
        out, hits = [], {}
        for model in p.models:
            for seed in ctx.seeds(model):
                ev = ctx.evaluation(model, seed)
                out += rows(model, seed, ev.values)
                hits.setdefault(model, ev.arrays["top_shown"])  # the first seed's
        d = ctx.data_of(ctx.seeds(p.models[0])[0])  # the first seed's, as the hits
        shown = shown_queries(p, len(d.y_test))
        retrieval_hits(d.x_test[shown], {m: d.x_train[t] for m, t in hits.items()},
                       d.shape, ctx.figure("top_hits.png"))
        return out


def shown_queries(p, n_test: int):
    """The test queries the figure shows: evenly spread over the test set."""
    import numpy as np

    return np.arange(p.n_queries_shown) * (n_test // p.n_queries_shown)
