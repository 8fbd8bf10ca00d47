"""E6/E8: class-balanced budgets, greedy layer-wise stacking, the RBM, and fine-tuning that
starts from the pre-trained weights."""

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from aebench import config as aeconfig
from aebench import experiments, finetune, pretrain, train
from aebench.datasets.digits import prepare_digits
from aebench.rbm import train_rbm
from aebench.spec import InitSpec, RBMConfig, TrainConfig
from aebench.train import set_determinism

from test_config import base

# What AE layers train with, and the RBM layers' defaults (an init's params override them).
PRETRAIN = TrainConfig(epochs=2, batch_size=64, lr=1e-2, patience=2)
RBM_DEFAULTS = {"epochs": 2, "batch_size": 50}
QUIET = dict(log=lambda s: None)


def init(kind: str, params: dict | None = None) -> InitSpec:
    """An init entry ``{kind, params}`` parsed as the config does (RBM defaults merged)."""
    return InitSpec.parse({"kind": kind, "params": params or {}}, "init", pretrain.INITS,
                          rbm_defaults=RBM_DEFAULTS)


@pytest.fixture(scope="module")
def digits():
    p, _ = prepare_digits()
    return p


# --------------------------------------------------------------------------- label budgets


def test_balanced_subset_is_balanced_sized_and_fixed_per_seed(digits):
    y = digits.y_train
    idx = finetune.balanced_subset(y, 53, seed=3)
    counts = np.bincount(y[idx], minlength=10)
    assert len(idx) == len(set(idx)) == 53
    assert counts.max() - counts.min() <= 1 and counts.min() == 5  # 50 + 3 extra
    assert np.array_equal(idx, finetune.balanced_subset(y, 53, seed=3))  # same seed, same set
    assert not np.array_equal(idx, finetune.balanced_subset(y, 53, seed=4))
    assert np.array_equal(finetune.balanced_subset(y, "all", seed=3), np.arange(len(y)))
    assert np.array_equal(finetune.balanced_subset(y, 10 ** 6, seed=3), np.arange(len(y)))


def test_balanced_subset_fails_clearly(digits):
    with pytest.raises(ValueError, match="smaller than the number of classes"):
        finetune.balanced_subset(digits.y_train, 7, seed=0)
    y = np.array([0] * 50 + [1] * 3)
    with pytest.raises(ValueError, match="class 1 has only 3"):
        finetune.balanced_subset(y, 20, seed=0)


def test_tiling_repeats_the_whole_subset():
    idx = np.array([4, 9, 11])
    assert np.array_equal(finetune.tiled(idx, 7), np.tile(idx, 3))
    assert np.array_equal(finetune.tiled(idx, 0), idx)


# --------------------------------------------------------------------------- stacking


def test_lower_layers_stay_frozen_while_the_next_layer_trains():
    """A layer trainer that keeps modifying the weights it returned earlier (as an optimizer
    still holding them would) must not change the stack; each layer must see the codes of the
    stored layers below it."""
    x = torch.rand(40, 6)
    returned, snapshots, seen = [], [], []

    def train_layer(h_tr, h_va, n_out, k, checkpoint):
        seen.append(h_tr.clone())
        for w, b in returned:  # "training" of layer k touches the earlier layers' tensors
            w.add_(1.0), b.sub_(1.0)
        w = torch.nn.Parameter(torch.randn(n_out, h_tr.shape[1]))
        b = torch.nn.Parameter(torch.randn(n_out))
        returned.append((w.data, b.data))
        snapshots.append((w.detach().clone(), b.detach().clone()))  # as layer k finished
        return w, b, torch.zeros(h_tr.shape[1]), [{"epoch": 1}]

    stack = pretrain.greedy_stack(x, x[:5], [6, 5, 4, 3], train_layer, **QUIET)
    for (w, b), (w0, b0) in zip(zip(stack.weights, stack.biases), snapshots):
        assert torch.equal(w, w0) and torch.equal(b, b0)
    assert not torch.equal(returned[0][0], snapshots[0][0])  # the trainer did touch them
    assert torch.equal(seen[0], x)
    for k in (1, 2):
        assert torch.allclose(seen[k], stack.codes(x, k))
    assert [row["layer"] for row in stack.info["history"]] == [1, 2, 3]


@pytest.mark.parametrize("kind,params", [("ae", {"regularizer": {"kind": "l1", "weight": 1e-4}}),
                                         ("ae", {"input_noise": {"kind": "mask", "level": 0.25}}),
                                         ("rbm", {})])
def test_each_layer_is_trained_on_the_codes_of_the_frozen_layers_below(digits, monkeypatch, kind,
                                                                       params):
    """The real AE / RBM layer trainers: layer k's training data are exactly the sigmoid codes
    of the stored layers 1..k-1, and those stored layers equal what their own training ended
    with (snapshotted when it returned)."""
    from aebench import rbm as rbm_mod

    inputs, finished = [], []
    real = train.fit if kind == "ae" else rbm_mod.train_rbm

    def spy(model_or_v, *a, **kw):
        inputs.append(torch.as_tensor(a[0] if kind == "ae" else model_or_v).clone())
        out = real(model_or_v, *a, **kw)
        net = model_or_v if kind == "ae" else out[0]
        layer = net.enc[0] if kind == "ae" else net
        finished.append(copy.deepcopy(layer.weight.detach()))
        return out

    monkeypatch.setattr(train if kind == "ae" else rbm_mod, "fit" if kind == "ae" else "train_rbm", spy)
    set_determinism(0, threads=1)
    x = digits.x_train[:300]
    stack = pretrain.pretrain(init(kind, params), x, digits.x_val[:100], [64, 80, 40, 30],
                              PRETRAIN, seed=0, device="cpu", **QUIET)
    assert [w.shape for w in stack.weights] == [(80, 64), (40, 80), (30, 40)]
    assert len(inputs) == 3 and torch.equal(inputs[0], torch.as_tensor(x))
    for k in (1, 2):
        assert torch.allclose(inputs[k], stack.codes(x, k), atol=1e-6)
    for w, w_end in zip(stack.weights, finished):
        assert torch.equal(w, w_end)


def test_random_init_is_seeded():
    a = pretrain.pretrain(init("random"), None, None, [10, 8, 6], PRETRAIN, 1, "cpu", **QUIET)
    b = pretrain.pretrain(init("random"), None, None, [10, 8, 6], PRETRAIN, 1, "cpu", **QUIET)
    c = pretrain.pretrain(init("random"), None, None, [10, 8, 6], PRETRAIN, 2, "cpu", **QUIET)
    assert all(torch.equal(u, v) for u, v in zip(a.weights, b.weights))
    assert not torch.equal(a.weights[0], c.weights[0])


def test_stack_survives_save_and_load(tmp_path):
    s = pretrain.pretrain(init("random"), None, None, [10, 8, 6], PRETRAIN, 1, "cpu", **QUIET)
    s.save(tmp_path / "stack.pt")
    t = pretrain.Stack.load(tmp_path / "stack.pt")
    assert t.dims == [10, 8, 6] and t.info["kind"] == "random"
    assert all(torch.equal(u, v) for u, v in zip(s.weights + s.biases + s.visible_biases,
                                                  t.weights + t.biases + t.visible_biases))


# --------------------------------------------------------------------------- RBM


def test_rbm_learns_and_is_deterministic(digits):
    v = torch.as_tensor(digits.x_train)
    cfg = RBMConfig(epochs=12, batch_size=50)  # on 1200 digits it leaves its plateau at ~6
    rbm, hist = train_rbm(v, torch.as_tensor(digits.x_val), 50, cfg, seed=0, device="cpu", **QUIET)
    assert hist[-1]["val_loss"] < 0.6 * hist[0]["val_loss"]
    again, _ = train_rbm(v, torch.as_tensor(digits.x_val), 50, cfg, seed=0, device="cpu", **QUIET)
    assert torch.equal(rbm.weight, again.weight)
    # its forward pass is an AE encoder layer: p(h|v) = sigmoid(W v + c)
    assert torch.allclose(rbm.hidden_prob(v[:5]), torch.sigmoid(v[:5] @ rbm.weight.t() + rbm.h_bias))


def test_rbm_with_linear_hidden_units(digits):
    """The code layer's RBM: E[h|v] = W v + c (no squashing), and CD-1 with Gaussian hidden
    samples still learns, at its own rate lr_linear (1200 digits need a larger one than the
    1e-3 of 55k MNIST images: at 1e-3 the error has barely moved after 10 epochs)."""
    v = torch.as_tensor(digits.x_train)
    cfg = RBMConfig(epochs=10, batch_size=50, lr_linear=3e-2)
    rbm, hist = train_rbm(v, torch.as_tensor(digits.x_val), 8, cfg, seed=0, device="cpu",
                          linear_hidden=True, **QUIET)
    assert rbm.linear_hidden and hist[0]["lr"] == 3e-2
    assert torch.allclose(rbm.hidden_prob(v[:5]), v[:5] @ rbm.weight.t() + rbm.h_bias)
    assert hist[-1]["val_loss"] < 0.5 * hist[0]["val_loss"]
    assert (rbm.hidden_prob(v).abs() > 1).any()  # not confined to (0, 1) like a sigmoid


# --------------------------------------------------------------------------- unrolling


def test_unrolled_dbn_is_the_stack_encoder_and_its_transpose(digits):
    """Hinton & Salakhutdinov's unrolling: the encoder computes the stack's codes, each
    decoder layer is the RBM run downwards (W transposed, visible bias), and the top RBM of a
    linear-code AE has linear hidden units."""
    from aebench.nets import build

    set_determinism(0, threads=1)
    dims = [64, 40, 20, 6]
    stack = pretrain.pretrain(init("rbm", {"linear_top": True}), digits.x_train, digits.x_val,
                              dims, PRETRAIN, seed=0, device="cpu", **QUIET)
    net = build("mlp", 64, hidden=[40, 20], code_dim=6, activation="sigmoid")
    pretrain.unroll(stack, net)
    x = torch.as_tensor(digits.x_test[:7])
    below = stack.codes(x, 2)
    with torch.no_grad():
        assert torch.allclose(net.encode(x), below @ stack.weights[2].t() + stack.biases[2],
                              atol=1e-5)  # linear code = the top RBM's E[h|v]
        h = net.encode(x)
        for w, vb in zip(stack.weights[::-1], stack.visible_biases[::-1]):
            h = torch.sigmoid(h @ w + vb)
        assert torch.allclose(net(x), h, atol=1e-6)
    with pytest.raises(ValueError, match="cannot unroll"):
        pretrain.unroll(stack, build("mlp", 64, hidden=[40], code_dim=6, activation="sigmoid"))


def test_pretrained_autoencoder_starts_fine_tuning_from_the_unrolled_stack(digits, unroll_spy):
    from aebench.kinds import make, parse_model

    params = {"hidden": [32], "code_dim": 8, "activation": "sigmoid",
              "pretrain": {"kind": "rbm", "params": {"epochs": 3, "batch_size": 50}}}
    stacks, starts = unroll_spy

    def once():
        set_determinism(0, threads=1)
        m = make({"kind": "autoencoder", "params": params,
                  "train": {"epochs": 2, "batch_size": 64}}, dataset="digits")
        m.fit(digits, 0, {}, log=lambda s: None, device="cpu")
        return m

    a, b = once(), once()
    stack, start = stacks[0], starts[0]
    assert stack.info["kind"] == "rbm" and stack.dims == [64, 32, 8]
    assert torch.equal(start["enc.0.weight"], stack.weights[0])
    assert torch.equal(start["dec.1.weight"], stack.weights[0].t())
    assert torch.equal(start["dec.1.bias"], stack.visible_biases[0])
    assert not torch.equal(a.net.enc[0].weight, stack.weights[0])  # then fine-tuned
    assert np.array_equal(a.encode(digits.x_test), b.encode(digits.x_test))  # deterministic

    # the stack's logistic units fit only a sigmoid MLP; unknown init kinds are named
    relu = {**params, "activation": "relu"}
    with pytest.raises(ValueError, match="models.m: pretrain: needs .*activation: sigmoid"):
        parse_model("m", {"kind": "autoencoder", "params": relu}, "digits", {})
    bad = {**params, "pretrain": {"kind": "boltzmann"}}
    with pytest.raises(ValueError, match="pretrain.kind: unknown kind 'boltzmann'"):
        parse_model("m", {"kind": "autoencoder", "params": bad}, "digits", {})
    bad = {**params, "pretrain": {"kind": "rbm", "params": {"epoch": 3}}}
    with pytest.raises(ValueError, match=r"models.m: pretrain\.params: .*'epoch'"):
        parse_model("m", {"kind": "autoencoder", "params": bad}, "digits", {})


# --------------------------------------------------------------------------- fine-tuning


def test_finetuning_starts_from_the_pretrained_weights_and_trains_all_layers(digits, monkeypatch):
    set_determinism(0, threads=1)
    stack = pretrain.pretrain(init("ae"), digits.x_train, digits.x_val, [64, 40, 30], PRETRAIN,
                              seed=0, device="cpu", **QUIET)
    at_start = []
    real = train.fit

    def spy(net, *a, **kw):
        at_start.append(copy.deepcopy(net.state_dict()))
        return real(net, *a, **kw)

    monkeypatch.setattr(train, "fit", spy)
    net, hist, info = finetune.finetune(stack, digits, 100, 0,
                                        TrainConfig(epochs=3, batch_size=32, lr=1e-2),
                                        min_epoch_samples=500, **QUIET)
    start = at_start[0]
    for k, (w, b) in enumerate(zip(stack.weights, stack.biases)):  # Linear, Sigmoid, ...
        assert torch.equal(start[f"{2 * k}.weight"], w) and torch.equal(start[f"{2 * k}.bias"], b)
    after = net.state_dict()
    assert not torch.equal(after["0.weight"], stack.weights[0])  # fine-tuned, not frozen
    # 100 labels in all: 80 to train on, 20 held out for early stopping (tests/test_finetune.py)
    assert info["n_labels"] == 100 and info["n_train_labels"] == 80 and info["n_val_labels"] == 20
    assert 0 <= info["test_error"] < 0.9 and len(hist) >= 1


def test_same_seed_same_finetuned_error(digits):
    def once():
        set_determinism(0, threads=1)
        s = pretrain.pretrain(init("random"), None, None, [64, 32], PRETRAIN, 0, "cpu", **QUIET)
        return finetune.finetune(s, digits, 50, 0, TrainConfig(epochs=2, batch_size=32),
                                 **QUIET)[2]

    assert once() == once()


def e6_context(tmp_path, errors: dict, n_labels: dict):
    """E6's params and context over fake classifier runs: ``errors[init, budget]`` is the
    test error per seed, ``n_labels[budget]`` the label count each run records."""
    from aebench.experiments.e6_pretraining import classifier_model

    e6 = experiments.EXPERIMENTS["e6"]
    dirs = {}
    for (init_name, b), errs in errors.items():
        for seed, e in enumerate(errs):
            d = tmp_path / init_name / str(b) / str(seed)
            d.mkdir(parents=True)
            (d / "metrics.json").write_text(json.dumps({"test_error": e, "n_labels": n_labels[b]}))
            dirs.setdefault(classifier_model(init_name, b), {})[seed] = d
    budgets = list(dict.fromkeys(b for _, b in errors))
    inits = {i: {"kind": "random" if i == "random" else "rbm"} for i, _ in errors}
    params = e6.Params(hidden=[32], budgets=budgets, reference="random", inits=inits,
                       pretrain={}, rbm={}, finetune={})
    assert sorted(e6.models(params)) == sorted(dirs)  # the classifiers E6 derives and reads
    ctx = experiments.Context("e6", tmp_path / "digits.npz", dirs, params, tmp_path / "figures",
                              log=lambda s: None)
    return e6, ctx


def test_e6_paired_gain_is_reference_minus_init_per_seed(tmp_path, monkeypatch):
    from aebench import plots

    errors = {("random", "all"): [0.1, 0.1], ("random", 20): [0.5, 0.4],
              ("random", 100): [0.3, 0.3], ("dbn", "all"): [0.09, 0.12],
              ("dbn", 20): [0.3, 0.35], ("dbn", 100): [0.25, 0.3]}
    n_labels = {20: 20, 100: 100, "all": 1400}  # "all": 1200 train + 200 validation labels
    e6, ctx = e6_context(tmp_path, errors, n_labels)
    drawn = []
    real = plots.error_vs_budget
    monkeypatch.setattr(plots, "error_vs_budget",
                        lambda curve, path, gain: (drawn.append((curve, gain)),
                                                   real(curve, path, gain)))
    df = pd.DataFrame(e6.run(ctx))
    v = df.set_index(["model", "seed", "metric"])["value"]
    assert v["dbn", 0, "test_error_pct@20"] == pytest.approx(30.0)
    assert v["dbn", 0, "gain_pct@20"] == pytest.approx(20.0)
    assert v["dbn", 1, "gain_pct@20"] == pytest.approx(5.0)
    assert v["dbn", 1, "gain_pct@all"] == pytest.approx(-2.0)
    assert v["dbn", 1, "gain_few_minus_many_pct"] == pytest.approx(7.0)  # 20 vs all
    # relative to the random init's error of the same seed: 20/50, 5/40, -2/10 (in %)
    assert v["dbn", 0, "rel_gain_pct@20"] == pytest.approx(40.0)
    assert v["dbn", 1, "rel_gain_pct@20"] == pytest.approx(12.5)
    assert v["dbn", 1, "rel_gain_pct@all"] == pytest.approx(-20.0)
    assert v["dbn", 1, "rel_gain_few_minus_many_pct"] == pytest.approx(32.5)
    assert v["dbn", 1, "rel_gain_pct@fewest"] == v["dbn", 1, "rel_gain_pct@20"]
    for seed in (0, 1):  # the alias row: the gain at the smallest budget, whatever it is
        assert v["dbn", seed, "gain_pct@fewest"] == v["dbn", seed, "gain_pct@20"]
    assert ("random", 0, "gain_pct@20") not in v.index
    assert ("random", 0, "gain_pct@fewest") not in v.index
    # the figure's x axis is every label used (training + early stopping), per budget
    curve, gain = drawn[0]
    assert sorted(set(curve["n_labels"])) == [20, 100, 1400]
    assert sorted(set(gain["n_labels"])) == [20, 100, 1400]
    assert (tmp_path / "figures" / "error_vs_budget.png").read_bytes()[:4] == b"\x89PNG"


def test_e6_fewest_is_the_smallest_total_and_one_budget_has_no_few_vs_many(tmp_path):
    errors = {("random", 50): [0.5, 0.4], ("dbn", 50): [0.45, 0.41]}
    e6, ctx = e6_context(tmp_path / "one", errors, {50: 50})
    v = pd.DataFrame(e6.run(ctx)).set_index(["model", "seed", "metric"])["value"]
    assert v["dbn", 0, "gain_pct@fewest"] == pytest.approx(5.0)
    assert v["dbn", 1, "gain_pct@fewest"] == pytest.approx(-1.0)
    assert not any(m == "gain_few_minus_many_pct" for _, _, m in v.index)  # nothing to compare

    # budgets listed largest first: "fewest" is still the smallest label count
    errors = {("random", "all"): [0.1], ("random", 40): [0.5], ("dbn", "all"): [0.1],
              ("dbn", 40): [0.2]}
    e6, ctx = e6_context(tmp_path / "two", errors, {40: 40, "all": 1400})
    v = pd.DataFrame(e6.run(ctx)).set_index(["model", "seed", "metric"])["value"]
    assert v["dbn", 0, "gain_pct@fewest"] == pytest.approx(30.0)


def test_e6_anchor_nets_are_derived_with_their_own_recipe_and_reported_alone(tmp_path):
    from aebench.experiments.e6_pretraining import Params

    e6 = experiments.EXPERIMENTS["e6"]
    p = Params(hidden=[32], budgets=[50], reference="random",
               inits={"random": {"kind": "uniform_sigmoid"}, "dbn": {"kind": "rbm"}},
               pretrain={}, rbm={"lr": 0.05, "epochs": 50}, finetune={"epochs": 200, "lr": 0.01},
               finetune_grid={"lr": [0.1, 0.03]},
               anchor_nets={"hs2006": {"hidden": [500, 500, 2000], "init": "dbn",
                                       "rbm": {"lr": 0.1}, "finetune": {"warmup_top_epochs": 5},
                                       "refit": True},
                            "shallow800": {"hidden": [800], "init": "random"}})
    e6.check(p, {})
    models = e6.derived_models(p, {})
    stack, clf = models["e6_hs2006"], models["e6_hs2006_nall"]
    assert stack.params["hidden"] == [500, 500, 2000]
    assert stack.init.rbm.lr == 0.1 and stack.init.rbm.epochs == 50  # its own over E6's
    assert clf.train.warmup_top_epochs == 5 and clf.train.lr == 0.01 and clf.train.epochs == 200
    assert clf.params["refit"] is True and clf.params["grid"] == {"lr": [0.1, 0.03]}
    assert models["e6_shallow800"].init.kind == "uniform_sigmoid"
    assert "refit" not in models["e6_shallow800_nall"].params
    assert {"e6_hs2006_nall", "e6_shallow800_nall"} <= set(e6.models(p))
    bad = Params(hidden=[32], budgets=[50], reference="random", inits={"random": {"kind": "random"}},
                 pretrain={}, rbm={}, finetune={}, anchor_nets={"x": {"hidden": [8], "init": "dbn"}})
    with pytest.raises(ValueError, match="not one of inits"):
        e6.check(bad, {})


def test_e6_refuses_runs_of_one_budget_with_different_label_counts(tmp_path):
    errors = {("random", 50): [0.5], ("dbn", 50): [0.45]}
    e6, ctx = e6_context(tmp_path, errors, {50: 50})
    (ctx.models["e6_dbn_n50"][0] / "metrics.json").write_text(
        json.dumps({"test_error": 0.5, "n_labels": 100}))  # e.g. an old run: 50 + 50
    with pytest.raises(ValueError, match="label counts differ"):
        e6.run(ctx)


# --------------------------------------------------------------------------- config


# Messages are "config: experiments.<name>: <key within the experiment>: ..." (as E6.check's
# and E8.check's own errors are wrapped by aebench.config.load).
@pytest.mark.parametrize("change,match", [
    (lambda c: c["experiments"]["e6"]["inits"].update(x={"kind": "boltzmann"}),
     r"experiments\.e6: inits\.x\.kind: unknown kind 'boltzmann'"),
    (lambda c: c["experiments"]["e6"]["inits"].update(x={"kind": "ae", "params": {"nois": 1}}),
     r"experiments\.e6: inits\.x(\.params)?: unknown param\(s\) \['nois'\]"),
    (lambda c: c["experiments"]["e6"]["inits"].update(x={"kind": "rbm", "params": {"lr": -1}}),
     r"experiments\.e6: inits\.x(\.params)?: rbm settings"),
    (lambda c: c["experiments"]["e6"].update(reference="rand"),
     r"experiments\.e6: reference 'rand' is not one of its inits"),
    (lambda c: c["experiments"]["e8"].update(inits=["dbm"]),
     r"experiments\.e8: inits names \['dbm'\], which are not experiments\.e6\.inits"),
])
def test_bad_e6_e8_config_fails_naming_the_key(change, match):
    cfg = base()
    change(cfg)
    with pytest.raises(aeconfig.ConfigError, match=match):
        aeconfig.load(cfg)


def test_smoke_budgets_fit_the_smoke_data():
    smoke = yaml.safe_load((Path(__file__).resolve().parents[1] / "workflow" / "presets" / "smoke.yaml").read_text())
    n_train = 1797 - 200 - 397  # sklearn digits minus the smoke preset's val and test
    # a number: one training and one early-stopping label per class at least, within train
    assert all(b == "all" or 20 <= b <= n_train for b in smoke["experiments"]["e6"]["budgets"])


def test_the_uniform_sigmoid_control_draws_glorot_times_four_with_zero_biases():
    from aebench import pretrain
    from aebench.spec import InitSpec, TrainConfig

    init = InitSpec.parse({"kind": "uniform_sigmoid"}, "init", pretrain.INITS)
    a = pretrain.pretrain(init, None, None, [784, 1000, 10], TrainConfig(), 3, "cpu",
                          log=lambda s: None)
    b = pretrain.pretrain(init, None, None, [784, 1000, 10], TrainConfig(), 3, "cpu",
                          log=lambda s: None)
    bound = 4 * (6 / (784 + 1000)) ** 0.5  # 0.2320
    w = a.weights[0]
    assert w.shape == (1000, 784) and w.abs().max() <= bound
    # uniform on [-bound, bound]: variance bound^2 / 3
    assert abs(w.var().item() - bound ** 2 / 3) < 0.02 * bound ** 2 / 3
    assert all((x == 0).all() for x in a.biases)
    assert all((x == y).all() for x, y in zip(a.weights, b.weights))  # seeded
    assert "uniform_sigmoid" in pretrain.UNTRAINED


def test_e6_reports_how_each_classifier_was_chosen():
    from aebench.experiments.e6_pretraining import audit_values

    m = {"test_error": 0.02, "train_error": 0.001, "val_error": 0.015, "best_epoch": 37,
         "chosen": {"lr": 0.03, "weight_decay": 1e-4}}
    assert audit_values(m, "all") == {"best_epoch@all": 37.0, "train_error_pct@all": 0.1,
                                      "val_error_pct@all": 1.5, "chosen_lr@all": 0.03,
                                      "chosen_weight_decay@all": 1e-4}
    assert audit_values({"test_error": 0.02}, "100") == {}  # an old run recorded none of it
