"""Training throughput of the deep AE 784-1000-500-250-30 on in-memory MNIST, three ways.

1. ``aebench.train.fit``: the training core every model of the pipeline goes through;
2. a bare hand-written PyTorch loop: the framework limit, the loop a competent user writes;
3. pythae's ``TrainingPipeline`` with its ``AE`` model (the peer; ``pip install pythae``).

All three train the same architecture from the same initial weights on the same tensors,
with the same batch size, epochs, Adam learning rate and objective (pythae's AE loss:
squared error, which ours and the bare loop use as ``mse``; the scale differs by the number
of pixels, which Adam does not see), and all three compute the validation loss once per epoch
(pythae and ours need it for keeping the best epoch). Time is wall time of the training call.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from aebench import nets
from aebench.train import TrainConfig, fit, set_determinism

from . import Row


@dataclass
class Result:
    name: str
    seconds: float
    samples_per_s: float
    val_sq_err: float  # squared error per validation image after training, computed one way
    gflops: float = float("nan")  # matrix-multiply work done per second (see training_flops)


def training_flops(model: torch.nn.Module, n_train: int, n_val: int, epochs: int) -> float:
    """Multiply-add work of the weight matrices: a forward pass is 2 FLOPs per weight per
    sample, a backward pass twice that (gradients of the inputs and of the weights); the
    validation pass is forward only. Biases and activations are left out (under 1%)."""
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    return epochs * (6 * weights * n_train + 2 * weights * n_val)


def sgemm_peak_gflops(device, threads: int, n: int = 2048, repeats: int = 10) -> float:
    """The machine's float32 matrix-multiply rate at these threads: the best of ``repeats``
    n x n products (torch.mm, i.e. the BLAS / cuBLAS the training runs on)."""
    torch.set_num_threads(threads)
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(repeats + 1):  # the first warms up
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def make_model(seed: int, dim: int = 784) -> torch.nn.Module:
    set_determinism(seed)
    return nets.build("mlp", dim, hidden=[1000, 500, 250], code_dim=30)


@torch.no_grad()
def val_sq_err(model, x_val: torch.Tensor) -> float:
    model.eval()
    return float(((model(x_val) - x_val) ** 2).sum(1).mean())


def run_ours(model, x_train, x_val, epochs, batch_size, lr, device) -> float:
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, loss="mse", lr_decay=1.0,
                      patience=epochs + 1)
    t0 = time.perf_counter()
    fit(model, x_train, x_val, cfg, seed=0, device=device, log=lambda m: None, name="ours")
    return time.perf_counter() - t0


def run_bare(model, x_train, x_val, epochs, batch_size, lr, device) -> float:
    t0 = time.perf_counter()
    model.to(device)
    x_train, x_val = x_train.to(device), x_val.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    n = len(x_train)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen).to(device)
        for i in range(0, n, batch_size):
            xb = x_train[perm[i:i + batch_size]]
            loss = F.mse_loss(model(xb), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            F.mse_loss(model(x_val), x_val).item()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def run_pythae(model, x_train, x_val, epochs, batch_size, lr, device):
    """Returns (seconds, trained model) - pythae returns a copy: its best epoch."""
    from pythae.models import AE, AEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainerConfig

    class Encoder(BaseEncoder):
        def __init__(self, ae):
            super().__init__()
            self.ae = ae

        def forward(self, x):
            return ModelOutput(embedding=self.ae.encode(x.reshape(len(x), -1)))

    class Decoder(BaseDecoder):
        def __init__(self, ae):
            super().__init__()
            self.ae = ae

        def forward(self, z):
            return ModelOutput(reconstruction=self.ae.decode(z))

    ae = AE(AEConfig(input_dim=(x_train.shape[1],), latent_dim=30),
            encoder=Encoder(model), decoder=Decoder(model))
    with tempfile.TemporaryDirectory() as out:
        cfg = BaseTrainerConfig(output_dir=out, num_epochs=epochs, learning_rate=lr,
                                per_device_train_batch_size=batch_size,
                                per_device_eval_batch_size=batch_size, optimizer_cls="Adam",
                                steps_saving=None, no_cuda=device.type != "cuda", seed=0)
        pipe = TrainingPipeline(training_config=cfg, model=ae)
        t0 = time.perf_counter()
        # pythae's progress bars (stderr) and INFO log lines are silenced: legible report
        logging.disable(logging.INFO)
        try:
            with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
                pipe(train_data=x_train.numpy(), eval_data=x_val.numpy())
        finally:
            logging.disable(logging.NOTSET)
        seconds = time.perf_counter() - t0
    best = pipe.trainer._best_model.encoder.ae.to("cpu")
    return seconds, best


def measure(x_train: np.ndarray, x_val: np.ndarray, *, epochs: int, batch_size: int = 256,
            lr: float = 1e-3, device: str = "cpu", threads: int = 2, with_pythae: bool = True,
            log=print) -> list[Result]:
    torch.set_num_threads(threads)
    device = torch.device(device)
    xt, xv = torch.as_tensor(x_train), torch.as_tensor(x_val)
    init = make_model(0, xt.shape[1])
    runners = {"aebench.train.fit": run_ours, "bare PyTorch loop": run_bare}
    if with_pythae:
        runners["pythae TrainingPipeline"] = run_pythae
    results = []
    for name, runner in runners.items():
        model = copy.deepcopy(init)  # same initial weights for all three
        log(f"throughput: {name}, {epochs} epochs x {len(xt)} images, batch {batch_size} ...")
        out = runner(model, xt, xv, epochs, batch_size, lr, device)
        seconds, model = out if isinstance(out, tuple) else (out, model)
        flops = training_flops(init, len(xt), len(xv), epochs)
        r = Result(name, seconds, epochs * len(xt) / seconds, val_sq_err(model.cpu(), xv),
                   flops / seconds / 1e9)
        log(f"  {r.seconds:.1f} s, {r.samples_per_s:.0f} images/s, val squared error {r.val_sq_err:.3f}")
        results.append(r)
    peak = sgemm_peak_gflops(device, threads)
    log(f"throughput: sgemm peak {peak:.1f} GFLOP/s ({threads} threads, {device})")
    results.append(Result("sgemm peak", 0.0, 0.0, float("nan"), peak))
    return results


def rows(results: list[Result], device: str) -> list[Row]:
    peak = next((r.gflops for r in results if r.name == "sgemm peak"), float("nan"))
    results = [r for r in results if r.name != "sgemm peak"]
    by = {r.name: r for r in results}
    ours, bare = by["aebench.train.fit"], by["bare PyTorch loop"]
    part = f"throughput ({device})"
    out = [Row(part, f"{r.name}: images/s", r.samples_per_s, "img/s") for r in results]
    out.append(Row(part, "ours / bare loop", ours.samples_per_s / bare.samples_per_s, "x",
                   ">= 0.95", ours.samples_per_s / bare.samples_per_s >= 0.95))
    if "pythae TrainingPipeline" in by:
        py = by["pythae TrainingPipeline"]
        out.append(Row(part, "ours / pythae", ours.samples_per_s / py.samples_per_s, "x", ">= 2",
                       ours.samples_per_s / py.samples_per_s >= 2))
        # What any loop over the same math could gain over pythae here: if the bare loop is
        # not 2x pythae, pythae's overhead is too small a share of its time for 2x to exist.
        out.append(Row(part, "ceiling: bare loop / pythae", bare.samples_per_s / py.samples_per_s,
                       "x"))
    # The physical limit: how much of the machine's matrix-multiply rate the training core
    # turns into training work (the rest: elementwise ops, optimizer, memory traffic).
    out.append(Row(part, "sgemm peak (torch.mm 2048x2048, same threads)", peak, "GFLOP/s"))
    out.append(Row(part, "aebench.train.fit: weight-matrix work", ours.gflops, "GFLOP/s"))
    out.append(Row(part, "aebench.train.fit: fraction of sgemm peak", ours.gflops / peak, ""))
    errs = [r.val_sq_err for r in results]
    spread = (max(errs) - min(errs)) / min(errs)
    out.append(Row(part, "final val squared error, relative spread", spread, "",
                   "<= 0.1 (same loss within noise)", spread <= 0.1))
    return out
