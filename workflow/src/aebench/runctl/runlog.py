"""Logging for rule scripts: everything goes to the rule's log file, errors also to the console."""

from __future__ import annotations

import os
import socket
import sys
import time
import traceback
from contextlib import contextmanager


@contextmanager
def rule_log(path: str, threads: int | None = None):
    """Redirect stdout/stderr to ``path``; yield a timestamped ``log(msg)``.

    An exception is written in full to the log and as one line ("aebench: <message>") to the
    console, then re-raised so the job fails and Snakemake removes its outputs.
    BLAS and torch are limited to ``threads`` so parallel jobs do not oversubscribe cores.
    """
    from threadpoolctl import threadpool_limits

    console = sys.stderr
    with open(path, "w", buffering=1) as f:
        sys.stdout = sys.stderr = f

        def log(msg: str) -> None:
            print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)

        # Where the job ran: on a cluster the SLURM job id ties this log to squeue/sacct.
        slurm = os.environ.get("SLURM_JOB_ID")
        log(f"host {socket.gethostname()}, {threads or 'default'} thread(s)"
            + (f", SLURM job {slurm}" if slurm else ""))
        try:
            if threads:
                import torch

                torch.set_num_threads(threads)
                with threadpool_limits(threads):
                    yield log
            else:
                yield log
        except BaseException as e:
            traceback.print_exc(file=f)
            print(f"aebench: {type(e).__name__}: {e}", file=console, flush=True)
            raise
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, console
