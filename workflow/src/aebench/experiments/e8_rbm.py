"""E8 (slides 15-16): RBMs and a DBN as feature learners, beside the AE stacks.

Reads E6's pre-training stacks (its ``e6_<init>`` models: no extra training). For each init
and seed, a linear probe (LogisticRegression on standardised features, fitted on at most
``probe_n_train`` train images, scored on test) on the first hidden layer
(``probe_accuracy@layer1``: the RBM for the DBN, one AE for the AE stacks) and on the top
one (``probe_accuracy@top``: the DBN, the stacked AEs), plus the same probe on raw pixels.
The figure shows the first-layer filters (rows of W1) of the configured inits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import Evaluation, Experiment, rows
from .e6_pretraining import stack_model


@dataclass
class Params:
    inits: list[str] = field(metadata={"schema": {"minItems": 1}})  # experiments.e6.inits names
    filters: list[str] = field(default_factory=list)  # whose first-layer filters the figure shows
    n_filters: int = field(default=100, metadata={"schema": {"minimum": 1, "maximum": 400}})
    probe_n_train: int = field(default=10000, metadata={"schema": {"minimum": 10}})
    probe_max_iter: int = field(default=1000, metadata={"schema": {"minimum": 1}})
    # the probe's inverse regularisation, chosen on validation per feature set (metrics.tuned_probe)
    probe_Cs: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0],
                                  metadata={"schema": {"minItems": 1}})


class E8(Experiment):
    name = "e8"
    title = "RBM and DBN"
    lecture = "slides 15-16"
    Params = Params
    threads = "baseline"
    resources = {"mem_mb": 6000, "runtime": 60}  # linear probes on four stacks x seeds
    table_caption = (
        "RBMs and DBNs as feature learners (slides 15-16), beside autoencoders. The features are "
        "those of E6's pre-training stacks (no extra training): ``probe_accuracy@layer1`` uses "
        "the first hidden layer (for **dbn** that is one RBM, for **sae** / **sdae** one sparse / "
        "denoising AE, for **random** random sigmoid features of the same size), "
        "``probe_accuracy@top`` the top hidden layer (the DBN, the stacked AEs); **pixels** is "
        "the same probe on the raw input. The probe is a linear classifier (scikit-learn "
        "LogisticRegression on standardised features) fitted on up to {p.probe_n_train} "
        "training images, its inverse regularisation C chosen on validation from {p.probe_Cs} "
        "for each feature set alike (``probe_log10_C@...``), and scored on test. The RBMs are a small torch CD-1 implementation "
        "(aebench.rbm), not scikit-learn's BernoulliRBM, because the DBN of E6 is trained on 60k "
        "images with 1000-unit layers and the torch version runs on the GPU the training rules "
        "request. The E7 table gives the same probe on the one-layer AE variants. Mean ± 95% CI "
        "over seeds.")
    figures = {"filters.png": (
        "First-layer filters (rows of W1, each scaled to its own min..max; first {p.n_filters} "
        "units, first seed) of the RBM at the bottom of the DBN and of the first sparse and "
        "denoising AE layers of E6's stacks.")}

    def models(self, p):
        return [stack_model(i) for i in p.inits]

    def check(self, p, cfg):
        e6 = cfg.params.get("e6")
        if e6 is None:
            raise ValueError("reads E6's pre-training stacks; it needs experiments.e6")
        for key in ("inits", "filters"):
            stray = [i for i in getattr(p, key) if i not in e6.inits]
            if stray:
                raise ValueError(f"{key} names {stray}, which are not experiments.e6.inits "
                                 f"({sorted(e6.inits)})")

    def evaluate(self, ctx, model, seed):
        import numpy as np

        d, p = ctx.data, ctx.params
        init = next(i for i in p.inits if stack_model(i) == model)
        stack = ctx.load(model, seed).stack
        values = {}
        for tag, upto in (("layer1", 1), ("top", None)):
            values.update(probe(p, d, *(stack.codes(x, upto).numpy()
                                        for x in (d.x_train, d.x_val, d.x_test)), seed, tag))
        ctx.log(f"{init} seed {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
        arrays = ({"filters": stack.weights[0][:p.n_filters].numpy(), "kind": np.array(stack.info["kind"])}
                  if init in p.filters else {})  # what the figure shows
        return Evaluation(values, arrays)

    def run(self, ctx):
        from ..plots import filter_grid

        p = ctx.params
        out, filters = [], {}
        for seed in ctx.seeds(stack_model(p.inits[0])):
            d = ctx.data_of(seed)
            values = probe(p, d, d.x_train, d.x_val, d.x_test, seed, "input")
            out += rows("pixels", seed, values)
            ctx.log(f"pixels seed {seed}: probe accuracy {values['probe_accuracy@input']:.4f}")
        for init in p.inits:
            for seed in ctx.seeds(stack_model(init)):
                ev = ctx.evaluation(stack_model(init), seed)
                out += rows(init, seed, ev.values)
                if init in p.filters and not any(k.startswith(f"{init} (") for k in filters):
                    filters[f"{init} ({ev.arrays['kind']}, seed {seed})"] = ev.arrays["filters"]  # first seed
        filter_grid(filters, d.shape, ctx.figure("filters.png"))
        return out


def probe(p, d, z_train, z_val, z_test, seed, tag: str) -> dict[str, float]:
    """The tuned probe's test accuracy and its C chosen on validation (log10), named by tag."""
    import math

    from ..metrics import tuned_probe

    r = tuned_probe(z_train, d.y_train, z_val, d.y_val, z_test, d.y_test, p.probe_Cs,
                    n_train=p.probe_n_train, max_iter=p.probe_max_iter, seed=seed)
    return {f"probe_accuracy@{tag}": r["accuracy"], f"probe_log10_C@{tag}": math.log10(r["C"])}
