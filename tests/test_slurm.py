"""The SLURM profile against a real one-node SLURM cluster on localhost.

The cluster comes from the recipe in ../shared/slurm (Debian's slurmctld/slurmd/munge, no
systemd). With --runslurm the fixture installs the packages when they are missing (root and
apt-get needed), starts the daemons, and stops them whatever happens.
"""

import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from _debian import apt_install, unavailable
from _workflow import ROOT, SMOKE, copy_workflow, snakemake

pytestmark = pytest.mark.slurm

RECIPE = Path(os.environ.get("AEBENCH_SLURM_RECIPE", ROOT.parent / "shared" / "slurm")).resolve()
PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not (RECIPE / "start_cluster.sh").is_file():
        unavailable(f"no SLURM recipe at {RECIPE} (set AEBENCH_SLURM_RECIPE)")
    pytest.importorskip("snakemake_executor_plugin_slurm",
                        reason="pip install -e '.[slurm]' for the slurm executor plugin")
    apt_install(PACKAGES, ["sbatch", "slurmctld"])
    env = {**os.environ, "SLURM_PIDS": str(tmp_path_factory.mktemp("slurm") / "pids")}
    # start_cluster.sh writes /etc/slurm/slurm.conf. Left behind with no controller running,
    # it makes every later snakemake start (the slurm plugin probes the cluster on import)
    # wait MessageTimeout seconds, so the machine gets back the file it had.
    conf = Path("/etc/slurm/slurm.conf")
    saved = conf.read_bytes() if conf.is_file() else None
    try:
        up = subprocess.run(["bash", RECIPE / "start_cluster.sh"], env=env, capture_output=True,
                            text=True, timeout=120)
        assert up.returncode == 0, f"start_cluster.sh failed:\n{up.stdout}\n{up.stderr}"
        yield
    finally:
        subprocess.run(["bash", RECIPE / "stop_cluster.sh"], env=env, timeout=60)
        if saved is None:
            conf.unlink(missing_ok=True)
        else:
            conf.write_bytes(saved)


def test_smoke_preset_runs_through_sbatch_and_matches_a_local_run(cluster, smoke_run, tmp_path):
    work = copy_workflow(tmp_path)
    # The test cluster keeps no accounting database, so job status comes from squeue (the
    # plugin would otherwise wait on sacct forever), and a one-node cluster can be polled
    # every 2 s instead of 10; everything else is the shipped profile.
    r = snakemake(work, "--workflow-profile", "workflow/profiles/slurm",
                  "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1",
                  "--seconds-between-status-checks", "2",
                  "--slurm-keep-successful-logs", *SMOKE, cores=(), timeout=1800)
    out = r.stdout + r.stderr

    # Every job of the DAG went through sbatch but the input-only `all` rule and the local
    # rules (the data jobs run on the submitting host: compute nodes are often offline) ...
    submitted = re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", out)
    n_jobs = int(re.search(r"(\d+) of \1 steps \(100%\) done", out).group(1))
    local = len(re.findall(r"^(?:local)?rule prepare_data:", out, re.M))
    assert local == 4, out[-3000:]  # digits and toytext, each seed its own
    assert len(submitted) == n_jobs - 1 - local > 30, out[-3000:]
    # ... each left its SLURM log, and each rule log says it ran inside that SLURM job.
    for _, _, log in submitted:
        assert Path(log).is_file(), log
    ran_in = {m for f in (work / "results" / "logs").rglob("*.log")
              for m in re.findall(r"SLURM job (\d+)", f.read_text())}
    assert ran_in == {slurm_id for _, slurm_id, _ in submitted}

    # Same numbers as the local run of the same preset (same seeds, same threads per job).
    tables = sorted((smoke_run / "results").glob("*/metrics.csv"))
    assert len(tables) >= 5
    for local in tables:
        remote = work / local.relative_to(smoke_run)
        # Wall-clock metrics (train_seconds) differ by nature; every other number must not.
        a, b = (pd.read_csv(f).query("~metric.str.endswith('_seconds')") for f in (remote, local))
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9,
                                      obj=str(remote.relative_to(work)))
    claims = [pd.read_csv(d / "results" / "tables" / "claims.csv") for d in (work, smoke_run)]
    pd.testing.assert_frame_equal(*claims)
