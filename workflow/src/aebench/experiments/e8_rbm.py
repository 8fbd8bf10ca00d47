"""E8 (slides 15-16): RBMs and a DBN as feature learners, beside the AE stacks.

Reads E6's cached pre-training stacks (``ctx.models[init][seed]``: no extra training). For
each init and seed, a linear probe (LogisticRegression on standardised features, fitted on
at most ``probe_n_train`` train images, scored on test) on the first hidden layer
(``probe_accuracy@layer1``: the RBM for the DBN, one AE for the AE stacks) and on the top
one (``probe_accuracy@top``: the DBN, the stacked AEs), plus the same probe on raw pixels.
The figure shows the first-layer filters (rows of W1) of the configured inits.
"""

from __future__ import annotations

from ..metrics import linear_probe_accuracy
from ..plots import filter_grid
from ..pretrain import Stack
from . import experiment, rows


@experiment("e8")
def rbm_features(ctx):
    d, p = ctx.data, ctx.params

    def probe(z_train, z_test, seed):
        return linear_probe_accuracy(z_train, d.y_train, z_test, d.y_test,
                                     n_train=p["probe_n_train"], max_iter=p["probe_max_iter"],
                                     seed=seed)

    out, filters, shown = [], {}, set()
    for seed in ctx.seeds(p["inits"][0]):
        acc = probe(d.x_train, d.x_test, seed)
        out += rows("pixels", seed, {"probe_accuracy@input": acc})
        ctx.log(f"pixels seed {seed}: probe accuracy {acc:.4f}")
    for init in p["inits"]:
        for seed in ctx.seeds(init):
            stack = Stack.load(ctx.models[init][seed] / "stack.pt")
            values = {}
            for tag, upto in (("layer1", 1), ("top", None)):
                values[f"probe_accuracy@{tag}"] = probe(
                    stack.codes(d.x_train, upto).numpy(), stack.codes(d.x_test, upto).numpy(), seed)
            out += rows(init, seed, values)
            ctx.log(f"{init} seed {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
            if init in p["filters"] and init not in shown:  # first seed only
                shown.add(init)
                w = stack.weights[0][:p["n_filters"]].numpy()
                filters[f"{init} ({stack.info['kind']}, seed {seed})"] = w
    filter_grid(filters, d.shape, ctx.figures["filters"])
    return out
