"""What a run's jobs left behind, read from its files alone: an output means done (unless
Snakemake's ``.snakemake/incomplete`` marks it as cut short), a log without one a job that is
running, was interrupted or failed (a traceback), a fit's per-epoch record
(:func:`aebench.paths.progress`) where its training is, and the benchmark files of finished
jobs how long the rest may take. The run need not cooperate, nor even still exist.
Running or interrupted: Snakemake's lock says whether it runs here at all (a run started with
``--nolock`` looks stopped); a hard kill leaves the lock, so a job that stopped writing is read
as interrupted.
"""

from __future__ import annotations

import base64
import json
import re
import statistics
import time
from pathlib import Path

from .. import config as aeconfig
from .. import paths
from .jobs import Job

# runlog's stamp: how long a job's log spans (its first line is written when the job starts)
STAMP = re.compile(r"(\d\d):(\d\d):(\d\d) ")
STALE_MINUTES = 5.0
# the keys of a progress record that are not losses (aebench.paths.progress)
RECORD_KEYS = ("time", "stage", "stage_index", "stages", "epoch", "epochs", "seconds")


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


def read_progress(path: Path) -> dict | None:
    """A fit's last per-epoch record, with its losses under "losses"; None without one. A
    last line cut short by a kill mid-write is skipped for the one before it."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and all(k in rec for k in RECORD_KEYS):
            rec["losses"] = {k: v for k, v in rec.items() if k not in RECORD_KEYS and k != "losses"}
            return rec
    return None


def read_log(path: Path) -> dict:
    """A job log: the seconds its stamped lines span (midnight wraps counted), whether it ends
    in a traceback (failed) or in a checkpoint saved on SIGTERM (stopped)."""
    span, prev, failed, stopped = 0, None, False, False
    for line in path.read_text(errors="replace").splitlines():
        if (m := STAMP.match(line)):
            t = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])
            span, prev = span + ((t - prev) % 86400 if prev is not None else 0), t
        if line.startswith("Traceback (most recent call last)"):
            failed = True
        elif failed and line.startswith("aebench.checkpoint.Interrupted"):
            # stopped by SIGTERM (a time limit, preemption, a pause) after saving a
            # checkpoint: interrupted, to be resumed, not failed
            failed, stopped = False, True
    return {"span": span, "failed": failed, "stopped": stopped}


def survey(root, jobs: dict[str, Job], now: float | None = None,
           stale_minutes: float = STALE_MINUTES) -> bool:
    """Set each job's state from the files under ``root``; True if a Snakemake lock is held.

    Without a lock no Snakemake runs here, so a job with a log and no output was interrupted.
    With one, a job that wrote its log or progress in the last ``stale_minutes`` (or three
    epochs, if longer) is running; an older one was likely cut off by a hard kill (the lock
    outlives it).
    """
    root, now = Path(root), time.time() if now is None else now
    lockdir = root / ".snakemake" / "locks"
    locked = lockdir.is_dir() and any(lockdir.iterdir())
    incomplete = incomplete_outputs(root)
    for j in jobs.values():
        log = root / j.log if j.log else None
        record = root / paths.progress(j.model, j.seed) if j.model else None
        j.marked = (root / j.output).exists() and j.output in incomplete
        # a finished fit keeps its last record too: which stages it went through
        j.progress = read_progress(record) if record else None
        if (root / j.done_file).exists() and j.output not in incomplete:
            j.state = "done"
            j.seconds = read_bench(root / j.bench).get("wall_seconds") if j.bench else None
        elif log is not None and log.exists():
            info = read_log(log)
            last = max(f.stat().st_mtime for f in (log, record) if f is not None and f.exists())
            j.age = max(now - last, 0.0)
            fresh = j.age <= max(stale_minutes * 60, 3 * (j.progress or {}).get("seconds", 0))
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
    A running job's share is that less its elapsed time, but at least its current stage's
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
            stage = (p["epochs"] - p["epoch"]) * p["seconds"] if p else 0.0
            j.left = max(j.left - (j.elapsed or 0), stage) if j.left is not None else p and stage
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
