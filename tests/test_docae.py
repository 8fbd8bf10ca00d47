"""E4's document autoencoder (Hinton & Salakhutdinov, Science 2006): a stack pre-trained with a
replicated softmax RBM on word counts at the bottom, Bernoulli RBMs above it and a linear
top, unrolled into a count-input MLP with a softmax output and fine-tuned by the
cross-entropy against each document's word distribution. On the synthetic toytext corpus
(seconds)."""

import numpy as np
import pytest
import torch
import yaml

from aebench import pretrain
from aebench.datasets.toytext import prepare_toytext
from aebench.kinds import make, parse_model
from aebench.nets import build
from aebench.rbm import ReplicatedSoftmaxRBM
from aebench.spec import InitSpec, RBMConfig
from aebench.train import reconstruction_loss, set_determinism

from test_config import ROOT, base
from test_resume import assert_same, attempt

QUIET = dict(log=lambda s: None)
DIMS = [200, 32, 16, 4]
# 400 documents of ~60 words: 20 updates an epoch at batch 20
RBM = {"bottom": "softmax", "epochs": 8, "batch_size": 20, "lr": 0.1, "lr_softmax": 0.3,
       "lr_linear": 1e-2, "initial_momentum_epochs": 1}


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


@pytest.fixture(scope="module")
def corpus():
    # 4 topics over 200 words, 400 / 100 / 200 documents of ~15 words: short enough that the
    # topics are not obvious (at the default ~60 words even random first-layer weights
    # separate them, 0.995 nearest-centroid accuracy)
    p, _ = prepare_toytext(doc_len=15)
    return p


def rbm_init(params=None) -> InitSpec:
    return InitSpec.parse({"kind": "rbm", "params": {**RBM, **(params or {})}}, "init",
                          pretrain.INITS, rbm_defaults={"linear_top": True})


@pytest.fixture(scope="module")
def stack(corpus):
    set_determinism(0, threads=1)
    return pretrain.pretrain(rbm_init(), corpus.x_train, corpus.x_val, DIMS, None, seed=0,
                             device="cpu", **QUIET)


def doc_net(**kw):
    return build("mlp", 200, **{"hidden": [32, 16], "code_dim": 4, "activation": "sigmoid",
                                "output": "softmax", "count_input": True, **kw})


def centroid_accuracy(c_train, y_train, c_test, y_test):
    c_train, c_test = torch.as_tensor(c_train), torch.as_tensor(c_test)
    y_train, y_test = torch.as_tensor(y_train), torch.as_tensor(y_test)
    cents = torch.stack([c_train[y_train == t].mean(0) for t in range(int(y_train.max()) + 1)])
    return (torch.cdist(c_test, cents).argmin(1) == y_test).float().mean().item()


# --------------------------------------------------------------------------- the stack


def test_the_stack_is_a_replicated_softmax_under_bernoulli_rbms_with_a_linear_top(stack, corpus):
    assert stack.count_input and stack.linear_top and stack.dims == DIMS
    layers = {row["layer"]: row["lr"] for row in stack.info["history"]}
    assert layers == {1: 0.3, 2: 0.1, 3: 1e-2}  # lr_softmax, lr, lr_linear
    x = torch.as_tensor(corpus.x_test)
    d = x.sum(1, keepdim=True)
    w, b = stack.weights, stack.biases
    h1 = torch.sigmoid(x @ w[0].t() + d * b[0])  # the RSM's p(h|v): the bias once per word
    rsm = ReplicatedSoftmaxRBM(200, 32)
    rsm.weight.copy_(w[0]), rsm.h_bias.copy_(b[0])
    assert torch.allclose(h1, rsm.hidden_prob(x), atol=1e-6)
    assert not torch.allclose(h1, torch.sigmoid(x @ w[0].t() + b[0]), atol=1e-3)  # D matters
    assert torch.allclose(stack.codes(x, 1), h1, atol=1e-6)
    h2 = torch.sigmoid(h1 @ w[1].t() + b[1])
    assert torch.allclose(stack.codes(x, 2), h2, atol=1e-6)
    top = stack.codes(x)
    assert torch.allclose(top, h2 @ w[2].t() + b[2], atol=1e-5)  # linear: no sigmoid
    assert (top < 0).any() or (top > 1).any()


def test_each_layer_learns_from_the_d_scaled_codes_below(corpus, monkeypatch):
    """greedy_stack hands layer 2 the RSM's hidden probabilities sigmoid(W v + D a), and layer
    1 the counts themselves (a replicated softmax RBM)."""
    from aebench import rbm as rbm_mod

    seen, real = [], rbm_mod.train_rbm

    def spy(v, *a, **kw):
        seen.append((v.clone(), kw["visible"], kw["linear_hidden"]))
        return real(v, *a, **kw)

    monkeypatch.setattr(rbm_mod, "train_rbm", spy)
    set_determinism(0, threads=1)
    s = pretrain.pretrain(rbm_init({"epochs": 2}), corpus.x_train, corpus.x_val, DIMS, None,
                          seed=0, device="cpu", **QUIET)
    assert [(vis, lin) for _, vis, lin in seen] == [("softmax", False), ("bernoulli", False),
                                                    ("bernoulli", True)]
    assert torch.equal(seen[0][0], torch.as_tensor(corpus.x_train))
    for k in (1, 2):
        assert torch.allclose(seen[k][0], s.codes(corpus.x_train, k), atol=1e-6)


def test_a_softmax_stack_separates_the_topics_better_than_untrained(stack, corpus):
    """Nearest-centroid accuracy of the test documents' codes, against the same stack left at
    its initial weights (rates ~0): the first layer's random projection of the counts already
    separates the topics fairly well (0.875 measured; trained 0.955), the layers above it
    do so only when trained (4-D top: 0.485 untrained, 0.895 trained)."""
    set_determinism(0, threads=1)
    frozen = pretrain.pretrain(rbm_init({"epochs": 1, "lr": 1e-12, "lr_softmax": 1e-12,
                                         "lr_linear": 1e-12}),
                               corpus.x_train, corpus.x_val, DIMS, None, seed=0, device="cpu",
                               **QUIET)
    acc = {name: [centroid_accuracy(s.codes(corpus.x_train, upto), corpus.y_train,
                                    s.codes(corpus.x_test, upto), corpus.y_test)
                  for upto in (1, 2, None)]
           for name, s in (("trained", stack), ("untrained", frozen))}
    assert acc["trained"][0] >= 0.9 and acc["trained"][0] > acc["untrained"][0], acc
    for k in (1, 2):
        assert acc["trained"][k] >= 0.8 and acc["trained"][k] > acc["untrained"][k] + 0.2, acc
    # and the RSM's held-out reconstruction beats the unigram model it starts from
    first = [r for r in stack.info["history"] if r["layer"] == 1]
    assert first[-1]["val_loss"] < first[0]["val_loss"] - 0.05


def test_a_softmax_bottom_needs_word_counts(corpus):
    with pytest.raises(ValueError, match="word counts"):
        pretrain.pretrain(rbm_init({"epochs": 1}), corpus.x_train / 7.0, corpus.x_val, DIMS,
                          None, seed=0, device="cpu", **QUIET)
    with pytest.raises(ValueError, match="bottom"):
        RBMConfig(bottom="gaussian")
    with pytest.raises(ValueError, match="lr_softmax"):
        RBMConfig(lr_softmax=0)


# --------------------------------------------------------------------------- unrolling


def test_unrolled_encoder_is_the_stacks_codes_and_decoder_the_rsm_run_downwards(stack, corpus):
    net = doc_net()
    pretrain.unroll(stack, net)
    net.eval()
    x = torch.as_tensor(corpus.x_test)
    with torch.no_grad():
        z = net.encode(x)
        assert torch.allclose(z, stack.codes(x), atol=1e-5)
        # count input: the first layer's bias is scaled by D, so the encoder is not a function
        # of the word frequencies alone (a document twice as long has other codes)
        assert not torch.allclose(net.encode(2 * x), z, atol=1e-3)
        out = net(x)
        h = z
        for w, vb in zip(stack.weights[:0:-1], stack.visible_biases[:0:-1]):
            h = torch.sigmoid(h @ w + vb)  # the Bernoulli RBMs' p(v|h)
        rsm = ReplicatedSoftmaxRBM(200, 32)
        rsm.weight.copy_(stack.weights[0]), rsm.v_bias.copy_(stack.visible_biases[0])
        assert torch.allclose(out, rsm.visible_prob(h), atol=1e-6)  # softmax(W^T h + b)
        assert torch.allclose(out.sum(1), torch.ones(len(x)), atol=1e-5) and (out > 0).all()


def test_unrolling_checks_the_bottom_and_the_top(stack, corpus):
    with pytest.raises(ValueError, match="count_input"):
        pretrain.unroll(stack, doc_net(count_input=False))
    with pytest.raises(ValueError, match="linear top"):
        pretrain.unroll(stack, doc_net(code_activation="sigmoid"))
    bernoulli = pretrain.pretrain(
        InitSpec.parse({"kind": "rbm", "params": {"epochs": 1}}, "init", pretrain.INITS),
        corpus.x_train / corpus.x_train.max(), corpus.x_val / corpus.x_train.max(), DIMS, None,
        seed=0, device="cpu", **QUIET)
    assert not bernoulli.count_input
    with pytest.raises(ValueError, match="count_input"):
        pretrain.unroll(bernoulli, doc_net(code_activation="sigmoid"))


def test_count_input_scales_the_first_bias_by_the_document_length():
    """One sigmoid layer: sigmoid(W x + D b) with count_input, sigmoid(W x + b) without; an
    empty document gets no bias at all. Deeper layers are plain (the 2-layer net's encoder
    is the first layer's output through an ordinary second layer)."""
    torch.manual_seed(0)
    x = torch.tensor([[3.0] + [0] * 199, [0.0] * 200, [1.0] * 200, [0.0] * 199 + [7.0]])
    d = x.sum(1, keepdim=True)
    for hidden in ([], [32]):
        net = doc_net(hidden=hidden, code_activation="sigmoid")
        plain = doc_net(hidden=hidden, code_activation="sigmoid", count_input=False)
        plain.load_state_dict(net.state_dict())
        w, b = net.enc[0].weight, net.enc[0].bias
        with torch.no_grad():
            h = torch.sigmoid(x @ w.t() + d * b)
            if hidden:
                h = torch.sigmoid(net.enc[1](h))
            assert torch.allclose(net.encode(x), h, atol=1e-6)
            assert not torch.allclose(net.encode(x), plain.encode(x), atol=1e-4)
            one_word = torch.zeros(1, 200)
            one_word[0, 5] = 1.0
            assert torch.allclose(net.encode(one_word), plain.encode(one_word))  # D = 1
    net = doc_net(hidden=[], code_activation="sigmoid")
    with torch.no_grad():
        assert torch.allclose(net.encode(x[[1]]), torch.full((1, 4), 0.5))  # D = 0: no bias
        w, b = net.enc[0].weight, net.enc[0].bias
        assert torch.allclose(net.encode(x[[2]]), torch.sigmoid(x[[2]] @ w.t() + 200 * b))


# --------------------------------------------------------------------------- fine-tuning


def test_softmax_ce_on_counts_is_the_cross_entropy_of_each_documents_word_distribution():
    g = torch.Generator().manual_seed(0)
    v = torch.randint(0, 5, (6, 10), generator=g).float()
    v[2] = 0  # an empty document scores 0
    v[3, 0] = 1000  # a long one weighs as much as any other
    p = torch.softmax(torch.randn(6, 10, generator=g), 1)
    f = v / v.sum(1, keepdim=True).clamp_min(1)
    per_doc = -(v * torch.log(p)).sum(1) / v.sum(1).clamp_min(1)  # -sum v log p / D
    assert reconstruction_loss(p, v, "softmax_ce").item() == pytest.approx(per_doc.mean().item(), rel=1e-5)
    assert reconstruction_loss(p, f, "softmax_ce").item() == pytest.approx(per_doc.mean().item(), rel=1e-5)
    assert reconstruction_loss(p[2:3], v[2:3], "softmax_ce").item() == 0.0
    # the minimum over output distributions is each document's own word distribution
    assert reconstruction_loss(f[[0, 1, 4, 5]], v[[0, 1, 4, 5]], "softmax_ce") < \
        reconstruction_loss(p[[0, 1, 4, 5]], v[[0, 1, 4, 5]], "softmax_ce")


def doc_ae_entry(pretrained=True, epochs=6, **train_kw):
    params = {"hidden": [32, 16], "code_dim": 4, "activation": "sigmoid", "output": "softmax",
              "count_input": True}
    if pretrained:
        params["pretrain"] = {"kind": "rbm", "params": dict(RBM)}
    return {"kind": "autoencoder", "dataset": "text", "params": params,
            "train": {"loss": "softmax_ce", "epochs": epochs, "batch_size": 32, "lr": 3e-3,
                      **train_kw}}


def fit_model(corpus, entry, seed=0):
    set_determinism(seed, threads=1)
    m = make(entry, dataset="toytext")
    hist = m.fit(corpus, seed, {}, device="cpu", **QUIET)
    return m, hist


def test_fine_tuning_starts_from_the_unrolled_stack_and_stops_on_the_validation_loss(
        corpus, unroll_spy):
    stacks, starts = unroll_spy
    # lr 0.05: the validation loss bottoms out early and early stopping restores that epoch
    m, hist = fit_model(corpus, doc_ae_entry(epochs=40, lr=0.05, patience=3, lr_decay=1.0))
    start, stack = starts[0], stacks[0]
    assert stack.count_input and torch.equal(start["enc.0.weight"], stack.weights[0])
    assert torch.equal(start["enc.0.bias"], stack.biases[0])
    assert torch.equal(start["dec.2.weight"], stack.weights[0].t())
    assert torch.equal(start["dec.2.bias"], stack.visible_biases[0])
    net = doc_net()
    net.load_state_dict(start)
    x = torch.as_tensor(corpus.x_val)
    with torch.no_grad():
        loss_start = reconstruction_loss(net(x), x, "softmax_ce").item()
        loss_end = reconstruction_loss(m.net(x), x, "softmax_ce").item()
    best = min(hist, key=lambda r: r["val_loss"])
    assert len(hist) < 40 and len(hist) == best["epoch"] + 3  # stopped, patience 3
    assert loss_end == pytest.approx(best["val_loss"], rel=1e-5)  # the best epoch is kept
    assert loss_end < loss_start
    assert np.allclose(m.reconstruct(corpus.x_test[:5]).sum(1), 1, atol=1e-5)


def test_a_fitted_document_ae_survives_save_and_load(corpus, tmp_path):
    from aebench.kinds.autoencoder import Autoencoder

    m, _ = fit_model(corpus, doc_ae_entry(epochs=1))
    m.save(tmp_path)
    again = Autoencoder.load(tmp_path, m.spec)
    assert again.net.spec.count_input
    assert np.array_equal(again.encode(corpus.x_test), m.encode(corpus.x_test))
    assert np.array_equal(again.reconstruct(corpus.x_test), m.reconstruct(corpus.x_test))


def test_pretrained_and_scratch_document_aes_are_deterministic(corpus):
    for pretrained in (True, False):
        entry = doc_ae_entry(pretrained, epochs=2)
        a, ha = fit_model(corpus, entry)
        b, hb = fit_model(corpus, entry)
        c, _ = fit_model(corpus, entry, seed=1)
        for k, v in a.net.state_dict().items():
            assert torch.equal(v, b.net.state_dict()[k]), k
        assert [r["val_loss"] for r in ha] == [r["val_loss"] for r in hb]
        assert not torch.equal(a.net.enc[0].weight, c.net.enc[0].weight)


# --------------------------------------------------------------------------- config


def test_config_accepts_the_document_ae_and_its_scratch_control():
    cfg = base()
    models = cfg["models"]
    for name in ("text_ae2", "text_ae10"):
        spec = parse_model(name, models[name], "20news", cfg["training"])
        assert spec.input == "raw" and spec.arch_params["count_input"]
        assert spec.arch_params["output"] == "softmax" and spec.train.loss == "softmax_ce"
        assert spec.init.kind == "rbm" and spec.init.rbm.bottom == "softmax"
        assert spec.init.rbm.linear_top  # the linear code layer's RBM
        assert spec.arch_params["hidden"] == [500, 250, 125]
    ae10 = parse_model("text_ae10", models["text_ae10"], "20news", cfg["training"])
    scratch = parse_model("text_ae10_scratch", models["text_ae10_scratch"], "20news",
                          cfg["training"])
    assert scratch.init is None
    assert scratch.arch_params == ae10.arch_params and scratch.train == ae10.train
    assert scratch.input == ae10.input


@pytest.mark.parametrize("change,message", [
    ({"input": "doc_normalize"}, "needs count input"),
    ({"count_input": False}, "needs count input"),
    ({"output": "sigmoid"}, "needs output: softmax"),
])
def test_config_rejects_a_softmax_bottom_without_counts_in_or_a_softmax_out(change, message):
    entry = doc_ae_entry()
    entry["params"].update(change)
    with pytest.raises(ValueError, match=message):
        parse_model("m", entry, "toytext", {})


def test_config_rejects_count_input_on_frequencies_or_under_another_stack():
    entry = doc_ae_entry(pretrained=False)
    entry["params"]["input"] = "doc_normalize"
    with pytest.raises(ValueError, match="count_input: true .* needs input: raw"):
        parse_model("m", entry, "toytext", {})
    for pre in ({"kind": "rbm", "params": {"epochs": 1}}, {"kind": "ae"}, {"kind": "random"}):
        entry = doc_ae_entry(pretrained=False)
        entry["params"]["pretrain"] = pre
        with pytest.raises(ValueError, match="needs a count-input stack"):
            parse_model("m", entry, "toytext", {})
    entry = doc_ae_entry()
    entry["params"]["pretrain"]["params"]["bottom"] = "poisson"
    with pytest.raises(ValueError, match="bottom"):
        parse_model("m", entry, "toytext", {})


def test_presets_keep_the_document_aes_small():
    from snakemake.utils import update_config

    for preset, widest, epochs in (("smoke", 64, 5), ("quick", 500, 20)):
        cfg = base()
        update_config(cfg, yaml.safe_load(
            (ROOT / "workflow" / "presets" / f"{preset}.yaml").read_text()))
        for name in ("text_ae2", "text_ae10", "text_ae10_scratch"):
            spec = parse_model(name, cfg["models"][name], cfg["text_dataset"], cfg["training"])
            assert max(spec.arch_params["hidden"]) <= widest, (preset, name)
            assert spec.init is None or spec.init.rbm.epochs <= epochs, (preset, name)


# --------------------------------------------------------------------------- resuming


def test_a_document_ae_stopped_in_its_rsm_and_in_fine_tuning_resumes_bit_identical(
        corpus, monkeypatch, tmp_path):
    entry = doc_ae_entry(epochs=4)
    entry["params"]["pretrain"]["params"].update(epochs=3, batch_size=50)  # 8 batches an epoch

    def job(checkpoint, log):
        set_determinism(0, threads=1)
        m = make(entry, dataset="toytext")
        kw = {"checkpoint": checkpoint} if checkpoint is not None else {}
        hist = m.fit(corpus, 0, {}, device="cpu", log=log, **kw)
        return {k: v.clone() for k, v in m.net.state_dict().items()}, hist

    plain = job(None, lambda s: None)
    ck_dir = tmp_path / "ck"
    # mid epoch 2 of the replicated softmax layer (its multinomial draws continue from the
    # saved generator); then in the second Bernoulli layer; then mid fine-tuning
    for kill in (("pretrain/layer1", 12), ("pretrain/layer3", 5), ("fit", 20)):
        result, lines = attempt(monkeypatch, job, ck_dir, kill=kill)
        assert result is None, f"not stopped at {kill}"
    result, lines = attempt(monkeypatch, job, ck_dir)
    assert any("resuming" in s for s in lines), lines
    assert_same(result, plain)


def test_a_softmax_bottom_stack_model_resumes_bit_identical(corpus, monkeypatch, tmp_path):
    """The E6 ``stack`` kind with a word-count RBM at the bottom: the saved stack keeps its
    D-scaled bottom layer."""
    entry = {"kind": "stack", "params": {"init": {"kind": "rbm", "params": {
        "bottom": "softmax", "epochs": 2, "batch_size": 50, "initial_momentum_epochs": 1}},
        "hidden": [32, 16]}}

    def job(checkpoint, log):
        set_determinism(0, threads=1)
        m = make(entry, dataset="toytext")
        kw = {"checkpoint": checkpoint} if checkpoint is not None else {}
        hist = m.fit(corpus, 0, {}, device="cpu", log=log, **kw)
        s = m.stack
        assert s.count_input and not s.linear_top
        return {f"{what}{k}": t for what, ts in (("w", s.weights), ("b", s.biases),
                                                 ("vb", s.visible_biases))
                for k, t in enumerate(ts)}, hist

    plain = job(None, lambda s: None)
    for kill in (("stack/layer1", 10), ("stack/layer2", 4)):
        result, _ = attempt(monkeypatch, job, tmp_path / "ck", kill=kill)
        assert result is None
    result, lines = attempt(monkeypatch, job, tmp_path / "ck")
    assert any("resuming the stack after layer 1/2" in s for s in lines), lines
    assert_same(result, plain)


def test_a_saved_stack_keeps_its_bottom_and_top(stack, tmp_path):
    stack.save(tmp_path / "s.pt")
    t = pretrain.Stack.load(tmp_path / "s.pt")
    assert t.count_input and t.linear_top
    x = torch.rand(5, 200).mul(4).round()
    assert torch.equal(t.codes(x), stack.codes(x))
