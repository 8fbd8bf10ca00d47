import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The offline mirror of the original data files (../shared/data beside the checkout in CI).
MIRROR = Path(os.environ.get("AEBENCH_DATA_MIRROR", ROOT.parent / "shared" / "data")).resolve()


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
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
