"""The one training core every autoencoder goes through.

Tensors live in memory on the training device (moved once), minibatches are drawn by a
seeded permutation, Adam updates the weights, and the epoch with the best validation loss
is kept (early stopping). One loop for all variants: what differs between them (input
corruption, penalties on the code) is the *objective*, a small function passed in.
"""

from __future__ import annotations

import copy
import math
import os
from typing import Callable

# cuBLAS needs this set before its first use to run deterministically (see
# torch.use_deterministic_algorithms); harmless on CPU.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from .spec import TrainConfig  # noqa: E402,F401 (re-exported)


class DivergenceError(RuntimeError):
    """The loss became NaN or infinite; the message says which model and what to change."""


# --------------------------------------------------------------------------- runtime


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was asked for but torch sees no GPU; "
                           "set `device: auto` or `device: cpu` in config.yaml")
    return torch.device(device)


# Denormal floats (below 1.2e-38) are computed in microcode on x86 CPUs, tens of times slower
# than normal ones. Late in training some nets make many (the linear AEs' epochs go from 0.1 s
# to 1.1 s after epoch ~22, hash256's double after the eighth); flushing them to zero removes
# that and moves no loss by more than float noise (python -m aebench_bench --parts fits:
# the "before: denormals kept" rows). CPU only; a GPU's kernels flush on their own settings.
FLUSH_DENORMALS = True


def set_determinism(seed: int, threads: int | None = None) -> None:
    """Same seed on the same device (and thread count) gives the same numbers."""
    # Before the thread pool starts: pool threads inherit the creating thread's float flags.
    torch.set_flush_denormal(FLUSH_DENORMALS)
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)
    # The ATen flag that kernels read. The public torch.use_deterministic_algorithms also sets
    # torch._inductor.config.deterministic, and importing torch._inductor (+ dynamo) costs ~3 s,
    # paid by every job of the pipeline (most of a small job's wall time). Nothing here uses
    # torch.compile, so the inductor setting has nothing to act on.
    torch._C._set_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    # Full fp32 on GPUs: TF32 (cuDNN's default for convolutions on Ampere and later) keeps 10
    # mantissa bits, which moves GPU numbers away from the CPU ones by more than fp32 noise.
    torch.backends.cuda.matmul.fp32_precision = "ieee"
    torch.backends.cudnn.conv.fp32_precision = "ieee"


# --------------------------------------------------------------------------- objectives


def reconstruction_loss(xhat: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    if xhat.dtype != x.dtype:  # a bf16 step's output: the loss is taken in the data's fp32
        with torch.autocast(xhat.device.type, enabled=False):
            return reconstruction_loss(xhat.to(x.dtype), x, kind)
    if kind == "bce":
        return F.binary_cross_entropy(xhat, x)
    if kind == "mse":
        return F.mse_loss(xhat, x)
    if kind == "softmax_ce":
        # Each document's word distribution x / sum(x) against the softmax output, averaged
        # over documents (Hinton & Salakhutdinov's fine-tuning of the document AE): the
        # same on word frequencies (input: doc_normalize) and on counts (count_input), where it
        # is the D-weighted cross-entropy -sum_k v_k log p_k divided by D, so that a
        # 10k-word document weighs as much as a 10-word one (see config.yaml's text_ae10).
        t = x / x.sum(1, keepdim=True).clamp_min(1e-12)
        return -(t * torch.log(xhat.clamp_min(1e-12))).sum(1).mean()
    raise ValueError(f"unknown loss {kind!r}: use 'bce', 'mse' or 'softmax_ce'")


# A minibatch's loss: (model, minibatch, settings) -> scalar tensor. The minibatch is a tensor,
# or a tuple of tensors indexed together (a classifier's inputs and labels). Its random draws
# (input corruption, code noise) come from the global RNG, which checkpoints save.
LossFn = Callable[[torch.nn.Module, "torch.Tensor | tuple", TrainConfig], torch.Tensor]


def autoencoder_objective(model, x, cfg: TrainConfig, *, corrupt=None,
                          penalty=None) -> torch.Tensor:
    """Reconstruction loss plus the optional L1 / L2 penalties on the code.

    Variants (aebench.variants, bound with functools.partial): ``corrupt(x)`` makes the
    encoder's input (denoising AE) while the loss still targets the clean ``x``;
    ``penalty(model, x_in, z)`` adds a weighted penalty (sparse, contractive). With neither,
    the computation is exactly the plain one.
    """
    x_in = corrupt(x) if corrupt is not None else x
    z = model.encode(x_in)
    loss = reconstruction_loss(model.decode(z), x, cfg.loss)  # target: the clean input
    if cfg.code_l1:
        loss = loss + cfg.code_l1 * z.abs().mean()
    if cfg.code_l2:
        loss = loss + cfg.code_l2 * z.pow(2).sum(1).mean()
    if penalty is not None:
        loss = loss + penalty(model, x_in, z)
    return loss


def classification_objective(model, batch, cfg: TrainConfig) -> torch.Tensor:
    """Cross-entropy of the logits ``model(x)`` against the labels (fine-tuning, E6)."""
    x, y = batch
    return F.cross_entropy(model(x).float(), y)  # fp32 logits: a bf16 step's loss in fp32


# --------------------------------------------------------------------------- loop


@torch.no_grad()
def batched(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int = 4096):
    """Apply ``fn`` to ``x`` in chunks (bounded memory), concatenating the results."""
    return torch.cat([fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def validation_loss(model, x_val: torch.Tensor, cfg: TrainConfig) -> float:
    total = 0.0
    for i in range(0, len(x_val), 4096):
        xb = x_val[i:i + 4096]
        total += reconstruction_loss(model(xb), xb, cfg.loss).item() * len(xb)
    return total / len(x_val)


@torch.no_grad()
def classification_scores(model, data) -> tuple[float, float]:
    """Mean cross-entropy and zero-one error of ``model`` on ``(x, y)`` tensors."""
    x, y = data
    total, wrong = 0.0, 0
    for i in range(0, len(x), 4096):
        logits, yb = model(x[i:i + 4096]), y[i:i + 4096]
        total += F.cross_entropy(logits, yb, reduction="sum").item()
        wrong += int((logits.argmax(1) != yb).sum().item())
    return total / len(x), wrong / len(x)


@torch.no_grad()
def classification_validation_loss(model, val, cfg: TrainConfig) -> dict:
    """Validation cross-entropy and zero-one error of a classifier on ``(x, y)``: what
    early-stops fine-tuning (``cfg.stop_on``), both logged every epoch."""
    loss, error = classification_scores(model, val)
    return {"val_loss": loss, "val_error": error}


def native_bf16(device: torch.device) -> bool:
    """``device`` computes bfloat16 products in hardware (elsewhere they are emulated, slower
    than fp32): a GPU that says so, or a CPU with avx512_bf16 or amx_bf16 (x86) or bf16
    (arm64) among its /proc/cpuinfo flags."""
    from .peak import cpu_flags

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16", "bf16"})


def precision_context(cfg: TrainConfig, device: torch.device, name: str):
    """The training step's autocast (``precision: bf16``), or nothing; refuses bf16 where the
    device would emulate it."""
    import contextlib

    if cfg.precision == "fp32":
        return contextlib.nullcontext()
    if not native_bf16(device):
        raise RuntimeError(
            f"[{name}] precision: bf16 needs a device that computes bfloat16 natively (a GPU, "
            f"or a CPU with avx512_bf16 or amx_bf16); {device.type} here has none and would "
            f"be slower than fp32. Set `precision: fp32` (the default) in `training:`.")
    return torch.autocast(device.type, dtype=torch.bfloat16)


def _make_optimizer(model, cfg: TrainConfig, device: torch.device):
    # Weight decay is decoupled (AdamW): L2 added to the gradient (Adam's weight_decay) is
    # rescaled by Adam's per-weight step size, so it mostly slows training. Measured on the
    # full-MNIST ae30 after 14 epochs, validation BCE: no decay 0.0913, Adam's L2 at 1e-5
    # 0.1076, AdamW at 0.05 0.0926. Without decay both are plain Adam.
    # SGD's weight_decay is the classic L2 weight cost (added to the gradient), as the papers'
    # fine-tuning used it. Not fused: fused SGD fails on a step where some momentum buffers
    # exist and others not yet, as after an output-layer warm-up (warmup_top_epochs).
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    opt = torch.optim.AdamW if cfg.weight_decay else torch.optim.Adam
    kwargs = dict(lr=cfg.lr, weight_decay=cfg.weight_decay)
    try:  # the fused kernel does the whole update in one pass (CPU and CUDA in torch 2.4+)
        return opt(model.parameters(), fused=True, **kwargs)
    except (RuntimeError, TypeError):
        return opt(model.parameters(), **kwargs)


def _to_device(x, device):
    """An array, or a tuple of arrays (inputs and labels), as tensors on ``device``."""
    if isinstance(x, tuple):
        return tuple(torch.as_tensor(a, device=device) for a in x)
    return torch.as_tensor(x, device=device)


def better(score, best) -> bool:
    """Whether an epoch's validation ``score`` beats ``best`` (math.inf before any epoch): a
    loss must be lower by more than 0.01% (float noise is not progress); an ``(error, loss)``
    pair must have a lower error, or the same error and a loss lower by that much."""
    if isinstance(score, tuple):
        if best == math.inf:
            return score[1] < math.inf  # a NaN loss is never the best
        (error, loss), (best_error, best_loss) = score, best
        return error < best_error or (error == best_error and loss < best_loss * (1 - 1e-4))
    return score < best * (1 - 1e-4)


class EarlyStopping:
    """The best validation score so far (a loss, or an ``(error, loss)`` pair: :func:`better`),
    the weights that gave it, and the epochs since."""

    def __init__(self, model: torch.nn.Module, patience: int):
        self.model, self.patience = model, patience
        self.best, self.best_state, self.bad = math.inf, None, 0

    def update(self, val) -> bool:
        """Score an epoch; True if it improved on the best."""
        improved = better(val, self.best)
        if improved:
            self.best, self.bad = val, 0
            self.best_state = copy.deepcopy(self.model.state_dict())
        else:
            self.bad += 1
        return improved

    @property
    def stop(self) -> bool:
        return self.bad >= self.patience

    def restore_best(self) -> None:
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)

    def state_dict(self) -> dict:
        return {"best": self.best, "best_state": self.best_state, "bad": self.bad}

    def load_state_dict(self, s: dict) -> None:
        self.best, self.best_state, self.bad = s["best"], s["best_state"], s["bad"]


def fit(model: torch.nn.Module, x_train, x_val, cfg: TrainConfig, *, seed: int = 0,
        device: torch.device | str = "cpu", objective: LossFn = autoencoder_objective,
        log: Callable[[str], None] = print, name: str = "model",
        validate: Callable = validation_loss, checkpoint=None,
        epoch_scores: Callable | None = None, frozen_in_warmup=()) -> list[dict]:
    """Train ``model`` in place; returns the per-epoch history (list of dicts).

    The weights of the epoch with the best validation score are restored at the end: the
    lowest validation loss, or with ``cfg.stop_on == "error"`` the lowest validation error
    (the loss breaking ties, :func:`better`).
    ``x_train`` / ``x_val`` are arrays, or tuples of arrays indexed together (a classifier's
    ``(x, y)``, E6); the objective then gets the tuple of minibatch tensors, and
    ``validate(model, x_val, cfg)`` scores the validation data: a loss, or a dict with
    ``val_loss`` (and ``val_error`` for a classifier), every entry logged in the history.
    ``epoch_scores(model)``: more scores (a dict) for each epoch's history row, computed in
    eval mode after validation (E6: the training error). ``frozen_in_warmup``: parameters
    that the first ``cfg.warmup_top_epochs`` epochs leave unchanged (no gradient, so neither
    the optimizer's step nor its weight decay touches them).

    ``checkpoint`` (an :class:`aebench.checkpoint.Checkpointer` stage; None: none) makes the
    loop resumable (:class:`aebench.epochs.EpochLoop`): it starts from the stage's saved state
    when there is one, saves its whole state at an epoch's end every ``interval`` seconds,
    and on SIGTERM saves at the end of the current minibatch and raises
    :class:`aebench.checkpoint.Interrupted`. A resumed run gives the same weights and history
    as an uninterrupted one (same device and threads). Each epoch's history row also goes to
    the checkpointer's progress log.
    """
    from .epochs import EpochLoop

    device = torch.device(device)
    model.to(device)
    x_train = _to_device(x_train, device)
    x_val = _to_device(x_val, device)
    gen = torch.Generator(device="cpu").manual_seed(seed)  # the minibatch order
    opt = _make_optimizer(model, cfg, device)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.lr_decay)
    stopping = EarlyStopping(model, cfg.patience)
    n = len(x_train[0]) if isinstance(x_train, tuple) else len(x_train)
    amp = precision_context(cfg, device, name)
    frozen = list(frozen_in_warmup)
    if cfg.warmup_top_epochs and not frozen:
        raise ValueError(f"[{name}] warmup_top_epochs={cfg.warmup_top_epochs} is for fine-tuning a "
                         "classifier on a pre-trained stack; this fit has no layers to hold: "
                         "remove it from its `train:` settings")
    log(f"[{name}] training on {device}: {n} samples, batch {cfg.batch_size}, "
        f"up to {cfg.epochs} epochs, lr {cfg.lr}"
        + ("" if cfg.precision == "fp32" else f", {cfg.precision} steps"))
    loop = EpochLoop(checkpoint, name=name, n=n, batch_size=cfg.batch_size, epochs=cfg.epochs,
                     shuffle=gen, device=device, log=log,
                     parts={"model": model, "optimizer": opt, "scheduler": sched,
                            "early_stopping": stopping})
    with loop:
        for epoch in loop.epochs():
            for p in frozen:  # from the epoch number alone, so a resumed fit does the same
                p.requires_grad_(epoch > cfg.warmup_top_epochs)
            model.train()
            for idx in loop.batches():
                xb = tuple(t[idx] for t in x_train) if isinstance(x_train, tuple) else x_train[idx]
                with amp:  # forward (and so backward) in bf16 when asked; validation in fp32
                    loss = objective(model, xb, cfg)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loop.running += loss.detach() * len(idx)
            train_loss = loop.running.item() / n
            if not math.isfinite(train_loss):
                raise DivergenceError(
                    f"[{name}] training diverged: loss is {train_loss} at epoch {epoch} "
                    f"(lr {sched.get_last_lr()[0]:.3g}). Lower `lr` in this model's `train:` "
                    f"settings in config.yaml (or in `training:`) and run again.")
            model.eval()
            scores = validate(model, x_val, cfg)
            scores = dict(scores) if isinstance(scores, dict) else {"val_loss": scores}
            if epoch_scores is not None:
                scores.update(epoch_scores(model))
            val = scores["val_loss"]
            sched.step()
            dt = loop.seconds()
            row = {"epoch": epoch, "train_loss": train_loss, **scores,
                   "lr": opt.param_groups[0]["lr"], "seconds": dt}
            improved = stopping.update(_stop_score(cfg, scores, name, epoch))
            shown = "".join(f"  {k} {v:.5f}" for k, v in scores.items() if k != "val_loss")
            log(f"[{name}] epoch {epoch:4d}/{cfg.epochs}  train {train_loss:.5f}  val {val:.5f}"
                f"{shown}{'  *' if improved else ''}  {dt:.1f}s")
            if stopping.stop:
                log(f"[{name}] early stop: no better validation {cfg.stop_on} for "
                    f"{cfg.patience} epochs")
            loop.end(row, done=stopping.stop or epoch == cfg.epochs)
        for p in frozen:
            p.requires_grad_(True)
        stopping.restore_best()
        log(f"[{name}] done: " + ("kept the last epoch" if cfg.stop_on == "none" else
                                  f"best validation {cfg.stop_on} {_shown(stopping.best)}"))
    _record_work(name, loop.history, model, x_train, x_val)
    return loop.history


def _stop_score(cfg: TrainConfig, scores: dict, name: str, epoch: int):
    """What early stopping compares (:func:`better`): the validation loss, or (error, loss);
    with stop_on "none" each epoch beats the one before, so the last is kept."""
    if cfg.stop_on == "loss":
        return scores["val_loss"]
    if cfg.stop_on == "none":
        return -float(epoch)
    if "val_error" not in scores:
        raise ValueError(f"[{name}] stop_on: error needs a classifier's validation error; this fit "
                         "has a loss only: use stop_on: loss in its `train:` settings")
    return scores["val_error"], scores["val_loss"]


def _shown(best) -> str:
    if isinstance(best, tuple):
        return f"error {best[0]:.5f} (loss {best[1]:.5f})"
    return f"{best:.5f}"


def _record_work(name: str, history: list[dict], model, x_train, x_val) -> None:
    """The loop's weight-matrix work, for the fit's ``cost.json`` (:mod:`aebench.flops`):
    counted after training, on a copy, so nothing here can touch the trained numbers."""
    from . import flops

    if not flops.active():
        return
    x = x_train[0] if isinstance(x_train, tuple) else x_train
    n_val = len(x_val[0]) if isinstance(x_val, tuple) else len(x_val)
    flops.record(flops.loop_work(name, history, len(x), n_val,
                                 flops.net_flop(model, tuple(x.shape[1:]))))
