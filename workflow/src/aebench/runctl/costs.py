"""What a run cost: each job's attempts, wall and CPU seconds and peak RSS (:func:`job_costs`),
the same per experiment (:func:`experiment_costs`), and how long the run was busy, pauses
between sessions left out (:func:`busy_hours`)."""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .. import paths
from ..flops import read_cost
from . import ledger
from .jobs import Job
from .survey import read_bench


def _attempts(root: Path, model: str, job: str) -> Path:
    return root / paths.attempts(model, job.rsplit("seed", 1)[-1])


# A fit's weight-matrix work from its cost.json (aebench.flops): NaN for jobs without one
# (closed-form fits, other rules, fits made before fits recorded it).
WORK = ["flop", "gflops", "peak_gflops", "fraction_of_peak"]


def fit_work(run_dir: Path) -> dict:
    """The :data:`WORK` columns of a finished fit (empty without a cost.json)."""
    cost = read_cost(run_dir)
    return {k: cost.get(k) for k in WORK} if cost else {}


def job_costs(root: Path, jobs: dict[str, Job]) -> pd.DataFrame:
    """One row per job: state, attempts, wall and CPU seconds, peak RSS, start and end, and
    the CPU it ran on (a job without a ledger ran here: its benchmark file is this machine's);
    a finished fit's FLOP, achieved GFLOP/s and fraction of the machine's peak (:data:`WORK`)."""
    here = ledger.cpu_model()
    rows = []
    for j in jobs.values():
        row = {"job": j.name, "rule": j.rule, "model": j.model, "state": j.state}
        b = read_bench(root / j.bench) if j.state == "done" and j.bench else {}
        spent = ledger.total(_attempts(root, j.model, j.name)) if j.model else {"attempts": 0}
        spent.pop("spans", None)  # job_spans reads them
        if spent["attempts"]:
            row.update(spent, source="attempts")
            row["cpu"] = row["cpu"] or here  # a ledger from before it named the CPU
        elif b:
            row.update(attempts=1, source="benchmark", wall_seconds=b["wall_seconds"],
                       cpu_seconds=b["cpu_seconds"], max_rss_mb=b["max_rss_mb"],
                       start=b["end"] - b["wall_seconds"], end=b["end"], cpu=here)
        if j.model and j.state == "done":
            row.update(fit_work(root / j.output))
        rows.append(row)
    cols = ["job", "rule", "model", "state", "attempts", "wall_seconds", "cpu_seconds",
            "max_rss_mb", "start", "end", "source", "cpu", *WORK]
    return pd.DataFrame(rows).reindex(columns=cols).astype({c: float for c in WORK})


def fraction_of_peak(jobs_df: pd.DataFrame) -> float:
    """The jobs' time at the peak over their measured loop time (the fits' fractions weighted
    by their time), over the fits that record both; NaN if none does."""
    d = jobs_df.dropna(subset=["flop", "gflops", "peak_gflops"])
    d = d[(d["gflops"] > 0) & (d["peak_gflops"] > 0)]
    spent = (d["flop"] / d["gflops"]).sum()
    return float((d["flop"] / d["peak_gflops"]).sum() / spent) if spent > 0 else math.nan


def experiment_costs(jobs_df: pd.DataFrame, per_exp: dict[str, list[str]]) -> pd.DataFrame:
    """Per experiment: its jobs done, the CPU-hours and wall hours of the jobs it is the first
    (in lecture order) to need (a shared model, E6's stacks read by E8, is charged once), the
    largest peak RSS among all its jobs, and the CPUs its fits and steps ran on."""
    by_job = jobs_df.set_index("job")
    charged: set[str] = set()
    rows = []
    for exp, names in per_exp.items():
        own = [n for n in names if n not in charged]
        charged.update(names)
        mine, all_ = by_job.loc[own], by_job.loc[names]
        work = mine.reindex(columns=WORK)  # a jobs.csv from before fits recorded their work
        rows.append({"experiment": exp, "jobs": len(names),
                     "done": int((all_["state"] == "done").sum()),
                     "jobs_charged": len(own),
                     "cpu_hours": round(mine["cpu_seconds"].sum() / 3600, 3),
                     "wall_hours": round(mine["wall_seconds"].sum() / 3600, 3),
                     "peak_rss_mb": all_["max_rss_mb"].max(),
                     # the weight-matrix work of its own fits, and how near the peak they ran
                     "flop": work["flop"].sum(min_count=1),
                     "fraction_of_peak": round(fraction_of_peak(work), 4),
                     # what made its results: data prepared again elsewhere are checked
                     # by their sha256 instead (data_checks)
                     "cpu": cpus(all_.loc[all_["rule"] != "data", "cpu"])})
    return pd.DataFrame(rows)


def cpus(column) -> str | None:
    """The distinct CPUs of some jobs, "; "-joined (None if no job names one)."""
    names = dict.fromkeys(n for v in column.dropna() for n in str(v).split("; "))
    return "; ".join(sorted(names)) or None


def carry_over(jobs_df: pd.DataFrame, previous: Path, cpu: str | None = None) -> pd.DataFrame:
    """Jobs an earlier publication of this run recorded as done stay done: a run resumed on a
    new machine restores its published experiments (``restore_from``) without their fits,
    and their costs and results were measured once already. ``cpu``: what the earlier
    publication's manifest names, for a jobs.csv written before jobs named their CPU."""
    if not previous.exists():
        return jobs_df
    old = pd.read_csv(previous).set_index("job")
    if "cpu" not in old:
        old["cpu"] = cpu
    for col in ("start", "end"):  # written as ISO times
        old[col] = pd.to_datetime(old[col], utc=True).map(lambda t: t.timestamp() if pd.notna(t) else None)
    old = old.reindex(columns=list(dict.fromkeys([*old.columns, *WORK])))  # older: no work
    out = jobs_df.set_index("job")
    # not done here, or done by copying (restore_from: no ledger, no benchmark file here)
    keep = [j for j in out.index if j in old.index and old.loc[j, "state"] == "done"
            and (out.loc[j, "state"] != "done" or pd.isna(out.loc[j, "source"]))]
    out = out.astype(object)
    out.loc[keep, :] = old.loc[keep, out.columns].astype(object)
    return out.reset_index().astype({c: float for c in ("attempts", "wall_seconds", "cpu_seconds",
                                                        "max_rss_mb", "start", "end", *WORK)})


def sessions(root: Path) -> list[tuple[float, float]]:
    """When Snakemake ran in ``root``: each invocation's log, from the time in its name (local
    time, as Snakemake writes it) to its last write. It covers the DAG, job start-up and the
    gaps between jobs, which no job's own record holds."""
    out = []
    for f in (root / ".snakemake" / "log").glob("*.snakemake.log"):
        try:
            start = datetime.strptime(f.name.split(".snakemake")[0], "%Y-%m-%dT%H%M%S.%f").timestamp()
            out.append((start, max(start, f.stat().st_mtime)))
        except (ValueError, OSError):
            continue
    return out


def merge(spans) -> list[tuple[float, float]]:
    """The union of time spans, as disjoint spans in order."""
    out: list[list[float]] = []
    for start, end in sorted((float(s), float(e)) for s, e in spans if s == s and e == e):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


def overlapping(spans, others) -> list[tuple[float, float]]:
    """The ``spans`` that share some time with one of ``others``."""
    others = merge(others)
    return [(s, e) for s, e in spans if any(s < b and a < e for a, b in others)]


def job_spans(root: Path, jobs_df: pd.DataFrame) -> list[tuple[float, float]]:
    """When the jobs ran: each attempt's (start, end) from its ledger (a resumed job's span
    would cover the pause), else the job's own. A job carried over from an earlier
    publication whose ledger this machine lacks is left to that publication's sessions."""
    spans = []
    for r in jobs_df.itertuples():
        if r.source == "attempts":
            spans += ledger.total(_attempts(root, r.model, r.job))["spans"]
        elif r.source == "benchmark":
            spans.append((r.start, r.end))
    return spans


def busy_hours(spans) -> float:
    """Hours covered by the union of ``spans``: jobs running side by side count once, and the
    gaps between sessions (a run paused overnight) do not count."""
    return round(sum(e - s for s, e in merge(spans)) / 3600, 3)


def stamp(t: float | None) -> str | None:
    """A unix time as the ISO time a publication writes (None for none)."""
    if t is None or (isinstance(t, float) and math.isnan(t)):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def unstamp(t: str) -> float:
    return datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
