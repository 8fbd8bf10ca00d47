"""Debian packages a test needs (SLURM for test_slurm, Chromium for test_report_browser):
installed with apt-get when missing, where the machine allows it (root and apt-get)."""

import os
import shutil
import subprocess

import pytest


def unavailable(reason):
    """CI must run the test: there a missing piece is a failure, not a skip."""
    (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)


def apt_install(packages: list[str], programs: list[str]) -> None:
    """Installs ``packages`` unless every one of ``programs`` is on PATH already; when they
    cannot be installed, fails under CI and skips otherwise, with one message."""
    if all(shutil.which(p) for p in programs):
        return
    why = f"apt-get install {' '.join(packages)}"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        unavailable(f"{', '.join(programs)} not installed and cannot be installed here "
                    f"(needs root and apt-get): {why}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
                       check=True, env=env, capture_output=True)
    except subprocess.CalledProcessError as e:
        unavailable(f"{why} failed (exit {e.returncode}): {e.stderr.decode(errors='replace')[-1000:]}")
    if missing := [p for p in programs if not shutil.which(p)]:
        unavailable(f"{why} installed no {', '.join(missing)}")
