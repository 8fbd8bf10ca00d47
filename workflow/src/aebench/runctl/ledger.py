"""What a job really cost, summed over its attempts.

Snakemake's ``benchmark:`` file holds the last attempt only, so a fit stopped (SIGTERM from
SLURM, a killed session) and resumed from its checkpoint would under-report its cost. Each
attempt writes its own record, refreshed every ``interval`` seconds by a daemon thread: an
attempt killed without warning (SIGKILL) still leaves a record at most ``interval`` seconds
short. A fresh start (no checkpoint to resume) drops the records of earlier runs, so the sum
is the cost of the run that produced the output.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ..peak import cpu_model  # noqa: F401 (one reader of /proc/cpuinfo; re-exported)

INTERVAL = 30.0


@contextmanager
def attempt(directory, fresh: bool, interval: float = INTERVAL):
    """Record one attempt at a job in ``directory/attempt<k>.json`` while the block runs."""
    d = Path(directory)
    if fresh and d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"attempt{len(list(d.glob('attempt*.json')))}.json"
    rec = {"host": socket.gethostname(), "cpu": cpu_model(), "pid": os.getpid(),
           "start": time.time()}
    t0 = time.monotonic()
    lock = threading.Lock()

    def write(status: str) -> None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        with lock:  # the final write and a periodic one must not interleave
            rec.update(status=status, end=time.time(), wall_seconds=round(time.monotonic() - t0, 2),
                       cpu_seconds=round(ru.ru_utime + ru.ru_stime, 2),
                       max_rss_mb=round(ru.ru_maxrss / 1024, 1))  # Linux: ru_maxrss in KiB
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(rec))
            os.replace(tmp, path)  # a kill mid-write leaves the previous record whole

    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(interval):
            write("running")

    write("running")
    thread = threading.Thread(target=refresh, daemon=True)
    thread.start()
    status = "failed"
    try:
        yield path
        status = "done"
    except (KeyboardInterrupt, SystemExit):
        status = "interrupted"
        raise
    except BaseException as e:  # SIGTERM's checkpoint.Interrupted: saved, to be resumed
        status = "interrupted" if type(e).__name__ == "Interrupted" else "failed"
        raise
    finally:
        stop.set()
        thread.join()
        try:
            write(status)
        except OSError as e:
            # A record that cannot be written (disk full) must not fail a job that finished:
            # its checkpoint is gone and Snakemake would delete its output. The last periodic
            # record stays, at most ``interval`` seconds short.
            print(f"aebench.ledger: could not write {path} ({e}); the job's cost record is "
                  "the last periodic one", file=sys.stderr)


def total(directory) -> dict:
    """Sum of a job's attempts: count, wall and CPU seconds; the largest peak RSS; when the
    first began and the last ended (None without attempts), each attempt's (start, end), and
    the CPUs they ran on ("; "-joined, in order; None where no record names one)."""
    recs = [json.loads(p.read_text()) for p in sorted(Path(directory).glob("attempt*.json"))]
    cpus = list(dict.fromkeys(r["cpu"] for r in recs if r.get("cpu")))
    return {"attempts": len(recs),
            "cpu": "; ".join(cpus) or None,
            "spans": [(r["start"], r["end"]) for r in recs],
            "start": min((r["start"] for r in recs), default=None),
            "end": max((r["end"] for r in recs), default=None),
            "wall_seconds": round(sum(r["wall_seconds"] for r in recs), 2),
            "cpu_seconds": round(sum(r["cpu_seconds"] for r in recs), 2),
            "max_rss_mb": max((r["max_rss_mb"] for r in recs), default=float("nan"))}
