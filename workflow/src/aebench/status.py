"""Where a run stands, read from its files alone: ``python -m aebench.status``.

Pass the config flags given to snakemake (``--configfile workflow/presets/quick.yaml``). From
the config it lists every job the run has (the paths of :mod:`aebench.paths`), then reads
what the jobs leave behind: an output means done (unless Snakemake's ``.snakemake/incomplete``
marks it as cut short), a log without one a job that is running, was interrupted or failed
(a traceback), the last epoch line of a log where training is, and the benchmark files of
finished jobs how long the rest may take. The run need not cooperate, nor even still exist.
Running or interrupted: Snakemake's lock says whether it runs here at all (a run started with
``--nolock`` looks stopped); a hard kill leaves the lock, so a log that stopped growing is read
as interrupted.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import config as aeconfig
from . import paths
from .kinds import KINDS

STAMP = re.compile(r"(\d\d):(\d\d):(\d\d) ")
# train.fit: "[ae30 seed 0] epoch    3/300  train 0.10234  val 0.10411  *  5.2s";
# rbm: "[rbm layer 2] epoch    4/10  train recon 0.01234  val recon 0.01300  3.1s"
EPOCH = re.compile(r"\[(?P<phase>[^\]]+)\] epoch\s+(?P<epoch>\d+)/(?P<max>\d+)\s+train (?:[a-z]+ )?"
                   r"(?P<train>\S+)\s+val (?:[a-z]+ )?(?P<val>\S+).*\s(?P<secs>[\d.]+)s\s*$")
LAYER = re.compile(r"layer (\d+)/(\d+): ")  # pretrain: "layer 2/3: 100 -> 100, on the codes ..."
STALE_MINUTES = 5.0


@dataclass
class Job:
    name: str  # "data digits", "fit ae30 seed0", "e1", "gather"
    kind: str  # what estimates it when its model has no finished seed: the model's kind or the rule
    model: str | None
    output: str  # the rule's output, as Snakemake records it (a fit's is its run directory)
    where: tuple  # its log and benchmark: paths.log(*where), paths.benchmark(*where)
    threads: int
    state: str = "to do"  # done | running | interrupted | failed | to do
    seconds: float | None = None  # done: the benchmark's wall time
    progress: dict | None = None  # the last epoch line
    elapsed: float | None = None
    age: float | None = None  # seconds since the log was last written
    left: float | None = None  # estimated seconds still to run
    basis: str | None = None  # model | kind | median
    marked: bool = False  # its output exists and Snakemake marks it incomplete

    # the file a job writes last (Snakemake creates a directory output before the job runs)
    done_file = property(lambda self: f"{self.output}/run.json" if self.model else
                         f"{self.output}/values.json" if self.kind == "evaluate" else self.output)
    log = property(lambda self: paths.log(*self.where))
    bench = property(lambda self: paths.benchmark(*self.where))


def load_config(directory=".", configfiles=(), overrides=()) -> aeconfig.Config:
    """The config snakemake would build in ``directory``: its config.yaml, then each
    ``--configfile`` (found there or here), then ``--config key=value``, merged as Snakemake does."""
    from snakemake.utils import update_config

    config: dict = {}
    here = Path(directory)
    files = [here / "config.yaml"] if (here / "config.yaml").exists() else []
    files += [here / f if (here / f).exists() else Path(f) for f in configfiles]
    for f in files:
        update_config(config, yaml.safe_load(f.read_text()) or {})
    if overrides:
        from snakemake.cli import parse_config

        update_config(config, aeconfig.from_command_line(parse_config(list(overrides))))
    return aeconfig.load(config)


def plan(cfg: aeconfig.Config) -> tuple[dict[str, Job], dict[str, list[str]]]:
    """Every job of the run by name, and each enabled experiment's jobs (the data, the fits of
    its models' seeds and of the runs they are built from, and its own); then ``gather``."""
    threads, jobs, per_exp = cfg.raw["threads"], {}, {}

    def add(into: dict, *job) -> None:
        into[jobs.setdefault(job[0], Job(*job)).name] = None

    def fit(model: str, seed: int, into: dict) -> None:
        spec, data = cfg.models[model], cfg.models[model].dataset
        add(into, f"data {data}", "data", None, paths.data(data), ("data", data), 1)
        for dep in spec.needs:
            fit(dep, seed if cfg.models[dep].seeded else 0, into)
        add(into, f"fit {model} seed{seed}", spec.kind, model, paths.run(model, seed), ("runs", model,
            f"seed{seed}"), threads["train" if KINDS[spec.kind].torch_based else "baseline"])

    for exp in cfg.enabled:
        into: dict = {}
        t = cfg.experiment(exp).threads
        t = threads["baseline"] if t == "baseline" else t
        for model in cfg.experiment_models(exp):
            for seed in cfg.model_seeds(model):
                fit(model, seed, into)
                if cfg.experiment(exp).evaluates:  # rule evaluate
                    add(into, f"eval {exp} {model} seed{seed}", "evaluate", None,
                        paths.evaluation(exp, model, seed), ("evals", exp, model, f"seed{seed}"), t)
        add(into, exp, "experiment", None, paths.metrics(exp), (exp,), t)
        per_exp[exp] = list(into)
    add({}, "gather", "gather", None, paths.CLAIMS, ("gather",), 1)
    return jobs, per_exp


def incomplete_outputs(root: Path) -> dict[str, float]:
    """Outputs Snakemake marked as started and not finished, with the time each job started
    (``.snakemake/incomplete``: a file per output named by its path in urlsafe base64, long
    names split into '@'-prefixed parts)."""
    base = Path(root) / ".snakemake" / "incomplete"
    out = {}
    for f in base.rglob("*") if base.is_dir() else []:
        if f.is_file() and f.name != "migration_underway":
            b64 = "".join(p.lstrip("@") for p in f.relative_to(base).parts)
            try:
                out[base64.urlsafe_b64decode(b64).decode()] = f.stat().st_mtime
            except ValueError:
                pass
    return out


def read_bench(path: Path) -> dict:
    """A Snakemake benchmark file's last row: wall (s), CPU seconds and peak RSS (MB), and its
    mtime, which is when the job ended; {} for a missing or unreadable file."""
    try:
        header, *rows = [r.split("\t") for r in path.read_text().splitlines() if r.strip()]
        row = dict(zip(header, rows[-1]))
        out = {"wall_seconds": float(row["s"]), "end": path.stat().st_mtime}
    except (OSError, ValueError, IndexError, KeyError):
        return {}
    for key, col in (("cpu_seconds", "cpu_time"), ("max_rss_mb", "max_rss")):
        try:  # Snakemake writes "-" where it could not measure
            out[key] = float(row[col])
        except (KeyError, ValueError):
            out[key] = float("nan")
    return out


def read_log(path: Path) -> dict:
    """A job log: the seconds its stamped lines span (midnight wraps counted), its last epoch
    line (with the stack layer's total, if any), whether it ends in a traceback (failed) or
    in a checkpoint saved on SIGTERM (stopped)."""
    span, prev, layers, progress, failed, stopped = 0, None, None, None, False, False
    for line in path.read_text(errors="replace").splitlines():
        if (m := STAMP.match(line)):
            t = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])
            span, prev = span + ((t - prev) % 86400 if prev is not None else 0), t
            if (lm := LAYER.match(line, m.end())):
                layers = lm[2]
            if (em := EPOCH.search(line, m.end())):
                progress = {"phase": em["phase"], "epoch": int(em["epoch"]), "max": int(em["max"]),
                            "train": em["train"], "val": em["val"], "secs": float(em["secs"])}
                if layers and re.search(r"layer \d+$", em["phase"]):
                    progress["phase"] += f"/{layers}"
        if line.startswith("Traceback (most recent call last)"):
            failed = True
        elif failed and line.startswith("aebench.checkpoint.Interrupted"):
            # stopped by SIGTERM (a time limit, preemption, a pause) after saving a
            # checkpoint: interrupted, to be resumed, not failed
            failed, stopped = False, True
    return {"span": span, "progress": progress, "failed": failed, "stopped": stopped}


def survey(root, jobs: dict[str, Job], now: float | None = None,
           stale_minutes: float = STALE_MINUTES) -> bool:
    """Set each job's state from the files under ``root``; True if a Snakemake lock is held.

    Without a lock no Snakemake runs here, so a job with a log and no output was interrupted.
    With one, a log written in the last ``stale_minutes`` (or three epochs, if longer) is a
    running job; an older one was likely cut off by a hard kill (the lock outlives it).
    """
    root, now = Path(root), time.time() if now is None else now
    lockdir = root / ".snakemake" / "locks"
    locked = lockdir.is_dir() and any(lockdir.iterdir())
    incomplete = incomplete_outputs(root)
    for j in jobs.values():
        log = root / j.log
        j.marked = (root / j.output).exists() and j.output in incomplete
        if (root / j.done_file).exists() and j.output not in incomplete:
            j.state, j.seconds = "done", read_bench(root / j.bench).get("wall_seconds")
        elif log.exists():
            info, mtime = read_log(log), log.stat().st_mtime
            j.progress, j.age = info["progress"], max(now - mtime, 0.0)
            fresh = j.age <= max(stale_minutes * 60, 3 * (j.progress or {}).get("secs", 0))
            j.state = ("failed" if info["failed"] else "interrupted" if info["stopped"]
                       else "running" if locked and fresh else "interrupted")
            j.elapsed = info["span"] + (j.age if j.state == "running" else 0)
        elif j.output in incomplete:  # started, no log yet: the marker's age tells
            since = now - incomplete[j.output]
            j.state = "running" if locked and since <= stale_minutes * 60 else "interrupted"
            j.elapsed = since if j.state == "running" else None
    return locked


def adopt(jobs: dict[str, Job], published) -> list[str]:
    """Jobs a publication of this run records as done (its jobs.csv, or that table read into a
    DataFrame) and not done here are done, with their wall times: a run resumed elsewhere with
    ``restore_from`` copies them back or does not need them, and they are not left to run.
    Returns their names."""
    import pandas as pd

    try:
        df = published if isinstance(published, pd.DataFrame) else pd.read_csv(Path(published) / "jobs.csv")
    except (OSError, ValueError):
        return []
    out = []
    for row in df.itertuples(index=False):
        j = jobs.get(row.job)
        if j is not None and j.state != "done" and row.state == "done":
            j.state, j.progress, j.left = "done", None, None
            j.seconds = None if pd.isna(row.wall_seconds) else float(row.wall_seconds)
            out.append(j.name)
    return out


def estimate(jobs: dict[str, Job], cores: int) -> dict:
    """Each unfinished job's time left from the finished jobs' benchmark times: the median of
    the same model's other seeds, else of the same kind (model kind or rule), else of all.
    A running job's share is that less its elapsed time, but at least its current phase's
    epochs left at its last epoch's pace. The total spreads the core-seconds over ``cores``
    (a job holds its threads), and is never less than the longest job left."""
    done = [j for j in jobs.values() if j.state == "done" and j.seconds is not None]
    pools: dict = {}
    for j in done:
        pools.setdefault(("model", j.model), []).append(j.seconds)
        pools.setdefault(("kind", j.kind), []).append(j.seconds)
    everything = [j.seconds for j in done]
    todo = [j for j in jobs.values() if j.state != "done"]
    for j in todo:
        j.left = j.basis = None
        for basis, pool in (("model", pools.get(("model", j.model)) if j.model else None),
                            ("kind", pools.get(("kind", j.kind))), ("median", everything)):
            if pool:
                j.left, j.basis = statistics.median(pool), basis
                break
        if j.state == "running":
            p = j.progress
            phase = (p["max"] - p["epoch"]) * p["secs"] if p else 0.0
            j.left = max(j.left - (j.elapsed or 0), phase) if j.left is not None else p and phase
    known = [j for j in todo if j.left is not None]
    core_seconds = sum(j.left * min(j.threads, cores) for j in known)
    wall = max(core_seconds / cores, max((j.left for j in known), default=0.0))
    bases = {b: sum(j.basis == b for j in known) for b in ("model", "kind", "median")}
    return {"seconds": wall, "jobs": len(todo), "unknown": len(todo) - len(known),
            "finished": len(done), "bases": bases, "cores": cores}


def foreign(root, jobs: dict[str, Job], cfg: aeconfig.Config) -> list[str]:
    """Finished fits whose run.json holds another spec than this config gives: the run had
    other config flags (or the config changed since, and Snakemake will fit them again)."""
    out = []
    for j in (j for j in jobs.values() if j.state == "done" and j.model):
        try:
            spec = json.loads((Path(root) / j.done_file).read_text())["spec"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if spec != json.loads(json.dumps(cfg.models[j.model].to_dict())):
            out.append(j.name)
    return out


def hms(seconds: float | None) -> str:
    s = None if seconds is None else int(round(seconds))
    return "?" if s is None else f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def ago(s: float | None) -> str:
    return ("-" if s is None else f"{s:.0f}s" if s < 120 else f"{s / 60:.0f}m" if s < 7200
            else f"{s / 3600:.0f}h")


def table(rows: list[tuple], left: int) -> list[str]:
    """Columns padded to their widest cell; the first ``left`` columns flush left."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                      for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]


def report(jobs: dict[str, Job], per_exp: dict, locked: bool, est: dict, root=".") -> str:
    states = ("running", "interrupted", "failed", "to do")
    rows = [("experiment", "done", "", *states)]
    for label, names in [*per_exp.items(), ("all", list(jobs))]:
        n = {s: sum(jobs[x].state == s for x in names) for s in ("done", *states)}
        rows.append((label, f"{n['done']}/{len(names)}", f"{100 * n['done'] // len(names)}%",
                     *(n[s] for s in states)))
    out = [f"aebench run in {Path(root).resolve()}",
           "Snakemake: " + ("holds a lock here (running, or killed before it could unlock)" if locked
                            else "no lock here (not running)"), "", *table(rows, 1),
           "(a job two experiments share counts in both; 'all' counts it once and adds gather)"]
    active = [j for j in jobs.values() if j.state in states[:3]]
    if active:
        rows = [("job", "state", "phase", "epoch", "train", "val", "elapsed", "last log")]
        for j in active:
            p = j.progress or {}
            phase = p.get("phase", "-") if j.age is not None else "(no log yet)"
            rows.append((j.name, j.state, "train" if re.search(r" seed \d+$", phase) else phase,
                         f"{p['epoch']}/{p['max']}" if p else "-", p.get("train", "-"),
                         p.get("val", "-"), hms(j.elapsed), ago(j.age)))
        out += ["", *table(rows, 3)]
    if locked and not any(j.state == "running" for j in jobs.values()):
        out.append("no job has logged lately: if no snakemake runs here, the lock is stale "
                   "(snakemake --unlock, with your config flags)")
    if not locked and any(j.marked for j in jobs.values()):
        out.append("outputs of interrupted jobs are marked incomplete: resume with --rerun-incomplete")
    b = est["bases"]
    out += ["", f"time left: about {hms(est['seconds'])} on {est['cores']} core(s) (an estimate)",
            f"  {est['jobs']} job(s) to finish, timed by the benchmarks of {est['finished']} finished "
            f"one(s): {b['model']} by the same model's other seeds, {b['kind']} by their kind, "
            f"{b['median']} by the median of all"
            + (f"; {est['unknown']} not at all (nothing finished yet)" if est["unknown"] else "")]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m aebench.status",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--configfile", "--configfiles", nargs="+", action="extend", default=[],
                    help="the config files passed to snakemake, in the same order")
    ap.add_argument("--config", "-C", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                    help="the --config overrides passed to snakemake")
    ap.add_argument("--directory", "-d", default=".", help="the run's working directory")
    ap.add_argument("--cores", "-c", default="all",
                    help="cores the run uses, for the estimate (default: this machine's, or 'all')")
    ap.add_argument("--stale", type=float, default=STALE_MINUTES, metavar="MINUTES",
                    help="a log silent this long belongs to an interrupted job (default %(default)s)")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.directory, args.configfile, args.config)
        cores = (os.cpu_count() or 1) if args.cores == "all" else max(int(args.cores), 1)
    except (aeconfig.ConfigError, OSError, ValueError) as e:
        print(f"aebench.status: {e}", file=sys.stderr)
        return 2
    jobs, per_exp = plan(cfg)
    locked = survey(args.directory, jobs, stale_minutes=args.stale)
    if (restore := cfg.raw.get("restore_from")):
        # what the run copies back from there, or no longer needs, is not left to do
        restore = Path(restore) if Path(restore).is_absolute() else Path(args.directory) / restore
        if (n := len(adopt(jobs, restore))):
            print(f"{n} job(s) done as published in {restore} (restore_from)\n")
    print(report(jobs, per_exp, locked, estimate(jobs, cores), args.directory))
    if (odd := foreign(args.directory, jobs, cfg)):
        print(f"\nnote: {len(odd)} finished fit(s) hold another spec than this config gives (e.g. "
              f"{odd[0]}): pass the --configfile/--config flags given to snakemake")
    return 0


if __name__ == "__main__":
    sys.exit(main())
