"""Device and GPU logic, tested on a CPU-only machine (no GPU needed)."""

import re

import pytest
import torch
import yaml

from _workflow import ROOT, SMOKE, copy_workflow, snakemake
from aebench.runctl import gpus
from aebench import config as aeconfig
from aebench.train import resolve_device, set_determinism


def test_local_gpu_count_reads_the_driver_and_cuda_visible_devices(tmp_path):
    proc = tmp_path / "gpus"
    for bus in ("0000:01:00.0", "0000:02:00.0"):
        (proc / bus).mkdir(parents=True)
    assert gpus.local_gpu_count(proc, env={}) == 2
    assert gpus.local_gpu_count(proc, env={"CUDA_VISIBLE_DEVICES": "1"}) == 1
    assert gpus.local_gpu_count(proc, env={"CUDA_VISIBLE_DEVICES": ""}) == 0
    assert gpus.local_gpu_count(proc, env={"CUDA_VISIBLE_DEVICES": "-1"}) == 0
    assert gpus.local_gpu_count(tmp_path / "no-driver", env={}) == 0


@pytest.mark.parametrize("device, gpu, local, expected", [
    ("auto", "auto", 0, 0), ("auto", "auto", 2, 1), ("cpu", "auto", 2, 0),
    ("cuda", "auto", 0, 1), ("auto", 1, 0, 1), ("auto", 0, 4, 0),
])
def test_training_gpus(device, gpu, local, expected):
    assert gpus.training_gpus(device, gpu, local_gpus=local) == expected


def test_gpu_settings_are_validated():
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg.update(device="cpu", gpu=1)
    with pytest.raises(aeconfig.ConfigError, match="`gpu: 1`.*`device: cpu`"):
        aeconfig.load(cfg)
    cfg.update(device="auto", gpu=2)
    with pytest.raises(aeconfig.ConfigError, match="gpu"):
        aeconfig.validate_schema(cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_device_selection_without_a_gpu():
    assert resolve_device("auto").type == "cpu"
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(RuntimeError, match="device: cuda.*no GPU.*`device: auto`"):
        resolve_device("cuda")


def test_full_fp32_on_gpu():
    """TF32 (cuDNN's default for convolutions) would move GPU numbers off the CPU ones."""
    set_determinism(0, 1)
    assert torch.backends.cuda.matmul.fp32_precision == "ieee"
    assert torch.backends.cudnn.conv.fp32_precision == "ieee"


def _starts_and_ends(out: str) -> list[str]:
    """The order in which training jobs started (S) and finished (E) in snakemake's log."""
    events = []
    jobid_rule = {}
    for block in re.split(r"\n(?=\[)", out):
        m = re.search(r"^(?:local)?rule (\w+):\n.*?jobid: (\d+)", block, re.S | re.M)
        if m:
            jobid_rule[m.group(2)] = m.group(1)
            if m.group(1) == "fit":
                events.append("S")
        f = re.search(r"Finished jobid: (\d+)", block)
        if f and jobid_rule.get(f.group(1)) == "fit":
            events.append("E")
    return events


def test_local_run_gives_each_training_job_its_own_gpu_unless_allowed(tmp_path):
    """With `gpu: 1` two ready training jobs run one after the other on `--cores 2`; with
    `--resources gpu=2` (the user allows sharing) they start together. Runs on CPU: the
    scheduling is Snakemake's, the device is whatever torch finds."""
    work = copy_workflow(tmp_path)
    targets = [f"results/runs/linear_tied/seed{s}" for s in (0, 1)]
    snakemake(work, "results/data/digits/seed0.npz", "results/data/digits/seed1.npz", *SMOKE)
    r = snakemake(work, *targets, *SMOKE, "--config", "gpu=1")
    assert "gpu=1" in r.stderr
    assert _starts_and_ends(r.stderr) == ["S", "E", "S", "E"], r.stderr[-3000:]
    r = snakemake(work, *targets, *SMOKE, "--config", "gpu=1", "--resources", "gpu=2",
                  "--forcerun", "fit")
    assert _starts_and_ends(r.stderr) == ["S", "S", "E", "E"], r.stderr[-3000:]


def test_slurm_request_carries_gpu_and_model(tmp_path):
    """What a training job asks the scheduler for, as the slurm plugin will read it."""
    work = copy_workflow(tmp_path)
    r = snakemake(work, "-n", "results/runs/ae2/seed0", "results/runs/pca2/seed0", *SMOKE,
                  "--config", "gpu=1", "gpu_model=a100")
    requests = re.findall(r"resources: (.*)", r.stdout + r.stderr)
    assert any(re.search(r"gpu=1\b.*gpu_model=a100", q) for q in requests)  # ae2
    # pca2 trains nothing with torch: no GPU, and no model for the plugin to put in --gpus
    assert any("gpu=0" in q and "gpu_model=a100" not in q for q in requests)
    r = snakemake(work, "-n", "results/runs/ae2/seed0", *SMOKE,
                  "--config", "gpu=0", "gpu_model=a100")
    requests = re.findall(r"resources: (.*)", r.stdout + r.stderr)
    assert any("gpu=0" in q for q in requests) and not any("gpu_model" in q for q in requests)


def test_every_training_job_asks_for_more_than_the_slurm_profiles_default_runtime():
    """A training job left on the profile's default (30 min) would be killed by SLURM in the
    middle of a full-data run: every kind that trains with torch declares its own runtime,
    and the profile does not cut the fit rule's requests back."""
    from aebench.kinds import KINDS

    profile = yaml.safe_load((ROOT / "workflow/profiles/slurm/config.yaml").read_text())
    default = profile["default-resources"]["runtime"]
    trained = {k: c.resources["runtime"] for k, c in KINDS.items() if c.torch_based}
    assert {"autoencoder", "stack", "classifier"} <= set(trained)
    assert all(v > default for v in trained.values()), trained
    assert "fit" not in profile.get("set-resources", {})
