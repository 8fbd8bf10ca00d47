"""The progress log (aebench.progress): every training loop of a fit, pre-training layers
included (the replicated softmax one too), writes one JSON line per epoch from the same row
that becomes history.csv, with the stage around it; a fresh fit truncates it, a resumed one
appends."""

import json

import pandas as pd
import pytest

from aebench.datasets import save_prepared
from aebench.datasets.digits import prepare_digits
from aebench.datasets.toytext import prepare_toytext
from aebench.kinds import parse_model
from aebench.runs import fit_run

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py

RBM = {"epochs": 2, "batch_size": 50, "initial_momentum_epochs": 1}
STAGE_KEYS = {"time", "stage", "stage_index", "stages", "epochs"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    digits, _ = prepare_digits()
    text, _ = prepare_toytext(doc_len=15)
    save_prepared(d / "digits.npz", digits, 1 / 16, {})
    save_prepared(d / "text.npz", text, 1.0, {})
    return {"digits": d / "digits.npz", "text": d / "text.npz"}


def run(tmp_path, data, name, entry, dataset="digits", deps=None, **kw):
    spec = parse_model(name, entry, dataset, {})
    progress = tmp_path / "progress" / f"{name}.jsonl"
    out = tmp_path / "runs" / name
    fit_run(spec, data[dataset], 0, out, deps or {}, device="cpu", threads=1,
            log=kw.pop("log", lambda s: None), progress_path=progress,
            checkpoint_dir=tmp_path / "checkpoints" / name, **kw)
    return [json.loads(line) for line in progress.read_text().splitlines()], out


def stages_of(records):
    """(stage, stage_index, stages, epochs) in order of appearance, with the epochs seen."""
    seen = {}
    for r in records:
        seen.setdefault((r["stage"], r["stage_index"], r["stages"], r["epochs"]), []).append(
            r["epoch"])
    return seen


def assert_rows_are_history(records, history: pd.DataFrame):
    rows = pd.DataFrame([{k: v for k, v in r.items() if k not in STAGE_KEYS} for r in records])
    if "layer" in history:  # a stack's: the layer is the stage
        rows["layer"] = [r["stage_index"] for r in records]
    cols = [c for c in history.columns if c != "seconds"]
    pd.testing.assert_frame_equal(rows[cols], history[cols], check_exact=True)


def test_an_rbm_pretrained_document_ae_logs_every_layer_then_the_fine_tuning(tmp_path, data):
    """E4's shape: a replicated softmax bottom, a Bernoulli RBM, a linear top, fine-tuning."""
    entry = {"kind": "autoencoder",
             "params": {"hidden": [32, 16], "code_dim": 4, "activation": "sigmoid",
                        "output": "softmax", "count_input": True,
                        "pretrain": {"kind": "rbm", "params": {**RBM, "bottom": "softmax"}}},
             "train": {"loss": "softmax_ce", "epochs": 3, "batch_size": 32}}
    records, out = run(tmp_path, data, "doc", entry, dataset="text")
    assert stages_of(records) == {("rbm layer 1/3", 1, 4, 2): [1, 2],
                                  ("rbm layer 2/3", 2, 4, 2): [1, 2],
                                  ("rbm layer 3/3", 3, 4, 2): [1, 2],
                                  ("fine-tune", 4, 4, 3): [1, 2, 3]}
    assert all(STAGE_KEYS | {"train_loss", "val_loss", "seconds"} <= set(r) for r in records)
    assert all(isinstance(r["train_loss"], float) for r in records)
    assert [r["time"] for r in records] == sorted(r["time"] for r in records)
    assert_rows_are_history(records[6:], pd.read_csv(out / "history.csv"))


def test_a_stack_logs_its_ae_layers_and_a_classifier_its_fine_tuning(tmp_path, data):
    stack = {"kind": "stack", "params": {"init": {"kind": "ae", "params": {}}, "hidden": [16, 8],
                                         "pretrain": {"epochs": 2, "batch_size": 64}}}
    records, out = run(tmp_path, data, "s", stack)
    assert stages_of(records) == {("ae layer 1/2", 1, 2, 2): [1, 2],
                                  ("ae layer 2/2", 2, 2, 2): [1, 2]}
    assert_rows_are_history(records, pd.read_csv(out / "history.csv"))

    clf = {"kind": "classifier", "params": {"stack": "s", "budget": 100, "min_epoch_samples": 200},
           "train": {"epochs": 3, "batch_size": 32}}
    records, out = run(tmp_path, data, "c", clf, deps={"s": out})
    assert stages_of(records) == {("fine-tune", 1, 1, 3): [1, 2, 3]}
    assert_rows_are_history(records, pd.read_csv(out / "history.csv"))


def test_a_plain_conv_ae_is_one_stage(tmp_path, data):
    entry = {"kind": "autoencoder", "params": {"arch": "conv", "channels": [4, 4]},
             "train": {"epochs": 2, "batch_size": 64}}
    records, out = run(tmp_path, data, "conv", entry)
    assert stages_of(records) == {("train", 1, 1, 2): [1, 2]}
    assert_rows_are_history(records, pd.read_csv(out / "history.csv"))


def test_a_fresh_fit_truncates_the_log_and_a_resumed_one_appends(tmp_path, data):
    class Killed(Exception):
        pass

    def dying_log(s):
        if "epoch    3/" in s:
            raise Killed  # after epoch 2's checkpoint, before epoch 3's record

    entry = {"kind": "autoencoder", "params": {"hidden": [16], "code_dim": 4},
             "train": {"epochs": 4, "batch_size": 64}}
    with pytest.raises(Killed):
        run(tmp_path, data, "ae", entry, log=dying_log, checkpoint_interval=0)
    lines = []
    records, _ = run(tmp_path, data, "ae", entry, checkpoint_interval=0, log=lines.append)
    assert any("resuming from epoch 2" in s for s in lines), lines
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]  # 1, 2 from the first attempt
    records, out = run(tmp_path, data, "ae", entry)  # afresh: its checkpoints are gone
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert_rows_are_history(records, pd.read_csv(out / "history.csv"))
