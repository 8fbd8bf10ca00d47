"""A fit's weight-matrix work (aebench.flops), the machine's sgemm peak (aebench.peak) and the
cost.json that aebench.runs.fit_run writes from them: counts equal to hand-computed ones, and
counting leaves the model, its mode and every random stream as they were."""

import contextlib
import json
import random

import numpy as np
import pytest
import torch

from aebench import flops, peak
from aebench.datasets import save_prepared
from aebench.datasets.digits import prepare_digits
from aebench.kinds import parse_model
from aebench.nets import build
from aebench.rbm_models import RBM, ReplicatedSoftmaxRBM
from aebench.runs import COST_FILE, fit_run

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def test_an_mlp_autoencoders_count_is_the_hand_computed_one():
    # 4-3-2-3-4, untied: weights 4*3 + 3*2 + 2*3 + 3*4 = 36; a product is 2 FLOP per weight.
    net = build("mlp", 4, hidden=[3], code_dim=2)
    forward = 2 * 36
    # Backward: every layer's weight gradient (= its forward), and the input gradient of
    # every layer but the first (the data need none): 2 * (6 + 6 + 12).
    train = forward + forward + 2 * (6 + 6 + 12)
    assert flops.net_flop(net, (4,)) == (train, forward) == (192, 72)


def test_a_tied_autoencoders_decoder_is_counted_too():
    net = build("mlp", 4, hidden=[3], code_dim=2, tied=True)  # decoder: F.linear, no nn.Linear
    assert flops.net_flop(net, (4,))[1] == 72


def test_a_conv_layers_count_is_the_hand_computed_one():
    # 1 -> 2 channels, 3x3, padding 1 on 5x5: 2 * 5 * 5 outputs of 9 multiply-adds each.
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Flatten())
    forward = 2 * (2 * 5 * 5) * 9
    assert flops.net_flop(net, (1, 5, 5)) == (2 * forward, forward) == (1800, 900)


@pytest.mark.parametrize("cls, products", [(RBM, 5), (ReplicatedSoftmaxRBM, 6)])
def test_an_rbms_cd1_step_is_counted_as_the_code_computes_it(cls, products):
    # hidden_prob, visible_prob, hidden_prob again, and the two outer products, of 6 x 4
    # weights; the replicated softmax computes its reconstruction's softmax twice (the
    # expected counts pv1, then again in sample_visible), one more product.
    rbm = cls(6, 4, torch.Generator().manual_seed(0))
    assert flops.rbm_flop(rbm) == (products * 2 * 24, 2 * 2 * 24)


def test_counting_leaves_the_model_and_the_random_streams_alone():
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    net = build("mlp", 8, hidden=[5], code_dim=2, code_noise=0.5)  # noise in training mode
    net.train()
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    rng = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    flops.net_flop(net, (8,))
    flops.rbm_flop(RBM(8, 3, torch.Generator().manual_seed(0)))
    assert net.training and all(p.grad is None for p in net.parameters())
    assert all(torch.equal(weights[k], v) for k, v in net.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng[0])
    assert np.array_equal(np.random.get_state()[1], rng[1]) and random.getstate() == rng[2]


def test_a_loops_work_is_its_epochs_times_its_samples():
    w = flops.loop_work("x", [{"seconds": 1.0}, {"seconds": 3.0}], 100, 10, (6, 2))
    assert (w.epochs, w.train_samples, w.val_samples, w.seconds) == (2, 200, 20, 4.0)
    assert w.flop == 200 * 6 + 20 * 2
    t = flops.Tally()
    t.add(w)
    s = t.summary(peak_gflops=1e-6)
    assert s["flop"] == 1240 and s["gflops"] == pytest.approx(310e-9, abs=1e-3)
    assert s["fraction_of_peak"] == pytest.approx(round(1240 / 4 / 1e9 / 1e-6, 4))


def test_a_tally_file_keeps_finished_loops_for_a_resumed_fit_only(tmp_path):
    path = tmp_path / "work.jsonl"
    w = flops.loop_work("layer 1", [{"seconds": 1.0}], 10, 5, (3, 1))
    flops.Tally(path).add(w)
    assert flops.Tally(path, resume=True).loops == {"layer 1": w}
    assert flops.Tally(path).loops == {} and not path.exists()  # a fresh fit starts over


def test_the_peak_is_measured_once_and_read_from_its_cache(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(peak, "measure", lambda device: calls.append(device) or 123.456)
    assert peak.sgemm_peak(tmp_path, "cpu", 1) == 123.46
    assert peak.sgemm_peak(tmp_path, "cpu", 1) == 123.46 and len(calls) == 1
    (f,) = tmp_path.glob("*-1t.json")
    assert json.loads(f.read_text())["device"] == peak.cpu_model()


def test_the_measured_peak_is_a_positive_rate():
    assert peak.measure("cpu", repeats=1) > 0


# --------------------------------------------------------------------------- fit_run


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    data, _ = prepare_digits()
    save_prepared(d / "digits.npz", data, 1 / 16, {})
    return d / "digits.npz"


def fit(tmp_path, digits, name, entry, **kw):
    spec = parse_model(name, entry, "digits", {})
    out = tmp_path / "runs" / name
    fit_run(spec, digits, 0, out, {}, device="cpu", threads=1,
            log=kw.pop("log", lambda s: None),
            checkpoint_dir=tmp_path / "checkpoints" / name, **kw)
    return out


AE = {"kind": "autoencoder", "params": {"hidden": [16], "code_dim": 4},
      "train": {"epochs": 3, "batch_size": 64}}


def test_fit_run_writes_cost_json_beside_unchanged_metrics(tmp_path, digits):
    cache = tmp_path / "peak"
    cache.mkdir()
    (cache / peak.cache_file(cache, peak.cpu_model(), 1).name).write_text('{"gflops": 100.0}')
    out = fit(tmp_path, digits, "ae", AE, peak_cache=cache)
    cost = json.loads((out / COST_FILE).read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert "flop" not in metrics and "gflops" not in metrics  # metrics.json is read wholesale
    n_train, n_val = (len(np.load(digits)[k]) for k in ("x_train", "x_val"))
    train, ev = flops.net_flop(build("mlp", 64, hidden=[16], code_dim=4), (64,))
    epochs = metrics["epochs"]
    assert cost["flop"] == epochs * (n_train * train + n_val * ev)
    assert cost["train_samples"] == epochs * n_train and cost["peak_gflops"] == 100.0
    assert cost["fraction_of_peak"] == pytest.approx(cost["gflops"] / 100.0, abs=1e-4)


def test_a_closed_form_fit_writes_no_cost(tmp_path, digits):
    out = fit(tmp_path, digits, "pca", {"kind": "pca", "params": {"n_components": 4}})
    assert not (out / COST_FILE).exists()


def test_a_resumed_stack_counts_the_layers_an_earlier_attempt_finished(tmp_path, digits):
    class Killed(Exception):
        pass

    def dying_log(s):
        if s.startswith("[ae layer 2] epoch    2/"):
            raise Killed  # layer 1 is finished and saved; layer 2 is not

    stack = {"kind": "stack", "params": {"init": {"kind": "ae", "params": {}}, "hidden": [16, 8],
                                         "pretrain": {"epochs": 2, "batch_size": 64}}}
    whole = json.loads((fit(tmp_path / "a", digits, "s", stack) / COST_FILE).read_text())
    with pytest.raises(Killed):
        fit(tmp_path / "b", digits, "s", stack, log=dying_log, checkpoint_interval=0)
    lines = []
    resumed = fit(tmp_path / "b", digits, "s", stack, log=lines.append, checkpoint_interval=0)
    assert any("resuming the stack after layer 1" in s for s in lines), lines
    resumed = json.loads((resumed / COST_FILE).read_text())
    assert [s["stage"] for s in resumed["stages"]] == ["ae layer 1", "ae layer 2"]
    assert resumed["flop"] == whole["flop"] > 0 and resumed["peak_gflops"] is None


@pytest.mark.parametrize("init", [{"kind": "ae", "params": {}},
                                  {"kind": "rbm", "params": {"epochs": 2, "batch_size": 50}}])
def test_a_stack_trained_while_counted_has_the_same_weights(init):
    """Layer 2 trains after layer 1 was counted: the count must not move a single bit."""
    from aebench.kinds import KINDS
    from aebench.train import set_determinism

    data, _ = prepare_digits()
    spec = parse_model("s", {"kind": "stack", "params": {
        "init": init, "hidden": [16, 8], "pretrain": {"epochs": 2, "batch_size": 64}}},
        "digits", {})
    weights = []
    for counted in (True, False):
        set_determinism(0, 1)
        m = KINDS["stack"](spec)
        tally = flops.Tally()
        with tally if counted else contextlib.nullcontext():
            m.fit(data, 0, {}, device="cpu", log=lambda s: None)
        assert len(tally.loops) == (2 if counted else 0)
        weights.append(m.stack.weights + m.stack.biases)
    assert all(torch.equal(a, b) for a, b in zip(*weights))


def test_before_jobs_measures_the_cpu_where_auto_finds_no_gpu(tmp_path, monkeypatch):
    """`gpu: 1` on a machine whose torch sees no GPU (a scheduling count, not a device): the
    pre-run peak is the CPU's, as the fits' `device: auto` resolves, instead of a crash."""
    from aebench import peak

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(peak, "measure", lambda device, *a, **k: 42.0 if str(device) == "cpu" else 1 / 0)
    assert peak.before_jobs(tmp_path, 1, "auto", log=lambda m: None) == 42.0
    assert peak.cache_file(tmp_path, peak.cpu_model(), 1).is_file()
