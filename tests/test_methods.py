import numpy as np
import pytest
import torch

from aebench import models
from aebench.data import prepare_toytext
from aebench.methods import check_model_config, load_method, make_method
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
        m = make_method("lsa", {"n_components": 5, "weighting": weighting})
        m.fit(toytext, seed=0, log=lambda s: None)
        assert m.encode(toytext.x_test).shape == (200, 5)
    with pytest.raises(ValueError, match="weighting"):
        check_model_config("bad", {"kind": "lsa", "params": {"n_components": 2, "weighting": "bm25"}})


def test_identity_is_the_input(toytext):
    m = make_method("identity", {"input": "doc_normalize"})
    z = m.encode(toytext.x_test)
    np.testing.assert_allclose(z.sum(1), 1.0, rtol=1e-5)  # word frequencies
    with pytest.raises(ValueError, match="unknown param"):
        check_model_config("px", {"kind": "identity", "params": {"n_components": 2}})


def test_document_autoencoder_trains_and_reloads(toytext, tmp_path):
    set_determinism(0, 1)
    m = make_method("autoencoder", {"input": "doc_normalize", "hidden": [16], "code_dim": 4,
                                    "output": "softmax"},
                    {"loss": "softmax_ce", "epochs": 15, "lr": 3e-3, "batch_size": 50})
    h = m.fit(toytext, seed=0, log=lambda s: None, device="cpu")
    assert h[-1]["val_loss"] < h[0]["val_loss"]
    out = m.reconstruct(toytext.x_test[:3])
    np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-4)  # a distribution over words
    m.save(tmp_path / "model.pt")
    (tmp_path / "metrics.json").write_text('{"kind": "autoencoder"}')
    again = load_method(tmp_path)
    np.testing.assert_array_equal(again.encode(toytext.x_test), m.encode(toytext.x_test))


def test_code_noise_only_while_training():
    torch.manual_seed(0)
    ae = models.build("mlp", 10, hidden=[8], code_dim=4, code_activation="sigmoid", code_noise=4.0)
    x = torch.rand(6, 10)
    ae.eval()
    torch.testing.assert_close(ae.encode(x), ae.encode(x))  # deterministic at test time
    ae.train()
    assert not torch.equal(ae.encode(x), ae.encode(x))
