"""Where a published run comes from: what it computes (the config hash), the commit and
whether the training code changed since, the machine and the package versions."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
from pathlib import Path

from . import ledger

# Keys that say where and how fast a run goes, not what it computes: a published run restores
# into a config that differs only in these.
RUNTIME_KEYS = ("data_mirror", "allow_download", "restore_from", "device", "gpu", "gpu_model",
                "threads")
# The code a finished fit depends on: if any of it changed after the run's commit, the
# published numbers are not those of the code now checked in (the manifest says so). Git
# pathspecs: the whole package but what only judges, plots or manages runs, so a module added
# to the science is covered without anyone having to list it here.
TRAINING_CODE = ("workflow/src/aebench",
                 *(f":(exclude)workflow/src/aebench/{p}" for p in (
                     "runctl", "experiments", "claims.py", "claim_stats.py", "verdicts.py",
                     "plots.py", "gather.py", "retrieval.py", "publish.py", "status.py",
                     "readme.py")),
                 "workflow/scripts/fit.py", "workflow/scripts/prepare_data.py")


def config_hash(raw: dict) -> str:
    """What the run computes, as a short hash: the parsed config without :data:`RUNTIME_KEYS`."""
    what = {k: v for k, v in raw.items() if k not in RUNTIME_KEYS and not k.startswith("_")}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def git(root: Path, *args: str) -> str:
    """``git -C root args``'s output, or "" where there is no git or no checkout."""
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def training_code_state(root: Path, repo: Path, first_commit: str | None) -> tuple[bool, list[str]]:
    """Whether the training code in ``root`` has uncommitted changes, and the training-code
    files changed in ``repo`` since ``first_commit`` (the run's first)."""
    dirty = git(root, "status", "--porcelain", "--untracked-files=no", "--", *TRAINING_CODE)
    changed = (git(repo, "diff", "--name-only", first_commit, "HEAD", "--", *TRAINING_CODE).split()
               if first_commit else [])
    return bool(dirty), changed


def machine() -> dict:
    cpu = ledger.cpu_model()
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal")), 0)
    return {"host": socket.gethostname(), "platform": platform.platform(), "cpu": cpu,
            "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "gpu": gpus(), "python": platform.python_version(), "torch": version("torch")}


def gpus() -> str | None:
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


def version(pkg: str) -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(pkg)
    except PackageNotFoundError:
        return "not installed"
