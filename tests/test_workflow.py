"""The whole DAG through Snakemake on the smoke preset, in a temporary copy of the repo."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from _workflow import SMOKE, snakemake

# `smoke_run` (conftest.py): the smoke preset run once per session in a copy of the repo.


@pytest.fixture(scope="module")
def report_html(smoke_run):
    """`snakemake --report` of the smoke run, built once; each experiment's test checks its
    own categories and files in it."""
    snakemake(smoke_run, *SMOKE, "--report", "report.html")
    return (smoke_run / "report.html").read_text(errors="replace")


def assert_in_report(html: str, names) -> None:
    missing = [n for n in names if n not in html]
    assert not missing, f"not in the report: {missing}"


def test_smoke_run_produces_every_table_and_figure(smoke_run):
    res = smoke_run / "results"
    for exp in ("e1", "e2", "e3", "e4", "e5"):
        long = pd.read_csv(res / exp / "metrics.csv")
        assert set(long.seed) == {0, 1} and long.value.notna().all()
        assert (res / exp / "table.md").read_text().startswith("| model")
    for png in ["e1/reconstructions.png", "e2/principal_angles.png", "e3/codes_2d.png",
                "e4/precision_recall.png", "e4/codes_2d.png", "e5/top_hits.png",
                "figures/learning_curves.png"]:
        assert (res / png).read_bytes()[:4] == b"\x89PNG"
    claims = pd.read_csv(res / "tables" / "claims.csv")
    assert len(claims) >= 12 and claims.verdict.str.startswith("n/a (anchor is for").all()
    manifest = json.loads((res / "data" / "digits.json").read_text())
    assert manifest["n"] == {"train": 1200, "val": 200, "test": 397}
    # every job left a log; training logs show epochs and losses
    log = (res / "logs" / "models" / "ae30" / "seed0.log").read_text()
    assert "epoch    1/30" in log and "val" in log


def test_rerun_is_a_no_op(smoke_run):
    r = snakemake(smoke_run, *SMOKE, "-n")
    assert "Nothing to be done" in r.stdout + r.stderr


def test_same_seed_same_numbers_across_runs(smoke_run, tmp_path):
    """Deleting a model and re-running it reproduces its metrics exactly."""
    d = Path("results/models/autoencoders/ae2/seed1")
    before = json.loads((smoke_run / d / "metrics.json").read_text())
    shutil.rmtree(smoke_run / d)
    snakemake(smoke_run, str(d / "metrics.json"), *SMOKE)  # targets first: --configfile takes several values
    after = json.loads((smoke_run / d / "metrics.json").read_text())
    for k in ("test_sq_err_per_image", "val_sq_err_per_image", "epochs"):
        assert after[k] == before[k]


def test_report_holds_every_figure(report_html):
    assert_in_report(report_html, [
        "reconstructions.png", "principal_angles.png", "codes_2d.png", "claims.csv",
        "learning_curves.png", "E1 PCA vs deep AE", "E3 2-D codes", "top_hits.png",
        "E4 text retrieval", "E5 image retrieval"])


def test_lint_is_clean(smoke_run):
    r = snakemake(smoke_run, "--lint", check=False)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "Lints for" not in out, out[-3000:]


def test_diverging_training_fails_clearly_and_leaves_no_output(smoke_run):
    target = "results/models/autoencoders/linear_tied/seed0/metrics.json"
    shutil.rmtree(smoke_run / "results/models/autoencoders/linear_tied/seed0")
    bad = smoke_run / "diverge.yaml"
    bad.write_text(yaml.safe_dump({"models": {"linear_tied": {"train": {"lr": 1e12}}}}))
    r = snakemake(smoke_run, target, *SMOKE, str(bad), check=False)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "aebench: DivergenceError: [linear_tied seed 0] training diverged" in out
    assert not (smoke_run / target).exists()
    assert not (smoke_run / "results/models/autoencoders/linear_tied/seed0/model.pt").exists()
    # put the model back: the smoke run is shared by the tests that follow
    snakemake(smoke_run, target, *SMOKE)
    assert (smoke_run / target).exists()


def test_e7_variants_in_smoke_outputs(smoke_run, report_html):
    res = smoke_run / "results"
    long = pd.read_csv(res / "e7" / "metrics.csv")
    models = {"ae_plain", "ae_sparse", "dae_gauss", "dae_mask", "cae"}
    assert set(long.model) == models and set(long.seed) == {0, 1} and long.value.notna().all()
    for metric in ("sq_err_per_image", "noisy_err_gaussian0.6", "noisy_err_mask0.6",
                   "jacobian_fro", "code_sparsity", "probe_accuracy"):
        assert set(long[long.metric == metric].model) == models, metric
    # one size for every variant
    assert long[long.metric == "n_params"].value.nunique() == 1
    assert (res / "e7" / "denoising.png").read_bytes()[:4] == b"\x89PNG"
    assert "| ae_plain" in (res / "e7" / "table.md").read_text()
    claims = pd.read_csv(res / "tables" / "claims.csv")
    assert {"E7.dae_gauss_denoises", "E7.dae_mask_denoises", "E7.cae_contracts",
            "E7.sparse_codes"} <= set(claims.id)
    assert_in_report(report_html, ["E7 AE variants", "denoising.png"])


def test_smoke_run_has_e9_conv_decoders_and_e10_generator(smoke_run, report_html):
    res = smoke_run / "results"
    e9 = pd.read_csv(res / "e9" / "metrics.csv").pivot_table(index=["model", "seed"],
                                                            columns="metric", values="value")
    models = {m for m, _ in e9.index}
    assert models == {"conv_unpool", "conv_upsample", "conv_transposed"}
    assert e9["n_params"].nunique() == 1  # one kernel per stage, whichever decoder
    assert (e9["sq_err_per_image"] > 0).all() and (e9["sq_err_per_image"] < 64).all()
    assert (e9.loc["conv_transposed", "deconv_as_conv_max_err"] < 1e-4).all()
    e10 = pd.read_csv(res / "e10" / "metrics.csv")
    shares = e10[e10.metric.str.startswith("confident_share@")]
    assert set(shares.model) == {"classifier", "ae2", "ae2_l2"}
    assert shares.value.between(0, 1).all()
    assert {"confident_share@1x", "confident_share@1.5x"} <= set(shares.metric)
    assert (res / "classifiers" / "digits" / "logreg.joblib").exists()
    for png in ["e9/reconstructions.png", "e10/grids.png"]:
        assert (res / png).read_bytes()[:4] == b"\x89PNG"
    claims = pd.read_csv(res / "tables" / "claims.csv")
    assert {"E9.deconv_is_conv", "E9.unpool_vs_upsample", "E10.l2_wider_grid"} <= set(claims.id)
    assert_in_report(report_html, ["E9 conv AE", "E10 generator", "grids.png", "max probability"])


def test_smoke_run_has_e6_pretraining_and_e8_rbm(smoke_run, report_html):
    res = smoke_run / "results"
    e6 = pd.read_csv(res / "e6" / "metrics.csv")
    inits = {"random", "sae", "sdae", "dbn"}
    assert set(e6.model) == inits and set(e6.seed) == {0, 1} and e6.value.notna().all()
    for b in ("50", "200", "all"):  # the smoke budgets; all = the 1200 training images
        err = e6[e6.metric == f"test_error_pct@{b}"]
        assert set(err.model) == inits and err.value.between(0, 100).all()
        assert set(e6[e6.metric == f"gain_pct@{b}"].model) == inits - {"random"}
    # every budget reused one cached pre-training per (init, seed); logs show epochs and losses
    for init in inits:
        for seed in (0, 1):
            assert (res / "e6" / "pretrain" / init / f"seed{seed}" / "stack.pt").exists()
    assert "[rbm layer 3] epoch" in (res / "logs/e6/pretrain/dbn/seed0.log").read_text()
    assert "[ae layer 1] epoch    1/5" in (res / "logs/e6/pretrain/sae/seed0.log").read_text()
    log = (res / "logs/e6/finetune/sdae/n50/seed1.log").read_text()
    assert "50 labelled train images" in log and "val" in log
    info = json.loads((res / "e6/finetune/dbn/n200/seed0/metrics.json").read_text())
    assert info["n_labels"] == 200 and info["n_val_labels"] == 200
    e8 = pd.read_csv(res / "e8" / "metrics.csv")
    assert set(e8.model) == inits | {"pixels"} and e8.value.between(0, 1).all()
    for png in ["e6/error_vs_budget.png", "e8/filters.png"]:
        assert (res / png).read_bytes()[:4] == b"\x89PNG"
    claims = pd.read_csv(res / "tables" / "claims.csv")
    assert {"E6.dbn_vs_random", "E6.dbn_gain_few_labels", "E8.rbm_features"} <= set(claims.id)
    assert_in_report(report_html, ["E6 pre-training", "E8 RBM and DBN", "error_vs_budget.png",
                                   "filters.png"])
