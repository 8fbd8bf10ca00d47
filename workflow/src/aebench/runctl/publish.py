"""Publish a run's small files, experiment by experiment, while it goes on.

    python -m aebench.publish NAME [--directory RUN] [--to DIR] [--configfile ...] [--config ...] [--force]

Pass the config flags given to snakemake (as for ``python -m aebench.status``). It refuses,
before copying anything: a NAME that is no plain folder name, a ``--to`` outside a
``results/published`` folder or onto the run, a finished fit whose spec is not the one the
config gives, and a folder holding another run's or config's publication (``--force``
replaces that one wholly); a symbolic link among the files to copy stops it. Each call
copies, under ``results/published/NAME/`` (or ``--to``):

- every finished experiment (all its jobs done): ``<exp>/metrics.csv``, ``table.{csv,md}``,
  ``figures/``; unfinished ones wait for a later call;
- every finished fit's ``run.json``, ``metrics.json``, ``history.csv`` and ``cost.json`` (its
  FLOP and fraction of the machine's peak, :mod:`aebench.flops`; no models, no codes;
  ``preview.npz``: the few test reconstructions an experiment that reads only small files
  shows) and each dataset's manifest: what ``restore_from`` needs to rebuild the claims and
  report;
- ``jobs.csv``: every job's state, attempts, wall and CPU seconds and peak RSS (a fit's
  attempts summed from :mod:`.ledger`; other jobs from their benchmark file) and a fit's
  FLOP, GFLOP/s and fraction of peak (from its cost.json); ``costs.csv``: the same per
  experiment;
- once gather has run: ``claims.{csv,md}``, ``summary.csv``, the learning curves and, if built
  (``snakemake --report results/report.html``), the HTML report;
- ``manifest.json`` and ``progress.md`` (each written whole: a temporary file renamed): the
  sha256 of every claims file and config file given (pre-registration), commit, preset,
  config and its hash, machine, seeds,
  start and end, CPU-hours, busy hours (how long Snakemake and the jobs ran, the pauses
  between sessions not counted: what a preset takes), jobs done out of total, the estimated
  time left.

A new machine that lost ``results/`` then re-runs only what is missing: set
``restore_from: results/published/NAME`` and the finished experiments are copied back
instead of being trained again (the config must be the one the run was made with), and so
are the finished evaluations and fits of the others that nothing left to run needs again
(:func:`.restore.restore_plan`: E6's classifiers, E1's fits, the evaluations of E5, E7, E8, E9), so that a run longer
than one machine's life keeps them too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from .. import config as aeconfig
from .. import paths
from ..claims import CLAIMS_DIR
from ..flops import COST_FILE
from ..experiments import PREVIEW
from ..settings import NAME_PATTERN
from . import ledger, provenance
from .costs import busy_hours, carry_over, cpus, experiment_costs, fraction_of_peak, job_costs
from .costs import job_spans, merge, overlapping
from .costs import sessions, stamp, unstamp
from .jobs import dag, load_config
from .restore import MANIFEST, preview_keys, links_at, write_preview
from .survey import adopt, estimate, foreign, survey

SMALL_BYTES = 2_000_000  # no single published file is larger (the report may be, and is kept)


class PublishError(ValueError):
    """What publish refuses to do: the message names the cause and the fix."""


def _copy(src: Path, dst: Path) -> bool:
    if not src.exists():
        return False
    # a symbolic link (a figure pointing at a private file) would leak what it points to
    links = links_at(src)
    if links:
        raise PublishError(f"{links[0]} is a symbolic link; a publication holds plain "
                           "files only: replace the link with the file it points to")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".*"))  # no Snakemake stamps
    else:
        shutil.copy2(src, dst)
    return True


def check_name(name: str) -> None:
    if not re.fullmatch(NAME_PATTERN, name):
        raise PublishError(f"the name {name!r} is refused: it names a directory under "
                           "results/published, so use letters, digits, '_', '.' and '-', starting "
                           "with a letter or digit, without '..'")


def check_destination(root, dest) -> None:
    """``dest`` (``--to``) must be a folder of its own under a ``results/published``, and
    neither the run nor anything it holds outside ``results/published``."""
    root, dest = Path(root).resolve(), Path(dest).resolve()
    if not any(p.name == "published" and p.parent.name == paths.RESULTS for p in dest.parents):
        raise PublishError(f"--to {dest} is not under a {paths.RESULTS}/published folder; "
                           f"give {paths.RESULTS}/published/NAME (or leave --to out)")
    _check_not_the_run(root, dest)


def _check_not_the_run(root: Path, dest: Path) -> None:
    root, dest = root.resolve(), dest.resolve()
    published = root / paths.RESULTS / "published"
    if dest == root or dest in root.parents or (
            dest.is_relative_to(root / paths.RESULTS) and not dest.is_relative_to(published)) \
            or dest == published:
        raise PublishError(f"{dest} is the run or part of what it publishes; publish to "
                           f"{paths.RESULTS}/published/NAME")


def read_old(dest: Path, name: str, cfg: aeconfig.Config, force: bool) -> dict:
    """The publication already at ``dest`` (updated in place when it is this run's: same name
    and config), or {}: one of another name or config, or a folder that is no publication, is
    refused (``force``: removed, and the publication starts afresh: no job of the old one is
    kept)."""
    if not dest.exists() or not any(dest.iterdir()):
        return {}
    f = dest / MANIFEST
    try:
        old = json.loads(f.read_text())
        if not isinstance(old, dict):
            raise ValueError("not a JSON object")
        why = (f"it was published with another config (hash {old.get('config_hash')}, this one "
               f"{provenance.config_hash(cfg.raw)})"
               if old.get("config_hash") != provenance.config_hash(cfg.raw) else
               # a copy of another run's publication: its finished jobs are not this run's
               f"it is the publication of another run ({old.get('name')!r})"
               if old.get("name") != name else None)
    except (OSError, ValueError) as e:
        why = f"its {f} is unreadable ({type(e).__name__}: {e})"
    if why is None:
        return old
    if not force:
        raise PublishError(f"{dest} already holds something else: {why}; pick another "
                           "name, or pass --force to replace that publication wholly")
    shutil.rmtree(dest)
    return {}


def publish(root, dest, name: str, cfg: aeconfig.Config, cores: int | None = None,
            repo=None, preset: str = "default", config_files=(), force: bool = False) -> dict:
    """Copy what ``root``'s run has finished into ``dest``; returns the manifest.
    ``config_files``: the config files the run was given (their sha256 go in the manifest).
    Refused (:class:`PublishError`): a finished fit made with another spec than ``cfg``
    gives, a ``dest`` holding another publication (unless ``force``) or holding the run."""
    root, dest = Path(root), Path(dest)
    repo = Path(repo) if repo is not None else Path(__file__).resolve().parents[4]
    _check_not_the_run(root, dest)
    jobs, per_exp = dag(root, cfg, cores)
    locked = survey(root, jobs)
    if (odd := foreign(root, jobs, cfg)):
        raise PublishError(f"{len(odd)} finished fit(s) hold another spec than this config "
                           f"gives (e.g. {odd[0]}): pass the --configfile/--config flags given to "
                           "snakemake")
    old = read_old(dest, name, cfg, force)
    dest.mkdir(parents=True, exist_ok=True)

    jobs_df = carry_over(job_costs(root, jobs), dest / "jobs.csv",
                         old.get("machine", {}).get("cpu"))
    state = jobs_df.set_index("job")["state"]
    complete = {e: bool((state[names] == "done").all()) for e, names in per_exp.items()}
    for exp, done in complete.items():
        if done:
            for f in (paths.metrics(exp), paths.table(exp), paths.table(exp, "md"), paths.figures(exp)):
                _copy(root / f, dest / Path(f).relative_to(paths.RESULTS))
    previews = preview_keys(cfg)
    commit = provenance.git(root, "rev-parse", "HEAD")
    data_first, data_checks = dict(old.get("data_first", {})), dict(old.get("data_checks", {}))
    for j in jobs.values():
        if j.state != "done":
            continue
        if j.model:
            out = dest / Path(j.output).relative_to(paths.RESULTS)
            for f in ("run.json", "metrics.json", "history.csv", COST_FILE):
                _copy(root / j.output / f, out / f)
            if j.model in previews and not write_preview(root / j.output, out / PREVIEW, previews[j.model]):
                _copy(root / j.output / PREVIEW, out / PREVIEW)  # a run restored from one
        elif j.kind == "evaluate":
            _copy(root / j.output, dest / Path(j.output).relative_to(paths.RESULTS))
        elif j.kind == "data":
            # one prepared file per (dataset, seed): keyed "<dataset>/seed<k>"
            ds = f'{j.wildcards["dataset"]}/seed{j.wildcards["seed"]}'
            mf = paths.manifest(j.wildcards["dataset"], j.wildcards["seed"])
            here, there = root / mf, dest / Path(mf).relative_to(paths.RESULTS)
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

    _write(dest / "jobs.csv", jobs_df.assign(start=jobs_df["start"].map(stamp),
                                             end=jobs_df["end"].map(stamp)).to_csv(index=False))
    costs = experiment_costs(jobs_df, per_exp)
    # a complete experiment keeps the CPUs it was computed on, though a model it shares with
    # an unfinished one (E2's pca30, E1's too) is fitted again on a later machine
    for e, was in old.get("experiments", {}).items():
        if was.get("complete") and complete.get(e):
            costs.loc[costs["experiment"] == e, "cpu"] = was.get("cpus") or old["machine"]["cpu"]
    _write(dest / "costs.csv", costs.to_csv(index=False))

    # the claims the run's checkout judges with (this one's, when the run has no checkout)
    claims_dir = root / "workflow/claims" if (root / "workflow/claims").is_dir() else CLAIMS_DIR
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
    # Only the sessions during which this run's jobs ran: the same directory also holds the
    # logs of dry runs, report builds and other runs (a judge_split: val run, another preset).
    jobs_at = job_spans(root, jobs_df)
    spans = merge(overlapping(sessions(root), jobs_at) + jobs_at
                  + [(unstamp(a), unstamp(b)) for a, b in old.get("sessions", [])])
    commits += [commit] if commit and commit not in commits else []
    dirty, changed = provenance.training_code_state(root, repo, commits[0] if commits else None)
    n_done = int((jobs_df["state"] == "done").sum())
    # what earlier publications finished is not left to do, and times the estimate too
    adopt(jobs, jobs_df)
    est = estimate(jobs, cores or os.cpu_count() or 1)
    manifest = {
        "name": name,
        "preset": preset,
        "cores": cores,
        "commit": commits[0] if commits else "",
        "commits": commits,
        "training_code_uncommitted": dirty,
        # checked in the checkout that publishes: code a finished fit depends on, changed since
        "training_code_changed_since": changed,
        # each dataset as first published (sha256, commit, CPU), and the last check of it by a
        # machine or commit that prepared it again (same: byte-identical data)
        "data_first": data_first,
        "data_checks": data_checks,
        "config_hash": provenance.config_hash(cfg.raw),
        # pre-registration: the claims judged and the config files given, as they were
        "sha256": {"claims": _hashes(claims_dir.parents[1], sorted(claims_dir.glob("*.yaml"))),
                   "config": _hashes(root, [root / "config.yaml", *(
                       root / f if (root / f).exists() else Path(f) for f in config_files)])},
        "config": {k: v for k, v in cfg.raw.items() if not k.startswith("_")},
        "seeds": cfg.seeds,
        "full_data": _full_data(dest),
        # the machine that published; a run resumed on other machines lists their CPUs, and
        # each experiment those its jobs ran on (results are reproducible on one kind of CPU)
        "machine": provenance.machine(),
        "cpus": cpus(jobs_df.loc[jobs_df["state"] == "done", "cpu"]),
        "start": stamp(jobs_df["start"].min()),
        "end": stamp(jobs_df["end"].max()) if finished else None,
        # so far: the attempts of running and interrupted fits count too
        "cpu_hours": round(jobs_df["cpu_seconds"].sum() / 3600, 3),
        "job_wall_hours": round(jobs_df.loc[jobs_df["state"] == "done", "wall_seconds"].sum() / 3600, 3),
        "busy_hours": busy_hours(spans),
        # the fits' weight-matrix work (those that record it) and its time at the sgemm peak
        # over their measured loop time
        "flop": float(jobs_df["flop"].sum()),
        "fraction_of_peak": _finite(round(fraction_of_peak(jobs_df), 4)),
        "sessions": [[stamp(a), stamp(b)] for a, b in spans],
        "jobs_done": n_done,
        "jobs_total": len(jobs_df),
        "complete": finished and n_done == len(jobs_df),
        "experiments": {e: {"complete": c, "jobs_done": int(costs.set_index("experiment").loc[e, "done"]),
                            "jobs": len(per_exp[e]), "cpus": _none(costs.set_index("experiment").loc[e, "cpu"])}
                        for e, c in complete.items()},
        "estimated_hours_left": None if finished else round(est["seconds"] / 3600, 2),
        "jobs_not_timed": 0 if finished else est["unknown"] + est["bases"]["median"],
        "snakemake_running": locked,
        "published_at": stamp(time.time()),
    }
    _write(dest / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    _write(dest / "progress.md", progress(manifest, costs))
    big = [str(p.relative_to(dest)) for p in dest.rglob("*")
           if p.is_file() and p.stat().st_size > SMALL_BYTES and p.name != "report.html"]
    if big:
        raise SystemExit(f"publish: {', '.join(big)} over {SMALL_BYTES // 10**6} MB: only small "
                         "files belong under results/published/")
    return manifest


def _write(path: Path, text: str) -> None:
    """Write whole or not at all: a temporary file renamed over ``path`` (a publish killed
    mid-write leaves the previous file)."""
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text)
    os.replace(tmp, path)


def _hashes(root: Path, files) -> dict[str, str]:
    """file (relative to ``root`` where under it, else absolute) -> its sha256; a file that is not there is
    an error, not a gap in the record."""
    out = {}
    for f in files:
        try:
            with open(f, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError as e:
            raise PublishError(f"cannot read {f} to record its sha256 ({e})") from None
        p = Path(f).resolve()
        out[str(p.relative_to(root.resolve()) if p.is_relative_to(root.resolve()) else p)] = digest
    return out


def _sha(manifest: Path) -> str | None:
    try:
        return json.loads(manifest.read_text()).get("sha256")
    except (OSError, ValueError):
        return None


def _none(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _finite(x: float) -> float | None:
    """JSON has no NaN: a run with no recorded work says null."""
    return None if math.isnan(x) else x


def _full_data(dest: Path) -> dict:
    out = {}
    # data/<dataset>/seed<k>.json (each seed its own split); data/<dataset>.json before that
    for f in sorted((dest / "data").glob("*.json")) + sorted((dest / "data").glob("*/seed*.json")):
        name = f.stem if f.parent.name == "data" else f.parent.name
        out[name] = json.loads(f.read_text()).get("full_data")
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
    ap.add_argument("--force", action="store_true",
                    help="replace wholly a publication of NAME made with another config")
    args = ap.parse_args(argv)
    dest = Path(args.to) if args.to else Path(args.directory) / paths.RESULTS / "published" / args.name
    # the preset is the config file from workflow/presets, if one was given
    preset = next((Path(f).stem for f in args.configfile if Path(f).parent.name == "presets"),
                  "default")
    try:  # PublishError is a ValueError
        check_name(args.name)
        check_destination(args.directory, dest)
        cfg = load_config(args.directory, args.configfile, args.config)
        m = publish(args.directory, dest, args.name, cfg, cores=args.cores, preset=preset,
                    config_files=args.configfile, force=args.force)
    except (aeconfig.ConfigError, OSError, ValueError) as e:
        print(f"aebench.publish: {e}", file=sys.stderr)
        return 2
    print((dest / "progress.md").read_text())
    print(f"published to {dest}")
    return 0 if m["jobs_total"] else 1


if __name__ == "__main__":
    sys.exit(main())
