"""python -m aebench_bench: run the benchmarks, print each figure with its target, write a table."""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import tempfile
import time
from pathlib import Path

from . import markdown

REPO = Path(__file__).resolve().parents[3]
PARTS = ("throughput", "fits", "retrieval", "pipeline", "published")
NEEDS_DATA = {"throughput", "fits", "retrieval", "pipeline"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m aebench_bench", description=__doc__)
    ap.add_argument("--mirror", type=Path,
                    default=Path(os.environ.get("AEBENCH_DATA_MIRROR", REPO.parent / "shared" / "data")),
                    help="offline data mirror (MNIST/raw, 20news-bydate); default ../shared/data")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    ap.add_argument("--epochs", type=int, default=3, help="throughput: epochs per contender")
    ap.add_argument("--n-train", type=int, default=None,
                    help="throughput: train images (default: all 55k; fewer for a quick look); "
                         "fits: MNIST train images (default 10000)")
    ap.add_argument("--fit-epochs", type=int, default=2,
                    help="fits: each model's epochs (every stage's), cut to this many")
    ap.add_argument("--fit-preset", default="default",
                    help="fits: the preset whose models' settings are fitted (default: config.yaml)")
    ap.add_argument("--threads", type=int, default=2, help="torch/BLAS threads (throughput, retrieval)")
    ap.add_argument("--cores", type=int, default=2, help="pipeline: snakemake --cores")
    ap.add_argument("--preset", default="quick", help="pipeline: preset to run (quick, smoke, ...)")
    ap.add_argument("--no-pythae", action="store_true",
                    help="throughput without the pythae contender (also when pythae is not installed)")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/aebench-bench"),
                    help="pipeline: where the private copy of the workflow runs")
    ap.add_argument("--published", type=Path, default=None,
                    help="published: a published run (results/published/NAME; default: the "
                         "default preset's latest)")
    ap.add_argument("--out", type=Path, default=REPO / "results" / "bench",
                    help="where benchmark.md and jobs.csv are written")
    a = ap.parse_args(argv)
    parts = [p.strip() for p in a.parts.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown part(s) {sorted(unknown)}; choose from {PARTS}")
    if set(parts) & NEEDS_DATA and not (a.mirror / "MNIST" / "raw").is_dir():
        ap.error(f"no MNIST under {a.mirror}: pass --mirror DIR (the offline data mirror)")

    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    header = (f"aebench benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}: "
              f"{os.cpu_count()} CPUs, torch {torch.__version__}, "
              f"GPU: {torch.cuda.get_device_name(0) if 'cuda' in devices else 'none'}")
    print(header, flush=True)
    rows, jobs = [], None
    if "throughput" in parts:
        from aebench.datasets import prepare
        from . import throughput

        with_pythae = not a.no_pythae and importlib.util.find_spec("pythae") is not None
        if not a.no_pythae and not with_pythae:
            print("throughput: pythae is not installed (pip install -e '.[bench]'), so its "
                  "contender and rows are left out", flush=True)

        with tempfile.TemporaryDirectory() as raw:
            p, _, _ = prepare("mnist", raw, a.mirror, False)
        for dev in devices:
            res = throughput.measure(p.x_train[:a.n_train], p.x_val, epochs=a.epochs, device=dev,
                                     threads=a.threads, with_pythae=with_pythae)
            rows += throughput.rows(res, dev)
    if "fits" in parts:
        from . import fits

        # at the training threads the default config gives a job, as the pipeline fits
        rows += fits.run(REPO, a.mirror, min(fits.train_threads(REPO), a.threads),
                         epochs=a.fit_epochs, n_train=a.n_train or 10000, preset=a.fit_preset)
        if a.threads > 1:
            rows += fits.side_by_side(REPO, a.mirror, a.threads, epochs=a.fit_epochs,
                                      n_train=a.n_train or 10000)
    if "retrieval" in parts:
        from . import retrieval

        for dev in devices:
            rows += retrieval.run(a.mirror, dev, a.threads)
    if "pipeline" in parts:
        from . import pipeline

        r, jobs = pipeline.run(REPO, a.workdir, a.mirror, preset=a.preset, cores=a.cores)
        rows += r

    if "published" in parts:
        from . import published

        pub = a.published or published.latest_full_run(REPO / "results" / "published")
        if pub is None or not (pub / "jobs.csv").is_file():
            ap.error(f"published: no jobs.csv in {pub}: pass --published results/published/NAME")
        rows += published.run(pub)

    table = markdown(rows)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "benchmark.md").write_text(f"{header}\n\n{table}")
    print("\n" + table)
    if jobs is not None:
        jobs.sort_values("seconds", ascending=False).to_csv(a.out / "jobs.csv", index=False)
        print(jobs.sort_values("seconds", ascending=False).head(15).to_markdown(index=False))
        print(f"\nper-job table: {a.out / 'jobs.csv'}")
    print(f"written: {a.out / 'benchmark.md'}")
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
