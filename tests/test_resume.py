"""Resumable training (aebench.checkpoint): a fit stopped by SIGTERM (or killed outright) and
run again ends with the same weights, history and metrics, bit for bit, as one never stopped
(same seed, CPU, one thread); its checkpoints live outside the run directory, are removed on
success, and are never resumed from by another spec, seed or data set."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from aebench import checkpoint_key as ck_mod
from aebench import finetune, pretrain
from aebench.checkpoint import Checkpointer, Interrupted
from aebench.datasets import save_prepared
from aebench.datasets.digits import prepare_digits
from aebench.kinds import make, parse_model
from aebench.spec import InitSpec, TrainConfig
from aebench.train import set_determinism

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits():
    p, _ = prepare_digits()  # 1200 train, 200 val, 397 test images of 64 pixels
    return p


# --------------------------------------------------------------------------- harness


def attempt(monkeypatch, train, directory, kill=None, interval=1e9):
    """One run of a job: ``train(checkpoint, log)`` from the job's fresh start.

    ``kill = (stage, n)``: this process gets a real SIGTERM at the n-th time the loop of that
    stage looks at the stop flag (after each minibatch, and at each epoch's end), counted from
    this attempt's start. Returns (result or None if interrupted, log lines)."""
    lines = []
    ck = Checkpointer(directory, "key", interval=interval, log=lines.append)
    reads = {}

    def stop_requested(self):
        reads[self.name] = reads.get(self.name, 0) + 1
        if kill is not None and (self.name, reads[self.name]) == tuple(kill):
            os.kill(os.getpid(), signal.SIGTERM)
            deadline = time.monotonic() + 5
            while not self._s.stop_requested and time.monotonic() < deadline:
                time.sleep(0.001)  # the Python-level handler runs between bytecodes
        return self._s.stop_requested

    with monkeypatch.context() as m:
        m.setattr(Checkpointer, "stop_requested", property(stop_requested))
        with ck.on_sigterm():
            try:
                return train(ck, lines.append), lines
            except Interrupted:
                return None, lines


def no_seconds(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def assert_same(a, b):
    (wa, ha), (wb, hb) = a, b
    assert list(wa) == list(wb)
    for k in wa:
        assert torch.equal(wa[k], wb[k]), f"{k} differs"
    assert no_seconds(ha) == no_seconds(hb)


def kind_job(digits, entry):
    """A fit as aebench.runs.fit_run does it: fresh seed state, the kind's fit."""

    def train(checkpoint, log):
        set_determinism(0, threads=1)
        m = make(entry, dataset="digits")
        kw = {"checkpoint": checkpoint} if checkpoint is not None else {}
        hist = m.fit(digits, 0, {}, device="cpu", log=log, **kw)
        if hasattr(m, "net"):
            weights = {k: v.clone() for k, v in m.net.state_dict().items()}
        else:
            s = m.stack
            weights = {f"{what}{k}": t for what, ts in (("w", s.weights), ("b", s.biases),
                                                        ("vb", s.visible_biases))
                       for k, t in enumerate(ts)}
        return weights, hist

    return train


def finetune_job(digits):
    def train(checkpoint, log):
        set_determinism(0, threads=1)
        init = InitSpec.parse({"kind": "random"}, "init", pretrain.INITS)
        stack = pretrain.pretrain(init, digits.x_train, digits.x_val, [64, 32, 16],
                                  TrainConfig(), 0, "cpu", log=log)
        net, hist, info = finetune.finetune(stack, digits, 100, 0,
                                            TrainConfig(epochs=6, batch_size=32, lr=3e-3),
                                            min_epoch_samples=400, log=log,
                                            checkpoint=checkpoint and checkpoint.stage("finetune"))
        return {**net.state_dict(), **{k: torch.tensor(v) for k, v in info.items()
                                       if isinstance(v, float)}}, hist

    return train


def tune_job(digits):
    """E6's fine-tuning recipe: a tuning grid of two trials, each SGD, stopped on validation
    error, the output layer warmed up alone on a pre-trained (RBM) stack."""
    def train(checkpoint, log):
        set_determinism(0, threads=1)
        init = InitSpec.parse({"kind": "rbm", "params": {"epochs": 1, "batch_size": 50}},
                              "init", pretrain.INITS)
        stack = pretrain.pretrain(init, digits.x_train, digits.x_val, [64, 16],
                                  TrainConfig(), 0, "cpu", log=log)
        cfg = TrainConfig(epochs=4, batch_size=32, optimizer="sgd", lr=0.1, stop_on="error",
                          warmup_top_epochs=1, patience=3)
        net, hist, info = finetune.tune(stack, digits, 100, 0, cfg, {"lr": [0.1, 0.3]},
                                        min_epoch_samples=400, log=log,
                                        checkpoint=checkpoint and checkpoint.stage("finetune"))
        return {**net.state_dict(), **{k: torch.tensor(v) for k, v in info.items()
                                       if isinstance(v, float)}}, hist

    return train


RBM = {"epochs": 3, "batch_size": 50, "initial_momentum_epochs": 1}
JOBS = {
    # input masking and code noise: both draw from the global torch RNG while training
    "mlp_noisy": ({"kind": "autoencoder",
                   "params": {"hidden": [32], "code_dim": 8, "code_activation": "sigmoid",
                              "code_noise": 0.5, "input_noise": {"kind": "mask", "level": 0.3}},
                   "train": {"epochs": 6, "batch_size": 64, "lr": 3e-3, "lr_decay": 0.9}},
                  [("fit", 27), ("fit", 40)]),  # mid epoch 2; then later in the resumed run
    # lr 0.1: the best epoch is 6, epochs 7 and 8 are worse, early stop after 8 (patience 2).
    # Stopped at the end of epoch 7 (best weights and bad-epoch count in the checkpoint),
    # then at the end of epoch 8 (the loop's last: the resumed run only restores the best).
    "mlp_early_stop": ({"kind": "autoencoder", "params": {"hidden": [32], "code_dim": 8},
                        "train": {"epochs": 12, "batch_size": 64, "lr": 0.1, "patience": 2}},
                       [("fit", 140), ("fit", 20)]),
    "conv": ({"kind": "autoencoder", "params": {"arch": "conv", "channels": [4, 4]},
              "train": {"epochs": 4, "batch_size": 64}},
             [("fit", 20)]),  # the end of epoch 1
    # 3 RBMs (the top one linear), unrolled, fine-tuned with input noise
    "rbm_pretrained_ae": ({"kind": "autoencoder",
                           "params": {"hidden": [32, 16], "code_dim": 8, "activation": "sigmoid",
                                      "input_noise": {"kind": "gaussian", "level": 0.1},
                                      "pretrain": {"kind": "rbm", "params": RBM}},
                           "train": {"epochs": 4, "batch_size": 64}},
                          [("pretrain/layer2", 30), ("fit", 25)]),
    "rbm_stack": ({"kind": "stack", "params": {"init": {"kind": "rbm", "params": RBM},
                                               "hidden": [32, 16, 8]}},
                  [("stack/layer1", 50), ("stack/layer3", 10)]),
    "ae_stack": ({"kind": "stack",
                  "params": {"init": {"kind": "ae", "params": {
                      "input_noise": {"kind": "gaussian", "level": 0.1}}},
                      "hidden": [32, 16, 8],
                      "pretrain": {"epochs": 3, "batch_size": 64, "lr": 1e-2}}},
                 [("stack/layer2", 25), ("stack/layer3", 3)]),
}


# --------------------------------------------------------------------------- resuming


@pytest.mark.parametrize("name", list(JOBS) + ["finetune", "tune"])
def test_a_job_stopped_by_sigterm_and_run_again_ends_bit_identical(digits, monkeypatch, tmp_path,
                                                                    name):
    torch.set_num_threads(1)
    if name == "finetune":
        job, kills = finetune_job(digits), [("finetune", 20), ("finetune", 33)]
    elif name == "tune":  # mid trial 1 (in its warm-up epoch); then mid trial 2
        job, kills = tune_job(digits), [("finetune/trial1", 5), ("finetune/trial2", 20)]
    else:
        entry, kills = JOBS[name]
        job = kind_job(digits, entry)
    plain = job(None, lambda s: None)  # no checkpointer at all
    ck_dir = tmp_path / "checkpoints" / name / "seed0"
    for kill in kills:
        result, lines = attempt(monkeypatch, job, ck_dir, kill=kill)
        assert result is None, f"not stopped at {kill}"
        assert any("stopped by SIGTERM" in s for s in lines)
        assert ck_dir.is_dir()
    result, lines = attempt(monkeypatch, job, ck_dir)
    assert any("resuming" in s for s in lines), lines
    assert_same(result, plain)
    if name == "mlp_early_stop":
        assert len(plain[1]) == 8 and min(plain[1], key=lambda r: r["val_loss"])["epoch"] == 6
        assert not any("] epoch" in s for s in lines)  # nothing left to train


def test_a_killed_job_resumes_from_its_last_periodic_checkpoint(digits, monkeypatch, tmp_path):
    """SIGKILL (or a dead node) gives no warning: the run resumes from the last save."""

    class Killed(Exception):
        pass

    entry, _ = JOBS["mlp_noisy"]
    job = kind_job(digits, entry)
    plain = job(None, lambda s: None)

    def killed_after_epoch_4(checkpoint, log):
        def dying_log(s):
            log(s)
            if "epoch    4/" in s:
                raise Killed  # before epoch 4's checkpoint: the last one is epoch 3's
        return job(checkpoint, dying_log)

    with pytest.raises(Killed):
        attempt(monkeypatch, killed_after_epoch_4, tmp_path / "ck", interval=0)
    assert (tmp_path / "ck" / "fit.pt").exists()
    result, lines = attempt(monkeypatch, job, tmp_path / "ck", interval=0)
    assert any("resuming from epoch 3" in s for s in lines), lines
    assert_same(result, plain)


@pytest.mark.parametrize("layers", [1, 3])
def test_a_job_killed_between_stages_resumes_from_the_finished_layers(digits, monkeypatch,
                                                                      tmp_path, layers):
    """Killed right after the stack's layer ``layers`` was saved: the resumed job trains no
    finished layer again, and the fine-tuning's noise continues the stack's RNG stream."""

    class Killed(Exception):
        pass

    entry = {"kind": "autoencoder",
             "params": {"hidden": [32, 16], "code_dim": 8, "activation": "sigmoid",
                        "input_noise": {"kind": "mask", "level": 0.2},
                        "pretrain": {"kind": "ae", "params": {
                            "input_noise": {"kind": "gaussian", "level": 0.1}}}},
             "train": {"epochs": 3, "batch_size": 64}}
    job = kind_job(digits, entry)
    plain = job(None, lambda s: None)

    def killed(checkpoint, log):
        def dying_log(s):
            log(s)
            if f"the stack's first {layers} layer(s)" in s:
                raise Killed
        return job(checkpoint, dying_log)

    with pytest.raises(Killed):
        attempt(monkeypatch, killed, tmp_path / "ck")
    result, lines = attempt(monkeypatch, job, tmp_path / "ck")
    assert any(f"resuming the stack after layer {layers}/3" in s for s in lines), lines
    assert not any(f"[ae layer {k}] epoch" in s for s in lines for k in range(1, layers + 1))
    assert_same(result, plain)


def test_sigterm_outside_a_training_loop_stops_at_once(tmp_path):
    previous = signal.getsignal(signal.SIGTERM)
    ck = Checkpointer(tmp_path / "ck", "key", log=lambda s: None)
    with pytest.raises(Interrupted, match="outside a training loop"):
        with ck.on_sigterm():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(5000):
                time.sleep(0.001)
    assert signal.getsignal(signal.SIGTERM) == previous  # the handler is put back


def test_clear_removes_the_run_and_emptied_parents_only(tmp_path):
    root = tmp_path / "results" / "checkpoints"
    cks = {k: Checkpointer(root / "m" / f"seed{k}", "key", log=lambda s: None) for k in (0, 1)}
    for c in cks.values():
        c.stage("fit").save({"epoch": 1})
    cks[0].clear()
    assert not (root / "m" / "seed0").exists() and (root / "m" / "seed1" / "fit.pt").exists()
    cks[1].clear()
    assert not root.exists() and (tmp_path / "results").is_dir()
    other = Checkpointer(tmp_path / "elsewhere" / "ck", "key", log=lambda s: None)
    other.stage("fit").save({"epoch": 1})
    other.clear()
    assert (tmp_path / "elsewhere").is_dir()  # not the pipeline's layout: only ck goes


# --------------------------------------------------------------------------- keys


def test_a_checkpoint_of_another_run_is_discarded_not_resumed(tmp_path):
    lines = []
    a = Checkpointer(tmp_path / "ck", "key-a", log=lines.append)
    a.stage("fit").save({"epoch": 3})
    assert a.stage("fit").load() == {"epoch": 3}
    b = Checkpointer(tmp_path / "ck", "key-b", log=lines.append)
    assert any("discarding" in s for s in lines)
    assert not (tmp_path / "ck").exists() and b.stage("fit").load() is None
    # a stray file with another key (copied in by hand) is not used either
    a2 = Checkpointer(tmp_path / "ck2", "key-a", log=lines.append)
    a2.stage("fit").save({"epoch": 1})
    b2 = Checkpointer(tmp_path / "ck3", "key-b", log=lines.append)
    (tmp_path / "ck3").mkdir()
    (tmp_path / "ck2" / "fit.pt").rename(tmp_path / "ck3" / "fit.pt")
    assert b2.stage("fit").load() is None
    assert any("not resuming from it" in s for s in lines)


def test_the_key_follows_spec_seed_data_device_and_threads(tmp_path):
    data = tmp_path / "d.npz"
    data.write_bytes(b"one")
    spec = {"name": "ae", "train": {"lr": 1e-3}}
    key = ck_mod.run_key(spec, 0, data, {}, "cpu", 1)
    assert key == ck_mod.run_key(dict(spec), 0, data, {}, "cpu", 1)
    others = [ck_mod.run_key({"name": "ae", "train": {"lr": 1e-2}}, 0, data, {}, "cpu", 1),
              ck_mod.run_key(spec, 1, data, {}, "cpu", 1),
              ck_mod.run_key(spec, 0, data, {}, "cuda", 1),
              ck_mod.run_key(spec, 0, data, {}, "cpu", 2)]
    data.write_bytes(b"two")
    others.append(ck_mod.run_key(spec, 0, data, {}, "cpu", 1))
    assert key not in others and len(set(others)) == len(others)


# --------------------------------------------------------------------------- the real job


CHILD = r"""
import json, runpy, sys, time, types

args = json.loads(sys.argv[1])
if args["sleep"]:  # slow training down so that the test can stop it mid-way
    import aebench.rbm as rbm
    import aebench.train as train

    def slow(fn):
        def wrapped(*a, **k):
            time.sleep(args["sleep"])
            return fn(*a, **k)
        return wrapped

    train.reconstruction_loss = slow(train.reconstruction_loss)
    rbm.RBM.batch_loss = slow(rbm.RBM.batch_loss)
ns = types.SimpleNamespace
sm = ns(log=[args["log"]], threads=1, output=[args["out"]], input=ns(data=args["data"]),
        params=ns(spec=args["spec"], deps={}, device="cpu"),
        wildcards=ns(model=args["model"], seed="0"))
runpy.run_path(args["script"], init_globals={"snakemake": sm}, run_name="__main__")
"""


def _job(work: Path, spec: dict, data: Path, sleep: float) -> tuple[subprocess.Popen, Path]:
    """workflow/scripts/fit.py as Snakemake runs it (its own process, cwd = the workdir)."""
    log = work / "fit.log"
    args = {"sleep": sleep, "log": str(log), "out": "results/runs/m/seed0", "data": str(data),
            "spec": spec, "model": "m", "script": str(ROOT / "workflow" / "scripts" / "fit.py")}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow" / "src"),
           "AEBENCH_CHECKPOINT_SECONDS": "1e9"}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, log


def _stop_when(proc, log: Path, pattern: str) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if pattern in text:
            proc.send_signal(signal.SIGTERM)
            break
        assert proc.poll() is None, f"the job ended before {pattern!r}:\n{text}"
        time.sleep(0.02)
    else:
        proc.kill()
        pytest.fail(f"no {pattern!r} in the log within 120 s")
    out, _ = proc.communicate(timeout=120)
    return out


def _outputs(run: Path) -> dict:
    state = torch.load(run / "model.pt", weights_only=False)["state"]
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.pop("train_seconds")
    with np.load(run / "codes.npz") as z:
        codes = {k: z[k] for k in z.files}
    return {"state": state, "metrics": metrics, "codes": codes,
            "history": pd.read_csv(run / "history.csv").drop(columns="seconds")}


def test_the_fit_script_killed_by_sigterm_resumes_to_the_same_run(digits, tmp_path):
    """Two real SIGTERMs to the rule's script (during pre-training, then fine-tuning), then a
    third run to the end: the run directory equals an uninterrupted job's."""
    data = tmp_path / "digits.npz"
    save_prepared(data, digits, 1 / 16, {})
    spec = parse_model("m", {"kind": "autoencoder",
                             "params": {"hidden": [32, 16], "code_dim": 8,
                                        "activation": "sigmoid",
                                        "input_noise": {"kind": "mask", "level": 0.2},
                                        "pretrain": {"kind": "rbm", "params": RBM}},
                             "train": {"epochs": 10, "batch_size": 64}},
                       "digits", {}).to_dict()
    ref, res = tmp_path / "ref", tmp_path / "res"
    ref.mkdir(), res.mkdir()
    proc, _ = _job(ref, spec, data, 0)
    assert proc.wait(timeout=300) == 0, proc.stdout.read()

    ck_dir = res / "results" / "checkpoints" / "m" / "seed0"
    run = res / "results" / "runs" / "m" / "seed0"
    for pattern in ("[rbm layer 2] epoch    1/", "[m seed 0] epoch    2/"):
        proc, log = _job(res, spec, data, 0.01)  # 10 ms per minibatch
        out = _stop_when(proc, log, pattern)
        assert proc.returncode != 0
        assert "aebench: Interrupted: stopped by SIGTERM" in out, out
        assert "stopped by SIGTERM" in log.read_text()
        assert ck_dir.is_dir() and (ck_dir / "pretrain.pt").exists()
        subprocess.run(["rm", "-rf", str(run)], check=True)  # as Snakemake does on failure
    proc, log = _job(res, spec, data, 0)
    assert proc.wait(timeout=300) == 0, proc.stdout.read()
    text = log.read_text()
    assert "resuming the stack after layer 3/3" in text and "resuming from epoch" in text, text
    assert not ck_dir.exists() and not (res / "results" / "checkpoints").exists()

    a, b = _outputs(ref / "results" / "runs" / "m" / "seed0"), _outputs(run)
    assert list(a["state"]) == list(b["state"])
    for k in a["state"]:
        assert torch.equal(a["state"][k], b["state"][k]), k
    assert a["metrics"] == b["metrics"]
    pd.testing.assert_frame_equal(a["history"], b["history"], check_exact=True)
    for k in a["codes"]:
        np.testing.assert_array_equal(a["codes"][k], b["codes"][k])
