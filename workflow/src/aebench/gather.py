"""Per-seed metrics -> summary tables (mean +- 95% CI) and the claims table."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import yaml

from .metrics import mean_ci

# Verdicts of claims this run could not judge start with this (README tables leave them out).
NOT_JUDGED = "n/a"


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


# --------------------------------------------------------------------------- claims


def load_claims(paths) -> list[dict]:
    """Every claim of the given files (workflow/claims/<experiment>.yaml), in lecture order."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    claims = [c for p in paths for c in yaml.safe_load(Path(p).read_text())["claims"]]
    number = lambda c: int(re.match(r"e(\d+)", c["experiment"]).group(1)) if re.match(  # noqa: E731
        r"e(\d+)", c["experiment"]) else 10**6
    return sorted(claims, key=number)


def _check(check: dict, mean: float, other: float | None, anchor: float | None) -> tuple[bool, str]:
    kind = check["type"]
    if kind == "within_rel":
        tol = check["tol"]
        return abs(mean - anchor) <= tol * abs(anchor), f"within {tol:.0%} of the anchor"
    if kind == "at_most":
        return mean <= check["value"], f"≤ {check['value']}"
    if kind == "at_least":
        return mean >= check["value"], f"≥ {check['value']}"
    margin = check.get("margin", 0.0)
    if kind == "below_model":
        return mean + margin <= other, f"≤ {check['model']} − {margin}"
    if kind == "above_model":
        return mean >= other + margin, f"≥ {check['model']} + {margin}"
    raise ValueError(f"unknown claim check type {kind!r}")


def evaluate_claims(claims: list[dict], summary: pd.DataFrame) -> pd.DataFrame:
    """Each claim against our mean; 'n/a' where this run lacks the model or metric."""
    index = {(r.experiment, r.model, r.metric): r for r in summary.itertuples()}
    rows = []
    for c in claims:
        key = (c["experiment"], c["model"], c["metric"])
        other_key = (c["experiment"], c["check"].get("model"), c["metric"])
        r = index.get(key)
        o = index.get(other_key) if "model" in c["check"] else None
        row = {"id": c["id"], "claim": c["claim"], "metric": c["metric"],
               "anchor": c.get("anchor_text", c.get("anchor", "")), "source": c.get("source", "")}
        if r is None or ("model" in c["check"] and o is None):
            row.update(ours="n/a", tolerance="", verdict=f"{NOT_JUDGED} (not in this run)")
        elif c.get("dataset") and r.dataset != c["dataset"]:
            row.update(ours=f"{c['model']}: {fmt(r.mean, r.ci95)} on {r.dataset}", tolerance="",
                       verdict=f"{NOT_JUDGED} (anchor is for {c['dataset']})")
        else:
            ok, tol = _check(c["check"], r.mean, o.mean if o is not None else None, c.get("anchor"))
            ours = f"{c['model']}: {fmt(r.mean, r.ci95)}"
            if o is not None:
                ours += f" vs {c['check']['model']}: {fmt(o.mean, o.ci95)}"
            row.update(ours=ours + f" (n={r.n_seeds})", tolerance=tol,
                       verdict="PASS" if ok else "FAIL")
        rows.append(row)
    return pd.DataFrame(rows, columns=["id", "claim", "anchor", "ours", "tolerance", "verdict",
                                       "metric", "source"])
