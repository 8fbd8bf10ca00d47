"""E3 (slide 5): 2-D codes of PCA-2 vs the deep AE-2, and how well they separate classes."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import Experiment, rows


@dataclass
class Params:
    models: list[str] = field(metadata={"schema": {"minItems": 1}})
    knn_k: int = field(default=5, metadata={"schema": {"minimum": 1}})
    trust_k: int = field(default=12, metadata={"schema": {"minimum": 1}})
    # points for silhouette / trustworthiness (both O(n^2))
    sample_n: int = field(default=2000, metadata={"schema": {"minimum": 10}})


class E3(Experiment):
    name = "e3"
    title = "2-D codes"
    lecture = "slide 5"
    Params = Params
    table_caption = (
        "2-D codes: accuracy of a k-NN classifier (fit on train codes, measured on test codes), "
        "silhouette of the classes and trustworthiness of the embedding (scikit-learn), mean ± "
        "95% CI over seeds.")
    figures = {"codes_2d.png": (
        "Test codes of PCA-2 and of the deep AE 784-1000-500-250-2 (pre-trained as an RBM stack, "
        "unrolled, fine-tuned), coloured by class (first seed). The lecture's slide 5: the deep "
        "AE separates the digits, PCA mixes them.")}

    def run(self, ctx):
        from .. import metrics
        from ..plots import code_scatter

        p = ctx.params
        out, panels = [], {}
        for model in p.models:
            for seed in ctx.seeds(model):
                c, d = ctx.codes(model, seed), ctx.data_of(seed)
                out += rows(model, seed, {
                    "knn_accuracy": metrics.knn_accuracy(c["z_train"], d.y_train, c["z_test"],
                                                         d.y_test, k=p.knn_k),
                    "silhouette": metrics.silhouette(c["z_test"], d.y_test, n=p.sample_n, seed=seed),
                    "trustworthiness": metrics.trustworthiness(d.x_test, c["z_test"],
                                                               n_neighbors=p.trust_k,
                                                               n=p.sample_n, seed=seed),
                })
                if model not in panels:
                    panels[model] = (c["z_test"], d.y_test)
        code_scatter(panels, ctx.figure("codes_2d.png"))
        return out
