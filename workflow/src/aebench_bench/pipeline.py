"""The pipeline itself: a preset end to end, its no-op re-run, and what a config change re-runs.

Runs Snakemake in a private copy of the workflow (what a user checks out, no results), so the
numbers are a fresh user's. Per-job wall time and peak memory come from the ``benchmark:``
files every rule writes (results/benchmarks/**.tsv: ``s`` and ``max_rss`` in MB).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from . import Row

COPY = ("Snakefile", "config.yaml", "workflow", "envs")


def copy_workflow(repo: Path, work: Path) -> None:
    """The workflow's files as they are in ``repo``'s working tree. In a git checkout they go
    over a clone of its HEAD, so the run knows its commit (``aebench.runctl.publish`` records it, and
    an uncommitted change to the training code shows as such)."""
    if work.exists():
        shutil.rmtree(work)
    if (repo / ".git").exists():
        subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(repo), str(work)], check=True)
        subprocess.run(["git", "-C", str(work), "reset", "--quiet"], check=True)  # index = HEAD
    work.mkdir(parents=True, exist_ok=True)
    for item in COPY:
        src = repo / item
        if src.is_dir():
            shutil.copytree(src, work / item, dirs_exist_ok=True)
        else:
            shutil.copy(src, work / item)


def snakemake(work: Path, args: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=work, capture_output=True,
                       text=True)
    seconds = time.perf_counter() - t0
    out = r.stdout + r.stderr
    if r.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed in {work}:\n{out[-4000:]}")
    return seconds, out


def job_counts(dry_run_output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: rule -> number of jobs."""
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal", dry_run_output, re.S)
    if not m:
        return {}
    return {rule: int(n) for rule, n in re.findall(r"^(\S+)\s+(\d+)$", m.group(1), re.M)}


def job_table(work: Path) -> pd.DataFrame:
    """One row per job: its benchmark file, wall seconds and peak RSS (MB)."""
    rows = []
    root = work / "results" / "benchmarks"
    for f in sorted(root.rglob("*.tsv")):
        t = pd.read_csv(f, sep="\t")
        rows.append({"job": str(f.relative_to(root).with_suffix("")), "seconds": float(t["s"].iloc[0]),
                     "max_rss_mb": float(t["max_rss"].iloc[0])})
    return pd.DataFrame(rows)


def run(repo: Path, work: Path, mirror: Path, *, preset: str = "quick", cores: int = 2,
        changed_model: str = "ae2", log=print) -> tuple[list[Row], pd.DataFrame]:
    copy_workflow(repo, work)
    (work / "bench.yaml").write_text(yaml.safe_dump({"data_mirror": str(mirror), "allow_download": False}))
    base = ["--cores", str(cores), "--configfile", f"workflow/presets/{preset}.yaml", "bench.yaml"]
    part = f"pipeline ({preset}, {cores} cores)"

    log(f"pipeline: preparing data for the {preset} preset in {work} ...")
    prep, _ = snakemake(work, ["--until", "prepare_data", *base])
    log(f"  {prep:.0f} s; now the whole preset from prepared data ...")
    total, _ = snakemake(work, base)
    log(f"  {total:.0f} s")
    noop, out = snakemake(work, base)
    if "Nothing to be done" not in out:
        raise RuntimeError(f"the re-run was not a no-op:\n{out[-3000:]}")
    log(f"pipeline: no-op re-run {noop:.2f} s")

    # One model's training setting changes: only that model's jobs and their descendants
    # (the experiments that read it, the gather step, `all`) may re-run.
    change = {"models": {changed_model: {"train": {"lr": 2.0e-3}}}}
    (work / "change.yaml").write_text(yaml.safe_dump(change))
    _, out = snakemake(work, ["-n", *base, "change.yaml"])
    counts = job_counts(out)
    from snakemake.utils import update_config

    from aebench import config as aeconfig

    cfg = yaml.safe_load((work / "config.yaml").read_text())
    update_config(cfg, yaml.safe_load((work / "workflow" / "presets" / f"{preset}.yaml").read_text()))
    parsed = aeconfig.load(cfg)
    readers = [e for e in parsed.enabled if changed_model in parsed.experiment_models(e)]
    expected_train = len(parsed.model_seeds(changed_model))
    ok = counts == {"fit": expected_train, "experiment": len(readers), "gather": 1, "all": 1}
    log(f"pipeline: after changing {changed_model}'s lr the dry run plans {counts}")

    jobs = job_table(work)
    rows = [
        Row(part, "data preparation (not counted below)", prep, "s"),
        Row(part, "whole preset from prepared data, wall", total, "s", "<= 1200 s (20 min)", total <= 1200),
        Row(part, "sum of job wall times", jobs.seconds.sum(), "s"),
        Row(part, "no-op re-run (everything up to date)", noop, "s", "< 3 s", noop < 3),
        Row(part, f"jobs re-run after changing {changed_model}'s lr: "
            + ", ".join(f"{r} {n}" for r, n in counts.items()), sum(counts.values()), "jobs",
            f"only {changed_model} x {expected_train} seeds + its experiments + gather", ok),
        Row(part, f"peak RSS of the largest job ({jobs.loc[jobs.max_rss_mb.idxmax(), 'job']})",
            jobs.max_rss_mb.max(), "MB", "< 4096 MB", jobs.max_rss_mb.max() < 4096),
    ]
    return rows, jobs
