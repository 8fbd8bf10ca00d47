"""Rule gather: claims table, summary of all experiments, learning curves."""

import json
from pathlib import Path

import pandas as pd

from aebench import claims as claims_table
from aebench.gather import summarize, write_table
from aebench.plots import learning_curves
from aebench.runctl.runlog import rule_log

JUDGED = {"test": "test split (judge_split: test)",
          "val": "validation split (judge_split: val): a development table, not a confirmation"}

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0]) as log:
    long = pd.concat([pd.read_csv(f) for f in sm.input.metrics], ignore_index=True)
    summary = summarize(long)
    summary.to_csv(sm.output.summary, index=False)
    manifests = [json.loads(Path(f).read_text()) for f in sm.input.manifests]
    full = {m["dataset"]: m["full_data"] for m in manifests}
    claims = claims_table.evaluate(claims_table.load(sm.input.claims), long, full,
                                   sm.params.not_judged)
    write_table(claims, sm.output.claims, sm.output.claims_md)
    # The table says which split it judged: a development (val) table is never read as a
    # confirmation (test) one.
    split = sm.params.judge_split
    md = Path(sm.output.claims_md)
    md.write_text(f"Judged on the {JUDGED[split]}.\n\n" + md.read_text())
    hist = []
    # runs/<model>/seed<k>/history.csv, here or in the published run restored from
    for f in [Path(d) / "history.csv" for d in sm.input.runs] + [Path(f) for f in sm.input.histories]:
        h = pd.read_csv(f)
        hist.append(h.assign(model=f.parent.parent.name, seed=f.parent.name.removeprefix("seed")))
    learning_curves(pd.concat(hist, ignore_index=True) if hist else pd.DataFrame(), sm.output.curves)
    for v, n in claims["verdict"].value_counts().items():
        log(f"claims {v}: {n}")
