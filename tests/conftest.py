import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The offline mirror of the original data files (../shared/data beside the checkout in CI).
MIRROR = Path(os.environ.get("AEBENCH_DATA_MIRROR", ROOT.parent / "shared" / "data")).resolve()


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")
    parser.addoption("--runslurm", action="store_true",
                     help="also run the smoke preset on a real one-node SLURM cluster "
                          "(installs Debian's slurm packages when missing; needs root)")


def pytest_collection_modifyitems(config, items):
    for mark, option in (("slow", "--runslow"), ("slurm", "--runslurm")):
        if config.getoption(option):
            continue
        skip = pytest.mark.skip(reason=f"{mark}: run with {option}")
        for item in items:
            if mark in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "MNIST" / "raw").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"data mirror {MIRROR} missing: CI must have ../shared/data beside the clone")
        pytest.skip(f"no data mirror at {MIRROR} (set AEBENCH_DATA_MIRROR)")
    return MIRROR


@pytest.fixture
def mnist_copy(tmp_path, mirror) -> Path:
    """A private copy of the MNIST part of the mirror that a test may damage."""
    dst = tmp_path / "mirror" / "MNIST" / "raw"
    shutil.copytree(mirror / "MNIST" / "raw", dst)
    return tmp_path / "mirror"


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The whole smoke DAG, run locally once per session in a copy of the repo."""
    from _workflow import SMOKE, copy_workflow, snakemake

    work = copy_workflow(tmp_path_factory.mktemp("smoke"))
    snakemake(work, *SMOKE)
    return work
