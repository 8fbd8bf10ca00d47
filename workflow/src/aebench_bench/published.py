"""A published run against the physical limit: its fits' weight-matrix FLOP, their time at the
machine's fp32 sgemm peak, and their measured time (from jobs.csv, whose work columns come
from each fit's cost.json: :mod:`aebench.flops`, :mod:`aebench.runctl.costs`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import Row

PART = "published"
MEDIAN_TARGET = 0.7  # issue 37: the median fit at 0.7 of the fp32 sgemm peak or more


def latest_full_run(published: Path) -> Path | None:
    """The published run of the default preset that started last (None if there is none)."""
    runs = []
    for m in published.glob("*/manifest.json"):
        man = json.loads(m.read_text())
        if man.get("preset") in (None, "default"):
            runs.append((man.get("start") or "", m.parent))
    return max(runs)[1] if runs else None


def run(pub: Path, log=print) -> list[Row]:
    """Rows for ``pub`` (a ``results/published/NAME``); none, with a note, for a run published
    before fits recorded their work."""
    jobs = pd.read_csv(pub / "jobs.csv")
    need = ["flop", "gflops", "peak_gflops"]
    fits = jobs.reindex(columns=[*jobs.columns.difference(need), *need]).dropna(subset=need)
    fits = fits[(fits["gflops"] > 0) & (fits["peak_gflops"] > 0)]
    if fits.empty:
        log(f"{PART}: {pub.name}: the FLOP are not recorded (published before fits wrote "
            "cost.json); run it again to measure them")
        return []
    at_peak = (fits["flop"] / fits["peak_gflops"]).sum() / 1e9 / 3600
    loops = (fits["flop"] / fits["gflops"]).sum() / 1e9 / 3600
    wall = fits["wall_seconds"].sum() / 3600
    median = float(fits["fraction_of_peak"].median())
    name = f"{pub.name} ({len(fits)} fits)"
    return [Row(PART, f"{name}: weight-matrix work", fits["flop"].sum() / 1e12, "TFLOP"),
            Row(PART, f"{name}: time at the fp32 sgemm peak", at_peak, "h"),
            Row(PART, f"{name}: measured, training loops", loops, "h"),
            Row(PART, f"{name}: measured, fit jobs' wall time", wall, "h"),
            Row(PART, f"{name}: fraction of the physical limit (loops)", at_peak / loops, ""),
            Row(PART, f"{name}: fraction of the physical limit (job wall)", at_peak / wall, ""),
            Row(PART, f"{name}: median fit's fraction of peak", median, "",
                f">= {MEDIAN_TARGET}", median >= MEDIAN_TARGET)]
