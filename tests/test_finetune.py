"""E6's label budgets, counted honestly: a budget of B labels is B labelled images in all,
early stopping's included; ``all`` is every training label plus the validation split."""

import copy

import numpy as np
import pytest

from aebench import finetune, pretrain, train
from aebench.datasets.digits import prepare_digits
from aebench.spec import InitSpec, TrainConfig
from aebench.train import set_determinism

QUIET = dict(log=lambda s: None)


@pytest.fixture(scope="module")
def digits():
    p, _ = prepare_digits()
    return p


def counts(y):
    return np.bincount(y, minlength=10)


@pytest.mark.parametrize("budget,n_val", [(20, 10), (50, 10), (53, 11), (100, 20), (200, 40),
                                          (1000, 200)])
def test_a_budget_is_every_label_used_validation_included(digits, budget, n_val):
    s = finetune.label_split(digits.y_train, digits.y_val, budget, seed=3)
    assert s.n_labels == len(s.train) + len(s.val) == budget
    assert len(s.val) == n_val == finetune.n_val_labels(budget, 10)
    assert s.val_split == "train"  # carved out of the budget's training images
    assert s.info() == {"n_labels": budget, "n_train_labels": budget - n_val,
                        "n_val_labels": n_val, "val_labels_from": "train"}
    # disjoint, no repeats, all from the training split
    assert len(np.union1d(s.train, s.val)) == budget and not np.intersect1d(s.train, s.val).size
    assert s.train.max() < len(digits.y_train) and s.val.max() < len(digits.y_train)
    y = digits.y_train
    for part in (s.val, np.concatenate([s.train, s.val])):  # held-out part and the whole budget
        c = counts(y[part])
        assert c.min() >= 1 and c.max() - c.min() <= 1  # class-balanced
    c = counts(y[s.train])
    assert c.min() >= 1 and c.max() - c.min() <= 2  # what is left of two balanced draws
    # the whole budget is the same draw as the class-balanced subset of that size
    assert np.array_equal(np.sort(np.concatenate([s.train, s.val])),
                          finetune.balanced_subset(y, budget, 3))


def test_the_subsets_depend_on_labels_budget_and_seed_only(digits):
    a = finetune.label_split(digits.y_train, digits.y_val, 100, seed=0)
    b = finetune.label_split(digits.y_train, digits.y_val, 100, seed=0)
    c = finetune.label_split(digits.y_train, digits.y_val, 100, seed=1)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.val, b.val)
    assert not np.array_equal(a.train, c.train) and not np.array_equal(a.val, c.val)


def test_all_trains_on_every_label_and_early_stops_on_the_validation_split(digits):
    s = finetune.label_split(digits.y_train, digits.y_val, "all", seed=5)
    assert np.array_equal(s.train, np.arange(1200)) and np.array_equal(s.val, np.arange(200))
    assert s.val_split == "val" and s.n_labels == 1400
    assert s.info()["n_train_labels"] == 1200 and s.info()["n_val_labels"] == 200


def test_a_bad_budget_fails_naming_the_reason(digits):
    with pytest.raises(ValueError, match="smaller than twice the number of classes"):
        finetune.label_split(digits.y_train, digits.y_val, 19, seed=0)
    with pytest.raises(ValueError, match="larger than the 1200 training images: use 'all'"):
        finetune.label_split(digits.y_train, digits.y_val, 1201, seed=0)


def test_the_held_out_share_follows_val_fraction(digits):
    s = finetune.label_split(digits.y_train, digits.y_val, 200, seed=0, val_fraction=0.5)
    assert len(s.val) == 100 and len(s.train) == 100
    s = finetune.label_split(digits.y_train, digits.y_val, 30, seed=0, val_fraction=0.01)
    assert len(s.val) == 10  # at least one per class


def fit_inputs(monkeypatch, digits, init_kind, budget, seed=0):
    """The (train, validation) arrays fine-tuning hands to the training core, and its info."""
    seen = []
    real = train.fit

    def spy(net, tr, va, *a, **kw):
        seen.append((copy.deepcopy(tr), copy.deepcopy(va)))
        return real(net, tr, va, *a, **kw)

    monkeypatch.setattr(train, "fit", spy)
    set_determinism(0, threads=1)
    init = InitSpec.parse({"kind": init_kind, "params": {}}, "init", pretrain.INITS,
                          rbm_defaults={"epochs": 1, "batch_size": 50})
    stack = pretrain.pretrain(init, digits.x_train, digits.x_val, [64, 24],
                              TrainConfig(epochs=1, batch_size=64), seed=seed, device="cpu",
                              **QUIET)
    _, _, info = finetune.finetune(stack, digits, budget, seed,
                                   TrainConfig(epochs=1, batch_size=32), min_epoch_samples=300,
                                   **QUIET)
    monkeypatch.undo()
    return seen[0], info


def rows_of(x, pool):
    """Indices of ``x``'s rows in ``pool`` (rows of the 8x8 digits are unique enough here:
    duplicates would only make the test stricter)."""
    lookup = {r.tobytes(): i for i, r in enumerate(pool)}
    return np.array([lookup[r.tobytes()] for r in x])


def test_finetuning_uses_exactly_the_budget_and_every_init_the_same_images(digits, monkeypatch):
    (tr, va), info = fit_inputs(monkeypatch, digits, "random", 100)
    (tr2, va2), info2 = fit_inputs(monkeypatch, digits, "rbm", 100)
    s = finetune.label_split(digits.y_train, digits.y_val, 100, 0)
    assert info["n_labels"] == 100 and info["n_train_labels"] == 80 and info["n_val_labels"] == 20
    assert {k: info2[k] for k in s.info()} == s.info()
    # the training core sees the 80 training images (tiled to >= 300 samples) and the 20
    # held-out ones, nothing else: 100 labels in all
    assert len(tr[0]) == 320 and set(rows_of(tr[0], digits.x_train)) == set(s.train)
    assert np.array_equal(np.sort(rows_of(va[0], digits.x_train)), s.val)
    assert np.array_equal(va[1], digits.y_train[s.val])
    # a pre-trained init of the same seed: the very same images and labels
    for a, b in zip(tr + va, tr2 + va2):
        assert np.array_equal(a, b)


def test_finetuning_on_all_labels_early_stops_on_the_validation_split(digits, monkeypatch):
    (tr, va), info = fit_inputs(monkeypatch, digits, "random", "all")
    assert info["n_labels"] == 1400 and info["n_val_labels"] == 200
    assert info["val_labels_from"] == "val"
    assert np.array_equal(va[0], digits.x_val) and np.array_equal(va[1], digits.y_val)
    assert np.array_equal(tr[0], digits.x_train) and 0 <= info["val_error"] <= 1


def test_the_classifier_kind_passes_val_fraction_and_records_the_counts(digits, tmp_path):
    from aebench.kinds import make, parse_model

    stack = pretrain.pretrain(InitSpec.parse({"kind": "random"}, "init", pretrain.INITS),
                              None, None, [64, 24], TrainConfig(), seed=0, device="cpu", **QUIET)
    stack.save(tmp_path / "stack.pt")
    m = make({"kind": "classifier", "params": {"stack": "s", "budget": 50, "val_fraction": 0.4},
              "train": {"epochs": 1, "batch_size": 32}}, dataset="digits")
    m.fit(digits, 0, {"s": tmp_path}, device="cpu", **QUIET)
    got = m.metrics(digits)
    assert got["budget"] == "50" and got["n_labels"] == 50
    assert got["n_val_labels"] == 20 and got["n_train_labels"] == 30
    with pytest.raises(ValueError, match="val_fractio"):
        parse_model("c", {"kind": "classifier", "params": {
            "stack": "s", "budget": 50, "val_fractio": 0.4}}, "digits", {})


# --------------------------------------------------------------------------- the recipe (issue 39)


def small_stack(digits, kind: str, seed: int = 0):
    init = InitSpec.parse({"kind": kind, "params": {}}, "init", pretrain.INITS,
                          rbm_defaults={"epochs": 1, "batch_size": 50})
    return pretrain.pretrain(init, digits.x_train, digits.x_val, [64, 24],
                             TrainConfig(epochs=1, batch_size=64), seed=seed, device="cpu",
                             **QUIET)


def test_every_epoch_logs_training_and_validation_error_and_loss(digits):
    set_determinism(0, threads=1)
    stack = small_stack(digits, "random")
    net, history, info = finetune.finetune(
        stack, digits, 200, 0, TrainConfig(epochs=4, batch_size=32, patience=10, stop_on="error"),
        min_epoch_samples=300, **QUIET)
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    for r in history:
        for k in ("train_loss", "val_loss", "val_error", "train_error"):
            assert np.isfinite(r[k])
        # an error is a share of the 40 held-out (160 training) images
        assert r["val_error"] * 40 == pytest.approx(round(r["val_error"] * 40))
        assert r["train_error"] * 160 == pytest.approx(round(r["train_error"] * 160))
    # stop_on error: the restored net is the epoch with the lowest validation error (the loss
    # breaking ties), and its recomputed error is the logged one
    best = min(history, key=lambda r: (r["val_error"], r["val_loss"]))
    assert info["val_error"] == pytest.approx(best["val_error"])
    assert info["train_error"] == pytest.approx(best["train_error"])


def test_the_classifier_history_file_has_the_errors(digits, tmp_path):
    from aebench.kinds import make

    stack = small_stack(digits, "random")
    stack.save(tmp_path / "stack.pt")
    m = make({"kind": "classifier", "params": {"stack": "s", "budget": 50},
              "train": {"epochs": 2, "batch_size": 32}}, dataset="digits")
    history = m.fit(digits, 0, {"s": tmp_path}, device="cpu", **QUIET)
    import pandas as pd

    df = pd.DataFrame(history, columns=m.history_columns)
    assert {"val_error", "train_error"} <= set(df.columns) and df.notna().all().all()


def _layers(net):
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("epochs,below_changed", [(2, False), (3, True)])
def test_the_warm_up_trains_only_the_output_layer_of_a_pretrained_stack(digits, epochs,
                                                                      below_changed):
    import torch

    set_determinism(0, threads=1)
    stack = small_stack(digits, "rbm")
    cfg = TrainConfig(epochs=epochs, batch_size=32, patience=50, weight_decay=1e-2,
                      warmup_top_epochs=2)
    net, history, _ = finetune.finetune(stack, digits, 200, 0, cfg, min_epoch_samples=300,
                                        **QUIET)
    assert len(history) == epochs
    if below_changed:  # after the warm-up every layer trains
        assert not torch.equal(net[0].weight, stack.weights[0])
        return
    # two epochs of warm-up: the pre-trained layer is exactly the stack's (not even weight
    # decay touched it), the output layer has learnt
    assert torch.equal(net[0].weight, stack.weights[0]) and torch.equal(net[0].bias, stack.biases[0])
    fresh = finetune.build_classifier(stack, 10, 0)
    assert not torch.equal(net[-1].weight, fresh[-1].weight)
    assert all(p.requires_grad for p in net.parameters())  # nothing left frozen


def test_a_random_init_gets_no_warm_up(digits):
    import torch

    set_determinism(0, threads=1)
    stack = small_stack(digits, "random")
    net, _, _ = finetune.finetune(stack, digits, 200, 0,
                                  TrainConfig(epochs=1, batch_size=32, warmup_top_epochs=2),
                                  min_epoch_samples=300, **QUIET)
    assert not torch.equal(net[0].weight, stack.weights[0])


def test_early_stopping_compares_error_first_then_loss():
    import math

    assert train.better((0.10, 0.50), math.inf)
    assert train.better((0.09, 0.90), (0.10, 0.10))       # lower error wins, whatever the loss
    assert train.better((0.10, 0.40), (0.10, 0.50))       # same error: the lower loss
    assert not train.better((0.10, 0.49999), (0.10, 0.5))  # ... by more than 0.01%
    assert not train.better((0.11, 0.01), (0.10, 0.50))
    assert not train.better((0.0, float("nan")), math.inf)
    assert train.better(0.5, math.inf) and not train.better(0.49999, 0.5)


def test_stop_on_error_and_warm_up_refuse_a_fit_that_has_no_classifier():
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(4, 4))
    x = np.random.RandomState(0).rand(20, 4).astype(np.float32)

    def objective(model, xb, cfg):
        return ((model(xb) - xb) ** 2).mean()

    def validate(model, xv, cfg):
        return float(((model(xv) - xv) ** 2).mean().detach())

    with pytest.raises(ValueError, match="stop_on: loss"):
        train.fit(net, x, x, TrainConfig(epochs=1, stop_on="error"), objective=objective,
                  validate=validate, **QUIET)
    with pytest.raises(ValueError, match="warmup_top_epochs"):
        train.fit(net, x, x, TrainConfig(epochs=1, warmup_top_epochs=1), objective=objective,
                  validate=validate, **QUIET)


def test_sgd_is_sgd_with_momentum_and_an_l2_weight_cost():
    import torch

    net = torch.nn.Linear(3, 2)
    opt = train._make_optimizer(net, TrainConfig(optimizer="sgd", lr=0.1, momentum=0.5,
                                                 weight_decay=2e-4), torch.device("cpu"))
    assert isinstance(opt, torch.optim.SGD)
    g = opt.param_groups[0]
    assert (g["lr"], g["momentum"], g["weight_decay"]) == (0.1, 0.5, 2e-4)


def test_new_settings_leave_existing_specs_unchanged():
    d = TrainConfig().to_dict()
    assert not {"optimizer", "momentum", "stop_on", "warmup_top_epochs"} & set(d)
    d = TrainConfig(optimizer="sgd", stop_on="error", warmup_top_epochs=5).to_dict()
    assert (d["optimizer"], d["stop_on"], d["warmup_top_epochs"]) == ("sgd", "error", 5)


def test_the_tuning_grid_gives_every_init_the_same_trials_and_keeps_the_best_on_validation(
        digits, monkeypatch):
    grid = {"lr": [1e-3, 3e-3], "weight_decay": [0.0, 1e-3]}
    cfg = TrainConfig(epochs=2, batch_size=32, patience=5, stop_on="error")
    tried = []
    real = finetune.finetune

    def spy(stack, data, budget, seed, train_cfg, **kw):
        tried.append((stack.info["kind"], train_cfg.lr, train_cfg.weight_decay, kw["test"]))
        return real(stack, data, budget, seed, train_cfg, **kw)

    monkeypatch.setattr(finetune, "finetune", spy)
    infos = {}
    for kind in ("random", "rbm"):
        set_determinism(0, threads=1)
        stack = small_stack(digits, kind)
        net, history, info = finetune.tune(stack, digits, 200, 0, cfg, grid,
                                           min_epoch_samples=300, **QUIET)
        infos[kind] = info
        # the kept net is the trial with the lowest validation error (loss breaking ties)
        best = min(info["trials"], key=lambda t: (t["val_error"], t["val_loss"]))
        assert info["chosen"] == {"lr": best["lr"], "weight_decay": best["weight_decay"]}
        assert info["val_error"] == best["val_error"]
        assert finetune.error_rate(net, digits.x_test, digits.y_test) == info["test_error"]
    # the same four trials, in the same order, for each init; none of them read the test split
    per_kind = {k: [t[1:] for t in tried if t[0] == k] for k in ("random", "rbm")}
    assert per_kind["random"] == per_kind["rbm"] == [
        (1e-3, 0.0, False), (1e-3, 1e-3, False), (3e-3, 0.0, False), (3e-3, 1e-3, False)]
    assert all(len(i["trials"]) == 4 for i in infos.values())


def test_a_grid_key_that_is_no_training_setting_is_refused():
    with pytest.raises(ValueError, match="lrr"):
        finetune.grid_points(TrainConfig(), {"lrr": [0.1]})
    assert finetune.grid_points(TrainConfig(lr=0.5), {}) == [({}, TrainConfig(lr=0.5))]


def test_sgd_fine_tunes_through_the_end_of_a_warm_up(digits):
    """Momentum buffers exist for the output layer only when the layers below start training."""
    set_determinism(0, threads=1)
    stack = small_stack(digits, "rbm")
    _, history, _ = finetune.finetune(
        stack, digits, 200, 0, TrainConfig(epochs=3, batch_size=32, optimizer="sgd", lr=0.1,
                                           warmup_top_epochs=1), min_epoch_samples=300, **QUIET)
    assert len(history) == 3 and all(np.isfinite(r["train_loss"]) for r in history)


def test_refit_trains_on_every_label_for_the_chosen_epochs_and_tests_the_last(digits, tmp_path):
    from aebench.kinds import make

    set_determinism(0, threads=1)
    stack = small_stack(digits, "rbm")
    stack.save(tmp_path / "stack.pt")
    m = make({"kind": "classifier", "params": {"stack": "s", "budget": "all", "refit": True},
              "train": {"epochs": 5, "batch_size": 64, "stop_on": "error", "patience": 2}},
             dataset="digits")
    history = m.fit(digits, 0, {"s": tmp_path}, device="cpu", **QUIET)
    info = m.metrics(digits)
    chosen = finetune.best_epoch(history, "error")
    assert info["best_epoch"] == info["refit_epochs"] == chosen >= 1
    assert info["refit_labels"] == len(digits.y_train) + len(digits.y_val) == 1400
    assert info["test_error"] == finetune.error_rate(m.net, digits.x_test, digits.y_test)
    # the refit itself: exactly the chosen number of epochs on all 1400 labels, the last kept
    lines = []
    net, hist, rinfo = finetune.refit(stack, digits, "all", 0, TrainConfig(epochs=99,
                                      batch_size=64), 3, log=lines.append)
    assert [r["epoch"] for r in hist] == [1, 2, 3] and rinfo["refit_epochs"] == 3
    assert any("kept the last epoch" in s for s in lines)
