"""Training an RBM by one-step contrastive divergence (CD-1), in torch: :func:`train_rbm`.

Why not scikit-learn's ``BernoulliRBM``: E6's DBN stacks three 1000-unit RBMs trained on all
60k MNIST images for tens of epochs each; sklearn's runs on the CPU only (and with plain
persistent-CD SGD), while this one runs on the GPU the training rule requests, in seconds per
epoch, with the momentum and weight decay of Hinton's recipe ("A practical guide to training
RBMs", 2010; Hinton, Osindero & Teh 2006). The RBMs themselves (Bernoulli, with linear hidden
units for a code layer, and the replicated softmax on word counts) are in
:mod:`aebench.rbm_models`, re-exported here.
"""

from __future__ import annotations

from typing import Callable

import torch

from .rbm_models import RBM, ReplicatedSoftmaxRBM
from .spec import RBMConfig

__all__ = ["RBM", "RBMConfig", "ReplicatedSoftmaxRBM", "train_rbm"]


@torch.no_grad()
def train_rbm(v_train: torch.Tensor, v_val: torch.Tensor, n_hidden: int, cfg: RBMConfig, *,
              seed: int, device, log: Callable[[str], None] = print,
              name: str = "rbm", linear_hidden: bool = False,
              visible: str = "bernoulli", checkpoint=None) -> tuple[RBM, list[dict]]:
    """CD-1 with momentum and weight decay; returns the RBM and its per-epoch history
    (``train_loss`` / ``val_loss`` are the reconstruction errors). Linear hidden units learn
    at ``cfg.lr_linear``: their activities are unbounded, and at the binary units' rate the
    weights blow up (Hinton & Salakhutdinov use 0.001 there, 0.1 elsewhere).

    ``visible="softmax"`` trains a :class:`ReplicatedSoftmaxRBM` on word-count vectors (rows of
    non-negative integers; binary hidden units only). Differences from the Bernoulli RBM:

    - Visible biases start at the log of the training set's word frequencies (floored at 1e-6),
      the softmax analogue of Hinton's guide, section 8: the untrained model's reconstruction
      is then the corpus's unigram distribution.
    - Learning rate: ``cfg.lr_softmax`` (the Bernoulli layers above it use ``cfg.lr``), per
      word. A document's CD statistics grow with its length D (counts in dW and db), so the
      loop divides dW and db by the training documents' mean length D_mean (before weight
      decay and momentum): in count units the step is cfg.lr_softmax / D_mean. The hidden
      bias a enters the hidden input as D a and its statistic is D (p(h|v0) - p(h|v1)), so a
      step moves the input by ~D^2 times the rate; its statistic is divided by D_mean^2, which
      makes a step change the input by ~cfg.lr_softmax (p(h|v0) - p(h|v1)), like a Bernoulli
      RBM's hidden bias. (At the weights' rate |D a| grows far past 1 within a few epochs on
      long documents, and the hidden units then code the length, not the topic:
      tests/test_rsm.py checks this; public RSM implementations likewise give the hidden bias
      a rate ~100x below the weights'.) On synthetic topic corpora (30 to 2000 words, 10 to
      1000 words/document) training did not diverge for rates from 0.05 to 3 (10 at 2000
      words) and learned fastest near 0.3 to 1, i.e. 3e-3 to 1e-2 per count at 100
      words/document, the RSM literature's range; the Bernoulli default 0.05 is stable but
      slow, hence the word-count RBM's own rate (default 0.3).
    - ``train_loss`` / ``val_loss``: the negative log-probability of the documents' words under
      the reconstruction's softmax, per word (nats; :meth:`ReplicatedSoftmaxRBM.batch_loss`
      during CD for train_loss, from the sampled h0, and the mean-field
      :meth:`ReplicatedSoftmaxRBM.reconstruction_error` for val_loss). It starts at the unigram
      cross-entropy and falls as the hidden units learn which words go together. The free
      energy per word (:meth:`ReplicatedSoftmaxRBM.free_energy`) is available as another signal.

    ``checkpoint`` (an :class:`aebench.checkpoint.Checkpointer` stage; None: none) makes the
    loop resumable, as in :func:`aebench.train.fit` (:class:`aebench.epochs.EpochLoop`): the
    saved state is the RBM, its momentum buffers, both generators (the permutations' and CD's
    samples'), the global RNGs, the history and the epoch (mid-epoch on SIGTERM: the
    permutation, the next minibatch and the summed loss).
    """
    from .epochs import EpochLoop

    if visible not in ("bernoulli", "softmax"):
        raise ValueError(f"[{name}] visible must be 'bernoulli' or 'softmax', got {visible!r}")
    softmax = visible == "softmax"
    if softmax:
        if linear_hidden:
            raise ValueError(f"[{name}] the replicated softmax RBM has binary hidden units: "
                             f"linear_hidden=True is for a Bernoulli RBM's code layer")
        for what, v in (("v_train", v_train), ("v_val", v_val)):
            if len(v) and ((v < 0).any() or (v != v.round()).any()):
                raise ValueError(f"[{name}] visible='softmax' needs word counts: {what} has "
                                 f"negative or non-integer entries")
    device = torch.device(device)
    init_gen = torch.Generator().manual_seed(seed)
    if softmax:
        rbm = ReplicatedSoftmaxRBM(v_train.shape[1], n_hidden, init_gen).to(device)
    else:
        rbm = RBM(v_train.shape[1], n_hidden, init_gen, linear_hidden).to(device)
    lr = cfg.lr_linear if linear_hidden else cfg.lr_softmax if softmax else cfg.lr
    gen = torch.Generator(device=device).manual_seed(seed)
    v_train, v_val = v_train.to(device), v_val.to(device)
    if softmax:
        # Visible biases at the log word frequencies; CD statistics per word (see docstring).
        counts = v_train.sum(0)
        rbm.v_bias.copy_(torch.log((counts / counts.sum().clamp_min(1)).clamp_min(1e-6)))
        per_word = 1.0 / max(v_train.sum(1).mean().item(), 1.0)
    else:
        # Visible biases start at log(p / (1 - p)) of each unit's mean activity (Hinton's guide,
        # section 8): the RBM then starts from the data's marginals instead of learning them first.
        p = v_train.mean(0).clamp(1e-3, 1 - 1e-3)
        rbm.v_bias.copy_(torch.log(p / (1 - p)))
    vel = [torch.zeros_like(p) for p in (rbm.weight, rbm.h_bias, rbm.v_bias)]
    n = len(v_train)
    kind = (" (linear hidden units)" if linear_hidden else
            f" (replicated softmax, mean {1 / per_word:.1f} words/document)" if softmax else "")
    log(f"[{name}] CD-1 on {device}: {n} samples, {v_train.shape[1]}-{n_hidden}{kind}, "
        f"batch {cfg.batch_size}, {cfg.epochs} epochs, lr {lr}{' per word' if softmax else ''}")
    what = "nll/word" if softmax else "recon"

    # Two generators: the weights' initialisation, then the minibatch order (init_gen), and
    # CD's samples (gen).
    loop = EpochLoop(checkpoint, name=name, n=n, batch_size=cfg.batch_size, epochs=cfg.epochs,
                     shuffle=init_gen, device=device, log=log,
                     parts={"rbm": rbm, "velocity": vel, "generator": gen})
    with loop:
        for epoch in loop.epochs():
            mom = 0.5 if epoch <= cfg.initial_momentum_epochs else cfg.momentum
            for idx in loop.batches():
                v0 = v_train[idx]
                dw, dh, dv, pv1 = rbm.cd1_gradients(v0, gen)
                if softmax:
                    dw, dh, dv = dw * per_word, dh * per_word ** 2, dv * per_word
                dw = dw - cfg.weight_decay * rbm.weight
                for p, g, buf in zip((rbm.weight, rbm.h_bias, rbm.v_bias), (dw, dh, dv), vel):
                    buf.mul_(mom).add_(g, alpha=lr)
                    p.add_(buf)
                loop.running += rbm.batch_loss(v0, pv1)
            train_err = loop.running.item() / max(rbm.loss_units(v_train), 1)
            if not torch.isfinite(rbm.weight).all():
                which = "lr_linear" if linear_hidden else "lr_softmax" if softmax else "lr"
                raise RuntimeError(f"[{name}] RBM training diverged at epoch {epoch}: lower its "
                                   f"{which} (experiments.e6.rbm or the model's "
                                   f"params.pretrain in config.yaml)")
            val_err = rbm.reconstruction_error(v_val)
            dt = loop.seconds()
            log(f"[{name}] epoch {epoch:4d}/{cfg.epochs}  train {what} {train_err:.5f}  "
                f"val {what} {val_err:.5f}  {dt:.1f}s")
            loop.end({"epoch": epoch, "train_loss": train_err, "val_loss": val_err, "lr": lr,
                      "seconds": dt}, done=epoch == cfg.epochs)
    # The loop's weight-matrix work, for the fit's cost.json (counted on a copy, after training).
    from . import flops

    if flops.active():
        flops.record(flops.loop_work(name, loop.history, n, len(v_val), flops.rbm_flop(rbm)))
    return rbm, loop.history
