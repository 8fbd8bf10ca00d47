"""Per-seed metrics -> summary tables (mean +- 95% CI); the claims table is aebench.claims."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .metrics import mean_ci

def summarize(long: pd.DataFrame) -> pd.DataFrame:
    """One row per (experiment, model, metric): mean, 95% CI half-width, number of seeds."""
    out = []
    keys = ["experiment", "dataset", "model", "metric"]
    for key, g in long.groupby(keys, sort=False):
        mean, ci = mean_ci(g["value"])
        out.append({**dict(zip(keys, key)), "mean": mean, "ci95": ci,
                    "n_seeds": int(g["seed"].nunique())})
    return pd.DataFrame(out, columns=[*keys, "mean", "ci95", "n_seeds"])


def fmt(mean: float, ci: float) -> str:
    if math.isnan(mean):
        return "n/a"
    s = f"{mean:.4g}"
    return s if math.isnan(ci) else f"{s} ± {ci:.2g}"


def wide_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Models as rows, metrics as columns, cells 'mean ± ci' (the Markdown/report view)."""
    if summary.empty:
        return pd.DataFrame()
    cells = summary.assign(cell=[fmt(m, c) for m, c in zip(summary["mean"], summary["ci95"])])
    order_m = list(dict.fromkeys(summary["model"]))
    order_c = list(dict.fromkeys(summary["metric"]))
    t = cells.pivot(index="model", columns="metric", values="cell").reindex(index=order_m,
                                                                           columns=order_c)
    t.insert(0, "seeds", summary.groupby("model")["n_seeds"].max().reindex(order_m))
    return t.reset_index()


def write_table(df: pd.DataFrame, csv: str | Path, md: str | Path | None = None) -> None:
    df.to_csv(csv, index=False)
    if md is not None:
        Path(md).write_text(df.to_markdown(index=False) + "\n")
