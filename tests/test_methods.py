import json

import numpy as np
import pytest
import torch

from aebench import nets
from aebench.datasets.toytext import prepare_toytext
from aebench.kinds import load_run, make, parse_model
from aebench.train import set_determinism


@pytest.fixture(scope="module")
def toytext():
    p, _ = prepare_toytext()
    return p


def test_toytext_is_small_and_separable(toytext):
    from aebench.metrics import knn_accuracy

    assert toytext.x_train.shape == (400, 200) and len(toytext.classes) == 4
    freq = lambda x: x / x.sum(1, keepdims=True)  # noqa: E731
    acc = knn_accuracy(freq(toytext.x_train), toytext.y_train, freq(toytext.x_test), toytext.y_test)
    assert acc > 0.6  # well above the 0.25 of chance


def test_lsa_codes_and_weighting(toytext):
    for weighting in ("tfidf", "log"):
        m = make({"kind": "lsa", "params": {"n_components": 5, "weighting": weighting}},
                 dataset="toytext")
        m.fit(toytext, 0, {}, log=lambda s: None)
        assert m.encode(toytext.x_test).shape == (200, 5)
    with pytest.raises(ValueError, match="weighting"):
        parse_model("bad", {"kind": "lsa", "params": {"n_components": 2, "weighting": "bm25"}},
                    "toytext", {})


def test_identity_is_the_input(toytext):
    m = make({"kind": "identity", "params": {"input": "doc_normalize"}}, dataset="toytext")
    z = m.encode(toytext.x_test)
    np.testing.assert_allclose(z.sum(1), 1.0, rtol=1e-5)  # word frequencies
    with pytest.raises(ValueError, match="unknown param"):
        parse_model("px", {"kind": "identity", "params": {"n_components": 2}}, "toytext", {})


def test_document_autoencoder_trains_and_reloads(toytext, tmp_path):
    set_determinism(0, 1)
    m = make({"kind": "autoencoder",
              "params": {"input": "doc_normalize", "hidden": [16], "code_dim": 4,
                         "output": "softmax"},
              "train": {"loss": "softmax_ce", "epochs": 15, "lr": 3e-3, "batch_size": 50}},
             dataset="toytext")
    h = m.fit(toytext, 0, {}, log=lambda s: None, device="cpu")
    assert h[-1]["val_loss"] < h[0]["val_loss"]
    out = m.reconstruct(toytext.x_test[:3])
    np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-4)  # a distribution over words
    m.save(tmp_path)
    assert (tmp_path / "model.pt").exists()
    # what aebench.runs.fit_run records beside the model file: load_run rebuilds from its spec
    (tmp_path / "run.json").write_text(json.dumps({"kind": "autoencoder", "seed": 0,
                                                   "dataset": "toytext",
                                                   "spec": m.spec.to_dict()}))
    again = load_run(tmp_path)
    assert again.spec.input == "doc_normalize"
    np.testing.assert_array_equal(again.encode(toytext.x_test), m.encode(toytext.x_test))


def test_code_noise_only_while_training():
    torch.manual_seed(0)
    ae = nets.build("mlp", 10, hidden=[8], code_dim=4, code_activation="sigmoid", code_noise=4.0)
    x = torch.rand(6, 10)
    ae.eval()
    torch.testing.assert_close(ae.encode(x), ae.encode(x))  # deterministic at test time
    ae.train()
    assert not torch.equal(ae.encode(x), ae.encode(x))


def test_fit_run_writes_a_run_that_load_run_rebuilds(toytext, tmp_path):
    """aebench.runs.fit_run (the old fitting.fit_model): one writer for every kind."""
    from aebench.datasets import save_prepared
    from aebench.runs import fit_run

    data_path = tmp_path / "toytext.npz"
    save_prepared(data_path, toytext, 1.0, {})
    for name, entry in {"lsa5": {"kind": "lsa", "params": {"n_components": 5}},
                        "dae": {"kind": "autoencoder",
                                "params": {"input": "doc_normalize", "hidden": [16], "code_dim": 4,
                                           "output": "softmax"},
                                "train": {"loss": "softmax_ce", "epochs": 2, "batch_size": 50}}}.items():
        spec = parse_model(name, entry, "toytext", {})
        out = tmp_path / name
        metrics = fit_run(spec, data_path, 0, out, {}, device="cpu", log=lambda s: None)
        assert {f.name for f in out.iterdir()} == {
            "run.json", "metrics.json", "history.csv", "codes.npz",
            *(("model.pt", "cost.json") if entry["kind"] == "autoencoder" else ("model.joblib",))}
        assert json.loads((out / "metrics.json").read_text()) == metrics
        assert metrics["model"] == name and metrics["kind"] == entry["kind"]
        assert metrics["epochs"] == (2 if entry["kind"] == "autoencoder" else 0)
        back = load_run(out)
        assert back.spec == spec
        with np.load(out / "codes.npz") as z:
            np.testing.assert_array_equal(back.encode(toytext.x_test), z["z_test"])
