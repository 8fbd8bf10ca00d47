"""E2 (slides 2-3): a linear AE (tied or untied) finds PCA's subspace.

For each linear AE the principal angles between its decoder's column space and the span
of PCA's components are measured, with both reconstruction errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import Experiment, rows


@dataclass
class Params:
    reference: str
    models: list[str] = field(metadata={"schema": {"minItems": 1}})


class E2(Experiment):
    name = "e2"
    title = "linear AE = PCA"
    lecture = "slides 2-3"
    Params = Params
    table_caption = (
        "Linear autoencoders (one linear code layer; tied: decoder = encoder transposed) against "
        "PCA with the same code size: principal angles between their code subspace and PCA's, "
        "reconstruction error and its ratio to PCA's, mean ± 95% CI over seeds.")
    figures = {"principal_angles.png": (
        "Principal angles (sorted) between each linear AE's decoder subspace and the PCA "
        "subspace, mean and 95% CI over seeds. Near zero: the linear AE found PCA's subspace "
        "(slides 2-3).")}

    def run(self, ctx):
        import pandas as pd

        from ..metrics import principal_angles_deg
        from ..plots import principal_angles_plot

        pca_name = ctx.params.reference
        out, curves = [], []
        for seed in ctx.seeds(pca_name):
            pca = ctx.load(pca_name, seed)
            pca_err = ctx.metrics_json(pca_name, seed)["test_sq_err_per_image"]
            out += rows(pca_name, seed, {"sq_err_per_image": pca_err})
            for model in ctx.params.models:
                if seed not in ctx.models[model]:
                    continue
                ae = ctx.load(model, seed)
                angles = principal_angles_deg(ae.basis(), pca.basis())
                err = ctx.metrics_json(model, seed)["test_sq_err_per_image"]
                out += rows(model, seed, {"max_angle_deg": angles.max(),
                                          "mean_angle_deg": angles.mean(),
                                          "sq_err_per_image": err,
                                          "err_ratio_to_pca": err / pca_err})
                curves += [{"model": model, "seed": seed, "index": i + 1, "angle_deg": a}
                           for i, a in enumerate(sorted(angles))]
        principal_angles_plot(pd.DataFrame(curves), ctx.figure("principal_angles.png"))
        return out
