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
    parser.addoption("--runreadme", action="store_true",
                     help="also run every command README.md shows, on the smoke preset, in a "
                          "copy of the checkout with a fresh plain install (pip install -e .)")


def pytest_collection_modifyitems(config, items):
    for mark, option in (("slow", "--runslow"), ("slurm", "--runslurm"), ("readme", "--runreadme")):
        if config.getoption(option):
            continue
        skip = pytest.mark.skip(reason=f"{mark}: run with {option}")
        for item in items:
            # the marker itself: item.keywords also holds directory names (a checkout in
            # a directory named "readme" or "slow" would skip everything)
            if item.get_closest_marker(mark):
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


@pytest.fixture
def one_thread():
    """torch on one thread for the test (small models: exact timings and numbers), then back."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def unroll_spy(monkeypatch):
    """Records each stack unrolled into an autoencoder and the net's weights when fine-tuning
    starts: ``(stacks, starts)``, filled as the code under test runs."""
    import copy

    from aebench import pretrain, train

    stacks, starts = [], []
    real_fit, real_unroll = train.fit, pretrain.unroll

    def fit(net, *a, **kw):
        starts.append(copy.deepcopy(net.state_dict()))
        return real_fit(net, *a, **kw)

    def unroll(stack, net):
        stacks.append(stack)
        return real_unroll(stack, net)

    monkeypatch.setattr(train, "fit", fit)
    monkeypatch.setattr(pretrain, "unroll", unroll)
    return stacks, starts
