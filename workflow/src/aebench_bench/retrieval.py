"""Peak memory of the largest ranking: 10k test queries against all 60k MNIST train images.

Raw pixels (784 dimensions) are the widest representation E5 ranks, so this is its worst
case. It runs in a child process so that its peak RSS is its own, not the benchmark's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from . import Row

CHILD = textwrap.dedent("""
    import json, resource, sys, tempfile, time
    import numpy as np
    from aebench import datasets, retrieval
    mirror, device = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as raw:
        p, _, _ = datasets.prepare("mnist", raw, mirror, False)
    db = np.concatenate([p.x_train, p.x_val]); ydb = np.concatenate([p.y_train, p.y_val])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    r = retrieval.evaluate(p.x_test, p.y_test, db, ydb, "euclidean", ks=(1, 10, 100), device=device)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"queries": len(p.x_test), "database": len(db), "seconds": seconds,
                      "rss_before_mb": before, "peak_rss_mb": peak, "mAP": r.mean_ap}))
""")


def run(mirror: Path, device: str = "cpu", threads: int = 2, log=print) -> list[Row]:
    log("retrieval: ranking 10k MNIST test images against 60k train images (pixels) ...")
    env_threads = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    r = subprocess.run([sys.executable, "-c", CHILD, str(mirror), device], capture_output=True,
                       text=True, env={**os.environ, **env_threads})
    if r.returncode != 0:
        raise RuntimeError(f"retrieval benchmark failed:\n{r.stderr[-3000:]}")
    m = json.loads(r.stdout.strip().splitlines()[-1])
    log(f"  {m['seconds']:.1f} s, peak RSS {m['peak_rss_mb']:.0f} MB (data loaded: "
        f"{m['rss_before_mb']:.0f} MB), mAP {m['mAP']:.4f}")
    part = f"retrieval {m['queries'] // 1000}k x {m['database'] // 1000}k ({device})"
    return [Row(part, "wall time", m["seconds"], "s"),
            Row(part, "peak RSS of the whole process", m["peak_rss_mb"], "MB", "< 4096 MB",
                m["peak_rss_mb"] < 4096)]
