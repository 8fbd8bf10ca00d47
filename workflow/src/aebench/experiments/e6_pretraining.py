"""E6 (slides 11-13): test error of the fine-tuned classifier per init and label budget.

Reads the metrics of every fine-tune job (``ctx.models["<init>@<budget>"][seed]``). Per init
and seed: ``test_error_pct@<budget>``; for each pre-training init the paired gain over the
reference (random) init, ``gain_pct@<budget>`` = reference error - its error with the same
seed, hence the same labelled subset (positive: pre-training helps); and
``gain_few_minus_many_pct``, the gain at the smallest budget minus the gain at the largest
(positive: pre-training helps most with few labels, Erhan et al. 2010).
"""

from __future__ import annotations

import pandas as pd

from ..finetune import budget_label
from ..metrics import mean_ci
from ..plots import error_vs_budget
from . import experiment, rows


@experiment("e6")
def pretraining(ctx):
    p = ctx.params
    labels = [budget_label(b) for b in p["budgets"]]
    ref = p["reference"]
    err, n_labels = {}, {}
    for init in p["inits"]:
        for b in labels:
            for seed in ctx.seeds(f"{init}@{b}"):
                m = ctx.metrics_json(f"{init}@{b}", seed)
                err[init, b, seed] = 100 * m["test_error"]
                n_labels[b] = m["n_labels"]
    seeds = sorted({s for _, _, s in err})
    few, many = min(labels, key=n_labels.get), max(labels, key=n_labels.get)
    out, curve, gains = [], [], []
    for init in p["inits"]:
        for seed in seeds:
            values = {f"test_error_pct@{b}": err[init, b, seed] for b in labels}
            if init != ref:
                gain = {b: err[ref, b, seed] - err[init, b, seed] for b in labels}
                values.update({f"gain_pct@{b}": g for b, g in gain.items()})
                values["gain_few_minus_many_pct"] = gain[few] - gain[many]
            out += rows(init, seed, values)
            ctx.log(f"{init} seed {seed}: " + ", ".join(f"{k} {v:.3g}" for k, v in values.items()))
        for b in labels:
            mean, ci = mean_ci([err[init, b, s] for s in seeds])
            curve.append({"init": init, "n_labels": n_labels[b], "mean": mean, "ci95": ci})
            if init != ref:
                mean, ci = mean_ci([err[ref, b, s] - err[init, b, s] for s in seeds])
                gains.append({"init": init, "n_labels": n_labels[b], "mean": mean, "ci95": ci})
    error_vs_budget(pd.DataFrame(curve), ctx.figures["error_vs_budget"], pd.DataFrame(gains))
    return out
