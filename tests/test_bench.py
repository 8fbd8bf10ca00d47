"""The benchmark's machinery (python -m aebench_bench); its timings are printed, never asserted."""

import re
import subprocess

import numpy as np
import pandas as pd
import pytest
import torch

from _workflow import ROOT, SMOKE, copy_workflow, snakemake
from aebench_bench import Row, markdown, pipeline, throughput


def test_job_counts_reads_snakemakes_dry_run(tmp_path):
    work = copy_workflow(tmp_path)
    out = snakemake(work, "-n", *SMOKE).stdout
    counts = pipeline.job_counts(out)
    total = int(re.search(r"^total\s+(\d+)$", out, re.M).group(1))
    # one data job per dataset and seed (digits and toytext, two seeds)
    assert counts["prepare_data"] == 4 and counts["gather"] == 1 and counts["all"] == 1
    assert sum(counts.values()) == total


def test_contenders_start_from_the_same_weights_and_learn():
    rng = np.random.default_rng(0)
    x = (rng.random((300, 784)) < 0.2).astype(np.float32)
    before = throughput.val_sq_err(throughput.make_model(0), torch.as_tensor(x[250:]))
    res = throughput.measure(x[:250], x[250:], epochs=2, batch_size=50, threads=1,
                             with_pythae=False, log=lambda m: None)
    assert [r.name for r in res] == ["aebench.train.fit", "bare PyTorch loop", "sgemm peak"]
    for r in res[:2]:
        assert r.samples_per_s > 0 and r.val_sq_err < before
    rows = {r.measure: r for r in throughput.rows(res, "cpu")}
    assert rows["ours / bare loop"].value == pytest.approx(res[0].samples_per_s / res[1].samples_per_s)
    # the physical-limit row: training work per second over the machine's sgemm rate
    frac = rows["aebench.train.fit: fraction of sgemm peak"].value
    assert frac == pytest.approx(res[0].gflops / res[2].gflops) and 0 < frac < 1.5


def test_training_flops_count_every_weight_six_times_per_training_sample():
    net = throughput.make_model(0, dim=10)  # 10-1000-500-250-30 and back
    weights = 2 * (10 * 1000 + 1000 * 500 + 500 * 250 + 250 * 30)
    assert throughput.training_flops(net, n_train=7, n_val=3, epochs=2) == 2 * (6 * 7 + 2 * 3) * weights


def test_markdown_table_marks_targets():
    md = markdown([Row("p", "a", 1.5, "s", "< 3 s", True), Row("p", "b", 5, "MB", "< 4 MB", False),
                   Row("p", "c", 2, "x")])
    lines = md.splitlines()
    assert lines[2].endswith("| PASS |") and lines[3].endswith("| FAIL |") and lines[4].endswith("|  |")



def _git(repo, *args) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo), *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_the_private_copy_is_the_working_tree_on_its_commit(tmp_path):
    repo, work = tmp_path / "repo", tmp_path / "work"
    for f in ("Snakefile", "config.yaml", "workflow/a.txt", "envs/b.yaml", "README.md"):
        (repo / f).parent.mkdir(parents=True, exist_ok=True)
        (repo / f).write_text("committed\n")
    _git(tmp_path, "init", "-q", "repo")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "c")
    (repo / "workflow/a.txt").write_text("edited\n")  # uncommitted: measured, and shows
    pipeline.copy_workflow(repo, work)
    assert _git(work, "rev-parse", "HEAD") == _git(repo, "rev-parse", "HEAD")
    assert (work / "workflow/a.txt").read_text() == "edited\n"
    assert _git(work, "status", "--porcelain", "--", "workflow", "envs", "Snakefile") == "M workflow/a.txt"
    assert not (work / "README.md").exists()  # the workflow only


def test_published_part_sets_a_runs_flop_against_its_time_at_peak(tmp_path):
    from aebench_bench import published

    pub = tmp_path / "full"
    pub.mkdir()
    # fit a: 3.6e14 FLOP at 50 of 100 GFLOP/s (1 h at peak, 2 h of loops, 2.5 h of job);
    # fit b: 7.2e14 at 100 of 200 (1 h, 2 h, 2 h); the PCA fit records none
    pd.DataFrame({"job": ["fit a seed0", "fit b seed0", "fit pca seed0"],
                  "wall_seconds": [9000.0, 7200.0, 60.0], "flop": [3.6e14, 7.2e14, None],
                  "gflops": [50.0, 100.0, None], "peak_gflops": [100.0, 200.0, None],
                  "fraction_of_peak": [0.5, 0.5, None]}).to_csv(pub / "jobs.csv", index=False)
    rows = {r.measure.split(": ", 1)[1]: r for r in published.run(pub)}
    assert rows["weight-matrix work"].value == pytest.approx(1080)
    assert rows["time at the fp32 sgemm peak"].value == pytest.approx(2.0)
    assert rows["measured, training loops"].value == pytest.approx(4.0)
    assert rows["fraction of the physical limit (job wall)"].value == pytest.approx(2 / 4.5)
    assert rows["median fit's fraction of peak"].ok is False

    old = tmp_path / "old"
    old.mkdir()
    pd.DataFrame({"job": ["fit a seed0"], "wall_seconds": [1.0]}).to_csv(old / "jobs.csv", index=False)
    said = []
    assert published.run(old, log=said.append) == [] and "not recorded" in said[0]


def test_published_part_defaults_to_the_latest_full_run(tmp_path):
    from aebench_bench import published

    for name, preset, start in (("q", "quick", "2026-12-09"), ("d1", "default", "2026-11-01"),
                                ("d2", "default", "2026-12-01")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(
            f'{{"preset": "{preset}", "start": "{start}"}}')
    assert published.latest_full_run(tmp_path) == tmp_path / "d2"


def test_fits_part_fits_each_model_as_the_pipeline_does_with_its_epochs_cut(mirror, tmp_path):
    from aebench_bench import fits

    spec = {"train": {"epochs": 300}, "init": {"params": {"epochs": 10, "lr": 0.1}},
            "stages": [{"epochs": 5}, {"epochs": 1}]}
    assert fits._capped(spec, 2) == {"train": {"epochs": 2},
                                     "init": {"params": {"epochs": 2, "lr": 0.1}},
                                     "stages": [{"epochs": 2}, {"epochs": 1}]}
    rows = fits.run(ROOT, mirror, 1, epochs=1,
                    n_train=600, models=("ae30",), peak_cache=tmp_path / "peak",
                    log=lambda m: None)
    got = {r.measure: r for r in rows}
    assert 0 < got["ae30 (as is): fraction of sgemm peak"].value < 1.5
    # the code a fix replaced, side by side: denormals kept (one epoch: none made yet, so
    # no number moves)
    assert got["ae30: as-is speed-up over denormals kept (before)"].value > 0
    assert got["ae30 (before: denormals kept): largest relative change of a validation loss"].value < 1e-6
    assert got["median fit's fraction of peak (as is, 1 kinds)"].ok is not None
    assert len(list((tmp_path / "peak").glob("*.json"))) == 1
    # the sampler a fix replaced is fitted only where it runs: models with a replicated softmax
    assert not any("torch.multinomial" in r.measure for r in rows)
    cfg, _ = fits._config(ROOT, mirror, None)
    assert fits._has_rsm(cfg.models["text_ae10"]) and not fits._has_rsm(cfg.models["ae30"])


def test_compare_claims_puts_two_runs_verdicts_and_effects_side_by_side(tmp_path):
    from aebench_bench import compare_claims

    cols = ["id", "ours", "difference", "verdict"]
    pd.DataFrame([["E1.x", "a: 1 vs b: 2", "1 [0.5, 1.5] (n=3)", "PASS"],
                  ["E2.y", "c: 0.1 (n=3)", None, "PASS"]], columns=cols).to_csv(
        tmp_path / "a.csv", index=False)
    pd.DataFrame([["E1.x", "a: 1 vs b: 1.1", "0.1 [-0.4, 0.6] (n=3)", "INCONCLUSIVE"],
                  ["E3.z", "d", None, "FAIL"]], columns=cols).to_csv(tmp_path / "b.csv", index=False)
    t = compare_claims.compare(tmp_path / "a.csv", tmp_path / "b.csv", ("fp32", "bf16")).set_index("claim")
    assert list(t.index) == ["E1.x", "E2.y", "E3.z"]
    assert t.loc["E1.x", "bf16 verdict"] == "INCONCLUSIVE" and not t.loc["E1.x", "same verdict"]
    assert t.loc["E1.x", "fp32 effect"] == "1 [0.5, 1.5] (n=3)"
    assert t.loc["E2.y", "fp32 effect"] == "c: 0.1 (n=3)" and t.loc["E2.y", "bf16 verdict"] == "-"
