"""Errors before any job (aebench.preflight, called by workflow/rules/common.smk): a set-up that
cannot work stops the dry run with one message naming the cause and the fix, instead of
passing it and failing inside the first job (issue 42)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aebench import preflight

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ["--configfile", "workflow/presets/smoke.yaml"]


@pytest.fixture
def checkout(tmp_path):
    """The workflow without results/: nothing prepared, nothing cached."""
    for item in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / item, tmp_path / item)
    shutil.copytree(ROOT / "workflow", tmp_path / "workflow",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def dry_run(cwd, *args):
    """`snakemake -n` as a user types it, on a machine where CUDA sees no GPU."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout + r.stderr


def one_message(out: str, *words) -> None:
    """The message, once, with no job listed and no traceback of ours."""
    lines = [line for line in out.splitlines() if all(w in line for w in words)]
    assert len(lines) == 1, out
    assert "Job stats" not in out and "Traceback" not in out, out
    assert len(out.strip().splitlines()) <= 6, out


def test_cuda_without_a_gpu_stops_a_local_dry_run(checkout):
    rc, out = dry_run(checkout, "--cores", "1", *SMOKE, "--config", "device=cuda")
    assert rc != 0
    one_message(out, "`device: cuda`", "no GPU", "set `device: auto`")


def test_a_cluster_run_checks_no_gpu_here_and_prepares_data_on_the_submit_host(checkout):
    """The GPU nodes of a SLURM run are not the submitting host: no GPU check there. Data is
    prepared on the submitting host (compute nodes are often offline): a local rule."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    rc, out = dry_run(checkout, "--executor", "slurm", "--jobs", "5", *SMOKE, "--config", "device=cuda")
    assert rc == 0, out[-3000:]
    assert "Job stats" in out


def test_data_is_prepared_on_the_submitting_host_of_a_cluster_run():
    """Compute nodes are often offline: prepare_data is a local rule, the fits are not. (A
    dry run cannot show it: Snakemake marks local rules only when it really submits jobs.)"""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        with SnakemakeApi(OutputSettings()) as api:
            w = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=ROOT / "Snakefile",
                             config_settings=ConfigSettings(configfiles=[ROOT / SMOKE[1]]))
            w.dag()
            local = set(w._workflow._localrules)
    finally:
        os.chdir(cwd)
    assert "prepare_data" in local and not local & {"fit", "evaluate", "experiment", "gather"}


def test_a_missing_data_mirror_stops_the_dry_run(checkout):
    rc, out = dry_run(checkout, "--cores", "1", *SMOKE, "--config", "data_mirror=no/such/folder")
    assert rc != 0
    one_message(out, "data_mirror 'no/such/folder' is not a directory", "set `data_mirror`", "null")


def test_no_download_no_mirror_no_data_stops_the_dry_run(checkout):
    """The default run needs MNIST and 20news; with downloads off, no mirror and nothing
    prepared they cannot be had."""
    rc, out = dry_run(checkout, "--cores", "1", "--config", "allow_download=false")
    assert rc != 0
    one_message(out, "`allow_download: false` with no `data_mirror`", "20news, 20news_headers, mnist are not prepared",
                "`allow_download: true`")


def test_no_download_is_fine_for_bundled_data_and_for_data_already_prepared(checkout):
    # the smoke preset's digits and toytext need neither a mirror nor the network
    rc, out = dry_run(checkout, "--cores", "1", *SMOKE, "--config", "allow_download=false")
    assert rc == 0, out[-3000:]
    # prepared files count as had (whatever their content: the check reads no data)
    (checkout / "results" / "data").mkdir(parents=True)
    with pytest.raises(preflight.PreflightError, match="mnist is not prepared"):
        preflight.check_data(["mnist", "digits"], None, False, root=checkout)
    (checkout / "results" / "data" / "mnist").mkdir()
    (checkout / "results" / "data" / "mnist" / "seed0.npz").write_bytes(b"")
    preflight.check_data(["mnist", "digits"], None, False, root=checkout)
    with pytest.raises(preflight.PreflightError, match="seed1.npz"):  # each seed has its own
        preflight.check_data(["mnist"], None, False, root=checkout, seeds=[0, 1])
    # so do raw files a job would check one by one
    (checkout / "results" / "data" / "mnist" / "seed0.npz").unlink()
    (checkout / "results" / "data" / "raw" / "MNIST").mkdir(parents=True)
    preflight.check_data(["mnist"], None, False, root=checkout)


def test_check_data_and_check_device_directly(tmp_path):
    (tmp_path / "mirror").mkdir()
    preflight.check_data(["mnist", "20news"], "mirror", False, root=tmp_path)  # relative to the run
    preflight.check_data(["mnist", "20news"], str(tmp_path / "mirror"), True, root="/")
    with pytest.raises(preflight.PreflightError, match="'gone' is not a directory here"):
        preflight.check_data(["digits"], "gone", True, root=tmp_path)
    preflight.check_data(["mnist"], None, True, root=tmp_path)  # downloads on: nothing to check
    preflight.check_device("cuda", local=True, count=lambda: 1)
    preflight.check_device("auto", local=True, count=lambda: 0)
    preflight.check_device("cuda", local=False, count=lambda: 0)
    with pytest.raises(preflight.PreflightError, match="CUDA sees no GPU"):
        preflight.check_device("cuda", local=True, count=lambda: 0)


def test_the_executor_is_read_from_the_command_line():
    """Snakemake picks the executor after reading the Snakefile; the check reads it from the
    parsed command line, and outside it (the Python API) says it does not know."""
    import argparse

    def cli(args):  # a stand-in for snakemake.cli.args_to_api, which holds `args`
        return preflight.invoked_executor()

    assert cli(argparse.Namespace(executor="slurm")) == "slurm"
    assert preflight.invoked_executor() is None


def test_two_runs_kept_apart_with_directory(checkout, tmp_path_factory):
    """A second run in its own working directory (docs/running.md): its config.yaml must be
    copied there (Snakemake reads the Snakefile's config.yaml from the working directory and
    skips it silently when missing); without it, one message saying so."""
    other = tmp_path_factory.mktemp("quick-run")
    rc, out = dry_run(checkout, "--cores", "1", "--directory", str(other), *SMOKE)
    assert rc != 0
    one_message(out, "no config.yaml in the working directory", "cp config.yaml DIR/")
    shutil.copy(checkout / "config.yaml", other / "config.yaml")
    rc, out = dry_run(checkout, "--cores", "1", "--directory", str(other), *SMOKE)
    assert rc == 0 and "Job stats" in out, out[-3000:]
