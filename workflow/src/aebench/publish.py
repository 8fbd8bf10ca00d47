"""Publish a run's small files, experiment by experiment, while it goes on.

    python -m aebench.publish NAME [--directory RUN] [--to DIR] [--configfile ...] [--config ...]

Pass the config flags given to snakemake (as for ``python -m aebench.status``). Each call
copies, under ``results/published/NAME/`` (or ``--to``):

- every finished experiment (all its jobs done): ``<exp>/metrics.csv``, ``table.{csv,md}``,
  ``figures/``; unfinished ones wait for a later call;
- every finished fit's ``run.json``, ``metrics.json`` and ``history.csv`` (no models, no codes;
  ``preview.npz``: the few test reconstructions an experiment that reads only small files
  shows) and each dataset's manifest: what ``restore_from`` needs to rebuild the claims and
  report;
- ``jobs.csv``: every job's state, attempts, wall and CPU seconds and peak RSS (a fit's
  attempts summed from :mod:`aebench.ledger`; other jobs from their benchmark file);
  ``costs.csv``: the same per experiment;
- once gather has run: ``claims.{csv,md}``, ``summary.csv``, the learning curves and, if built
  (``snakemake --report results/report.html``), the HTML report;
- ``manifest.json`` and ``progress.md``: commit, preset, config and its hash, machine, seeds,
  start and end, CPU-hours, busy hours (how long Snakemake and the jobs ran, the pauses
  between sessions not counted: what a preset takes), jobs done out of total, the estimated
  time left.

A new machine that lost ``results/`` then re-runs only what is missing: set
``restore_from: results/published/NAME`` and the finished experiments are copied back
instead of being trained again (the config must be the one the run was made with), and so
are the finished evaluations and fits of the others that nothing left to run needs again
(:func:`restore_plan`: E6's classifiers, E1's fits, the evaluations of E5, E7, E8, E9), so that a run longer
than one machine's life keeps them too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from . import config as aeconfig
from . import ledger, paths, status
from .experiments import PREVIEW

MANIFEST = "manifest.json"
# Keys that say where and how fast a run goes, not what it computes: a published run restores
# into a config that differs only in these.
RUNTIME_KEYS = ("data_mirror", "allow_download", "restore_from", "device", "gpu", "gpu_model",
                "threads")
# The code a finished fit depends on: if any of it changed after the run's commit, the
# published numbers are not those of the code now checked in (the manifest says so).
TRAINING_CODE = ("workflow/src/aebench/kinds", "workflow/src/aebench/datasets",
                 "workflow/src/aebench/train.py", "workflow/src/aebench/nets.py",
                 "workflow/src/aebench/pretrain.py", "workflow/src/aebench/rbm.py",
                 "workflow/src/aebench/finetune.py", "workflow/src/aebench/runs.py",
                 "workflow/src/aebench/checkpoint.py", "workflow/src/aebench/spec.py",
                 "workflow/src/aebench/variants.py", "workflow/src/aebench/metrics.py",
                 "workflow/scripts/fit.py", "workflow/scripts/prepare_data.py")
SMALL_BYTES = 2_000_000  # no single published file is larger (the report may be, and is kept)


def config_hash(raw: dict) -> str:
    """What the run computes, as a short hash: the parsed config without :data:`RUNTIME_KEYS`."""
    what = {k: v for k, v in raw.items() if k not in RUNTIME_KEYS and not k.startswith("_")}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine() -> dict:
    cpu = ledger.cpu_model()
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal")), 0)
    return {"host": socket.gethostname(), "platform": platform.platform(), "cpu": cpu,
            "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "gpu": _gpus(), "python": platform.python_version(), "torch": _version("torch")}


def _gpus() -> str | None:
    """The NVIDIA GPUs nvidia-smi lists, or None (without importing torch)."""
    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    names = [n.strip() for n in out if n.strip()]
    return ", ".join(f"{names.count(n)}x {n}" for n in dict.fromkeys(names)) or None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _version(pkg: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(pkg)
    except PackageNotFoundError:
        return "not installed"


def _attempts(root: Path, model: str, job: str) -> Path:
    return root / paths.attempts(model, job.rsplit("seed", 1)[-1])


def job_costs(root: Path, jobs: dict[str, status.Job]) -> pd.DataFrame:
    """One row per job: state, attempts, wall and CPU seconds, peak RSS, start and end, and
    the CPU it ran on (a job without a ledger ran here: its benchmark file is this machine's)."""
    here = ledger.cpu_model()
    rows = []
    for j in jobs.values():
        row = {"job": j.name, "rule": j.kind if j.kind in ("data", "evaluate", "experiment", "gather") else "fit",
               "model": j.model, "state": j.state}
        b = status.read_bench(root / j.bench) if j.state == "done" else {}
        spent = ledger.total(_attempts(root, j.model, j.name)) if j.model else {"attempts": 0}
        spent.pop("spans", None)  # job_spans reads them
        if spent["attempts"]:
            row.update(spent, source="attempts")
            row["cpu"] = row["cpu"] or here  # a ledger from before it named the CPU
        elif b:
            row.update(attempts=1, source="benchmark", wall_seconds=b["wall_seconds"],
                       cpu_seconds=b["cpu_seconds"], max_rss_mb=b["max_rss_mb"],
                       start=b["end"] - b["wall_seconds"], end=b["end"], cpu=here)
        rows.append(row)
    cols = ["job", "rule", "model", "state", "attempts", "wall_seconds", "cpu_seconds",
            "max_rss_mb", "start", "end", "source", "cpu"]
    return pd.DataFrame(rows).reindex(columns=cols)


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
        rows.append({"experiment": exp, "jobs": len(names),
                     "done": int((all_["state"] == "done").sum()),
                     "jobs_charged": len(own),
                     "cpu_hours": round(mine["cpu_seconds"].sum() / 3600, 3),
                     "wall_hours": round(mine["wall_seconds"].sum() / 3600, 3),
                     "peak_rss_mb": all_["max_rss_mb"].max(),
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
    out = jobs_df.set_index("job")
    # not done here, or done by copying (restore_from: no ledger, no benchmark file here)
    keep = [j for j in out.index if j in old.index and old.loc[j, "state"] == "done"
            and (out.loc[j, "state"] != "done" or pd.isna(out.loc[j, "source"]))]
    out = out.astype(object)
    out.loc[keep, :] = old.loc[keep, out.columns].astype(object)
    return out.reset_index().astype({c: float for c in ("attempts", "wall_seconds", "cpu_seconds",
                                                        "max_rss_mb", "start", "end")})


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


def _copy(src: Path, dst: Path) -> bool:
    if not src.exists():
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".*"))  # no Snakemake stamps
    else:
        shutil.copy2(src, dst)
    return True


def _stamp(t: float | None) -> str | None:
    if t is None or (isinstance(t, float) and math.isnan(t)):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def publish(root, dest, name: str, cfg: aeconfig.Config, cores: int | None = None,
            repo=None, preset: str = "default") -> dict:
    """Copy what ``root``'s run has finished into ``dest``; returns the manifest."""
    root, dest = Path(root), Path(dest)
    repo = Path(repo) if repo is not None else Path(__file__).resolve().parents[3]
    jobs, per_exp = status.plan(cfg)
    locked = status.survey(root, jobs)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads((dest / MANIFEST).read_text())
    except (OSError, ValueError):
        old = {}

    jobs_df = carry_over(job_costs(root, jobs), dest / "jobs.csv",
                         old.get("machine", {}).get("cpu"))
    state = jobs_df.set_index("job")["state"]
    complete = {e: bool((state[names] == "done").all()) for e, names in per_exp.items()}
    for exp, done in complete.items():
        if done:
            for f in (paths.metrics(exp), paths.table(exp), paths.table(exp, "md"), paths.figures(exp)):
                _copy(root / f, dest / Path(f).relative_to(paths.RESULTS))
    previews = preview_keys(cfg)
    commit = _git(root, "rev-parse", "HEAD")
    data_first, data_checks = dict(old.get("data_first", {})), dict(old.get("data_checks", {}))
    for j in jobs.values():
        if j.state != "done":
            continue
        if j.model:
            out = dest / Path(j.output).relative_to(paths.RESULTS)
            for f in ("run.json", "metrics.json", "history.csv"):
                _copy(root / j.output / f, out / f)
            if j.model in previews and not write_preview(root / j.output, out / PREVIEW, previews[j.model]):
                _copy(root / j.output / PREVIEW, out / PREVIEW)  # a run restored from one
        elif j.kind == "evaluate":
            _copy(root / j.output, dest / Path(j.output).relative_to(paths.RESULTS))
        elif j.kind == "data":
            ds = j.where[1]
            here, there = root / paths.manifest(ds), dest / Path(paths.manifest(ds)).relative_to(paths.RESULTS)
            # the data the run's first fits were trained on, and whether this machine's, at
            # this commit, are byte for byte the same (a run resumed on another CPU or commit)
            first = data_first.get(ds) or ({"sha256": _sha(there), "commit": old.get("commit"),
                                            "cpu": old.get("machine", {}).get("cpu")}
                                           if _sha(there) else
                                           {"sha256": _sha(here), "commit": commit, "cpu": ledger.cpu_model()})
            data_first[ds] = first
            if (first["commit"], first["cpu"]) != (commit, ledger.cpu_model()):
                data_checks[ds] = {"commit": commit, "cpu": ledger.cpu_model(),
                                   "same": _sha(here) == first["sha256"]}
            _copy(here, there)

    jobs_df.assign(start=jobs_df["start"].map(_stamp), end=jobs_df["end"].map(_stamp)).to_csv(
        dest / "jobs.csv", index=False)
    costs = experiment_costs(jobs_df, per_exp)
    # a complete experiment keeps the CPUs it was computed on, though a model it shares with
    # an unfinished one (E2's pca30, E1's too) is fitted again on a later machine
    for e, was in old.get("experiments", {}).items():
        if was.get("complete") and complete.get(e):
            costs.loc[costs["experiment"] == e, "cpu"] = was.get("cpus") or old["machine"]["cpu"]
    costs.to_csv(dest / "costs.csv", index=False)

    finished = jobs["gather"].state == "done"
    if finished:
        for f in (paths.CLAIMS, paths.CLAIMS_MD, paths.SUMMARY, paths.LEARNING_CURVES):
            _copy(root / f, dest / Path(f).relative_to(paths.RESULTS))
        report = root / paths.RESULTS / "report.html"
        if report.exists() and report.stat().st_mtime >= (root / paths.CLAIMS).stat().st_mtime:
            _copy(report, dest / "report.html")
    # A run resumed on a new machine may go on at a later commit: every commit it ran at is
    # listed, and the training code is compared from the first of them.
    commits = old.get("commits", [])
    # When the run ran: Snakemake's sessions and the jobs' attempts here, and what earlier
    # publications recorded (a new machine has lost the old sessions' logs).
    spans = merge(sessions(root) + job_spans(root, jobs_df)
                  + [(_unstamp(a), _unstamp(b)) for a, b in old.get("sessions", [])])
    commits += [commit] if commit and commit not in commits else []
    dirty = _git(root, "status", "--porcelain", "--untracked-files=no", "--", *TRAINING_CODE)
    changed = (_git(repo, "diff", "--name-only", commits[0], "HEAD", "--", *TRAINING_CODE).split()
               if commits else [])
    n_done = int((jobs_df["state"] == "done").sum())
    # what earlier publications finished is not left to do, and times the estimate too
    status.adopt(jobs, jobs_df)
    est = status.estimate(jobs, cores or os.cpu_count() or 1)
    manifest = {
        "name": name,
        "preset": preset,
        "cores": cores,
        "commit": commits[0] if commits else "",
        "commits": commits,
        "training_code_uncommitted": bool(dirty),
        # checked in the checkout that publishes: code a finished fit depends on, changed since
        "training_code_changed_since": changed,
        # each dataset as first published (sha256, commit, CPU), and the last check of it by a
        # machine or commit that prepared it again (same: byte-identical data)
        "data_first": data_first,
        "data_checks": data_checks,
        "config_hash": config_hash(cfg.raw),
        "config": {k: v for k, v in cfg.raw.items() if not k.startswith("_")},
        "seeds": cfg.seeds,
        "full_data": _full_data(dest),
        # the machine that published; a run resumed on other machines lists their CPUs, and
        # each experiment those its jobs ran on (results are reproducible on one kind of CPU)
        "machine": machine(),
        "cpus": cpus(jobs_df.loc[jobs_df["state"] == "done", "cpu"]),
        "start": _stamp(jobs_df["start"].min()),
        "end": _stamp(jobs_df["end"].max()) if finished else None,
        # so far: the attempts of running and interrupted fits count too
        "cpu_hours": round(jobs_df["cpu_seconds"].sum() / 3600, 3),
        "job_wall_hours": round(jobs_df.loc[jobs_df["state"] == "done", "wall_seconds"].sum() / 3600, 3),
        "busy_hours": busy_hours(spans),
        "sessions": [[_stamp(a), _stamp(b)] for a, b in spans],
        "jobs_done": n_done,
        "jobs_total": len(jobs_df),
        "complete": finished and n_done == len(jobs_df),
        "experiments": {e: {"complete": c, "jobs_done": int(costs.set_index("experiment").loc[e, "done"]),
                            "jobs": len(per_exp[e]), "cpus": _none(costs.set_index("experiment").loc[e, "cpu"])}
                        for e, c in complete.items()},
        "estimated_hours_left": None if finished else round(est["seconds"] / 3600, 2),
        "jobs_not_timed": 0 if finished else est["unknown"] + est["bases"]["median"],
        "snakemake_running": locked,
        "published_at": _stamp(time.time()),
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    (dest / "progress.md").write_text(progress(manifest, costs))
    big = [str(p.relative_to(dest)) for p in dest.rglob("*")
           if p.is_file() and p.stat().st_size > SMALL_BYTES and p.name != "report.html"]
    if big:
        raise SystemExit(f"publish: {', '.join(big)} over {SMALL_BYTES // 10**6} MB: only small "
                         "files belong under results/published/")
    return manifest


def _sha(manifest: Path) -> str | None:
    try:
        return json.loads(manifest.read_text()).get("sha256")
    except (OSError, ValueError):
        return None


def _none(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _unstamp(t: str) -> float:
    return datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def _full_data(dest: Path) -> dict:
    out = {}
    for f in sorted((dest / "data").glob("*.json")):
        out[f.stem] = json.loads(f.read_text()).get("full_data")
    return out


def progress(m: dict, costs: pd.DataFrame) -> str:
    """The progress record: jobs done, CPU-hours so far, time left, per experiment."""
    state = "complete" if m["complete"] else (
        f"in progress, about {m['estimated_hours_left']} h left on "
        f"{m['machine']['cores']} core(s), estimated from the finished jobs' times; "
        f"{m['jobs_not_timed']} job(s) have no finished job of their model or kind to go by")
    t = costs.assign(done=[f"{d}/{n}" for d, n in zip(costs["done"], costs["jobs"])],
                     complete=[m["experiments"][e]["complete"] for e in costs["experiment"]])
    return (f"# Run {m['name']}: {state}\n\n"
            f"- commit {m['commit'][:12]}, config hash {m['config_hash']}, seeds {m['seeds']}\n"
            f"- machine: {m['machine']['host']}, {m['machine']['cpu']}, {m['machine']['cores']} "
            f"cores, {m['machine']['memory_gib']} GiB, torch {m['machine']['torch']}"
            + (f"; the finished jobs ran on: {m['cpus']}" if m.get("cpus") else "") + "\n"
            f"- started {m['start']}" + (f", ended {m['end']}" if m["end"] else "") + "\n"
            f"- jobs done: {m['jobs_done']}/{m['jobs_total']}; CPU-hours so far: {m['cpu_hours']}; "
            f"job wall hours: {m['job_wall_hours']}; busy hours (Snakemake's sessions and the "
            f"jobs, side by side counted once, pauses not): {m['busy_hours']}\n"
            f"- published at {m['published_at']}\n\n"
            + t[["experiment", "done", "complete", "cpu_hours", "wall_hours", "peak_rss_mb", "cpu"]]
            .to_markdown(index=False) + "\n")


def restorable(directory, cfg: aeconfig.Config) -> list[str]:
    """The enabled experiments a published run holds complete; it must have been made with
    this config (up to :data:`RUNTIME_KEYS`), or its numbers would not be this run's."""
    d = Path(directory)
    try:
        m = json.loads((d / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise aeconfig.ConfigError(f"restore_from: {d} holds no readable {MANIFEST} ({e}); give a "
                                   "directory written by python -m aebench.publish",
                                   ("restore_from",)) from None
    if m.get("config_hash") != config_hash(cfg.raw):
        theirs = m.get("config", {})
        diff = sorted(k for k in set(theirs) | set(cfg.raw) if k not in RUNTIME_KEYS
                      and not k.startswith("_") and theirs.get(k) != cfg.raw.get(k))
        raise aeconfig.ConfigError(
            f"restore_from: {d} was made with another config (it differs in: {', '.join(diff)}); "
            "pass the config flags that run was made with, or leave restore_from out",
            ("restore_from",))
    return [e for e in cfg.enabled if m["experiments"].get(e, {}).get("complete")
            and (d / Path(paths.metrics(e)).relative_to(paths.RESULTS)).exists()]


FIT_FILES = ("run.json", "metrics.json")  # a published fit has these (history.csv if it trains)


def preview_keys(cfg: aeconfig.Config) -> dict[str, set[str]]:
    """model -> the arrays of its runs' codes.npz that an experiment reading only small files
    (``reads``) needs: what a publication keeps of them (preview.npz)."""
    from .experiments import EXPERIMENTS

    out: dict[str, set[str]] = {}
    for e in cfg.enabled:
        for m in cfg.experiment_models(e) if EXPERIMENTS[e].reads else ():
            out.setdefault(m, set()).update(EXPERIMENTS[e].reads)
    return out


def write_preview(run: Path, dest: Path, keys) -> bool:
    """Keep ``keys`` of a run's codes.npz in ``dest`` (compressed); False if it has none."""
    import numpy as np

    if not (run / "codes.npz").exists():
        return False
    with np.load(run / "codes.npz") as z:
        arrays = {k: z[k] for k in sorted(keys) if k in z.files}
    if not arrays:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(dest, **arrays)
    return True


@dataclass
class RestorePlan:
    """What a run resumed with ``restore_from`` copies back and what it still computes."""
    fits: list[tuple[str, int]]  # (model, seed): published fits copied back (rule restore_fit)
    evaluations: list[tuple[str, str, int]]  # (experiment, model, seed): rule restore_evaluation
    needed: set[tuple[str, int]]  # every fit the run still reads: copied back or trained here


def restore_plan(directory, cfg: aeconfig.Config, restored: list[str]) -> RestorePlan:
    """Beside the complete experiments (:func:`restorable`), a resumed run copies back the
    published evaluations of the others (rule evaluate), and the published fits whose model
    file nothing still to run reads: a step reads its runs' models unless its experiment
    declares ``reads`` (E1, E6) or evaluates each run on its own (then only the evaluations
    still to compute read theirs), and a fit still to train reads the runs it is built from
    (a classifier its stack). Call it after :func:`restorable` has checked the config."""
    from .experiments import EVALUATION_FILES, EXPERIMENTS

    d = Path(directory)

    def pub(path: str) -> Path:
        return d / Path(path).relative_to(paths.RESULTS)

    def deps(fit):
        return [(m, fit[1] if cfg.models[m].seeded else 0) for m in cfg.models[fit[0]].needs]

    live = [e for e in cfg.enabled if e not in restored]
    evals, models_read, small_read = set(), set(), set()
    for e in live:
        exp = EXPERIMENTS[e]
        for m in cfg.experiment_models(e):
            for s in cfg.model_seeds(m):
                if exp.evaluates and all((pub(paths.evaluation(e, m, s)) / f).exists() for f in EVALUATION_FILES):
                    evals.add((e, m, s))
                elif exp.evaluates or exp.reads is None:
                    models_read.add((m, s))
                else:
                    small_read.add((m, s))
    needed, todo = set(), [*models_read, *small_read]
    while todo:  # with the fits they are built from
        fit = todo.pop()
        if fit not in needed:
            needed.add(fit)
            todo += deps(fit)
    previews = {m for e in live if EXPERIMENTS[e].reads for m in cfg.experiment_models(e)}

    def published_whole(fit):
        run = pub(paths.run(*fit))
        return all((run / f).exists() for f in FIT_FILES + ((PREVIEW,) if fit[0] in previews else ()))

    out = {fit for fit in needed - models_read if published_whole(fit)}
    while True:  # a fit trained again needs the model files of the fits it is built from
        drop = {dep for fit in needed - out for dep in deps(fit)} & out
        if not drop:
            return RestorePlan(sorted(out), sorted(evals), needed)
        out -= drop


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m aebench.publish",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("name", help="the run's name: results/published/NAME")
    ap.add_argument("--directory", "-d", default=".", help="the run's working directory")
    ap.add_argument("--to", help="where to publish (default: <directory>/results/published/NAME)")
    ap.add_argument("--configfile", "--configfiles", nargs="+", action="extend", default=[],
                    help="the config files passed to snakemake, in the same order")
    ap.add_argument("--config", "-C", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                    help="the --config overrides passed to snakemake")
    ap.add_argument("--cores", "-c", type=int, help="cores the run uses, for the estimate")
    args = ap.parse_args(argv)
    try:
        cfg = status.load_config(args.directory, args.configfile, args.config)
    except (aeconfig.ConfigError, OSError, ValueError) as e:
        print(f"aebench.publish: {e}", file=sys.stderr)
        return 2
    dest = Path(args.to) if args.to else Path(args.directory) / paths.RESULTS / "published" / args.name
    # the preset is the config file from workflow/presets, if one was given
    preset = next((Path(f).stem for f in args.configfile if Path(f).parent.name == "presets"),
                  "default")
    m = publish(args.directory, dest, args.name, cfg, cores=args.cores, preset=preset)
    print((dest / "progress.md").read_text())
    print(f"published to {dest}")
    return 0 if m["jobs_total"] else 1


if __name__ == "__main__":
    sys.exit(main())
