"""Running the workflow from tests: a private copy of the repo and a snakemake subprocess."""

import subprocess
import sys
from pathlib import Path

from aebench_bench import pipeline

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ["--configfile", "workflow/presets/smoke.yaml"]


def copy_workflow(dst: Path) -> Path:
    """What a user checks out (no results/), so every run starts from raw data."""
    pipeline.copy_workflow(ROOT, dst)
    return dst


def snakemake(workdir, *args, check=True, cores=("--cores", "2"), timeout=None):
    r = subprocess.run([sys.executable, "-m", "snakemake", *cores, *args], cwd=workdir,
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}")
    return r
