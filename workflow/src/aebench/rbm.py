"""A Bernoulli-Bernoulli RBM trained by one-step contrastive divergence (CD-1), in torch.

Why not scikit-learn's ``BernoulliRBM``: E6's DBN stacks three 1000-unit RBMs trained on all
60k MNIST images for tens of epochs each; sklearn's runs on the CPU only (and with plain
persistent-CD SGD), while this one runs on the GPU the training rule requests, in seconds per
epoch, with the momentum and weight decay of Hinton's recipe ("A practical guide to training
RBMs", 2010; Hinton, Osindero & Teh 2006). Its forward pass is the encoder of an AE layer:
p(h=1|v) = sigmoid(W v + c), so a trained RBM drops into a stack like an AE layer.

``linear_hidden=True`` gives the RBM of Hinton & Salakhutdinov's code layer (Science 2006):
hidden units that are linear with unit-variance Gaussian noise, E[h|v] = W v + c, so the
unrolled autoencoder's code is real-valued (a linear code layer) rather than squashed to (0, 1).

:class:`ReplicatedSoftmaxRBM` (``train_rbm(..., visible="softmax")``) is the word-count RBM of the
bottom layer of Hinton & Salakhutdinov's deep document autoencoder: the replicated softmax of
Salakhutdinov & Hinton (NIPS 2009), trained by the same CD-1 loop.
"""

from __future__ import annotations

import time
from typing import Callable

import torch

from .spec import RBMConfig


class RBM(torch.nn.Module):
    def __init__(self, n_visible: int, n_hidden: int, generator: torch.Generator | None = None,
                 linear_hidden: bool = False):
        super().__init__()
        self.linear_hidden = linear_hidden
        # Small random weights (std 0.01) and zero biases: Hinton's guide, section 8.
        w = torch.randn(n_hidden, n_visible, generator=generator) * 0.01
        self.weight = torch.nn.Parameter(w, requires_grad=False)
        self.h_bias = torch.nn.Parameter(torch.zeros(n_hidden), requires_grad=False)
        self.v_bias = torch.nn.Parameter(torch.zeros(n_visible), requires_grad=False)

    def hidden_prob(self, v: torch.Tensor) -> torch.Tensor:
        """E[h | v]: p(h=1 | v) for binary units, the Gaussian's mean for linear ones."""
        a = v @ self.weight.t() + self.h_bias
        return a if self.linear_hidden else torch.sigmoid(a)

    def sample_hidden(self, ph: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if self.linear_hidden:
            return ph + torch.randn(ph.shape, generator=gen, device=ph.device)
        return torch.bernoulli(ph, generator=gen)

    def visible_prob(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(h @ self.weight + self.v_bias)

    def cd1_gradients(self, v0: torch.Tensor, gen: torch.Generator):
        """Positive minus negative statistics of CD-1 (the log-likelihood ascent direction).

        The hidden states driven by the data are sampled; the reconstruction and the second
        hidden layer use probabilities, which lowers the noise (Hinton's guide, 3.2-3.3).
        """
        ph0 = self.hidden_prob(v0)
        h0 = self.sample_hidden(ph0, gen)
        pv1 = self.visible_prob(h0)
        ph1 = self.hidden_prob(pv1)
        n = len(v0)
        dw = (ph0.t() @ v0 - ph1.t() @ pv1) / n
        return dw, (ph0 - ph1).mean(0), (v0 - pv1).mean(0), pv1

    def batch_loss(self, v0: torch.Tensor, pv1: torch.Tensor) -> torch.Tensor:
        """The batch's summed training progress signal, from ``cd1_gradients``' reconstruction
        ``pv1``: the squared error; ``train_rbm`` divides the epoch's sum by :meth:`loss_units`."""
        return (v0 - pv1).pow(2).sum()

    def loss_units(self, v: torch.Tensor) -> int:
        """What the losses are per: visible units."""
        return v.numel()

    @torch.no_grad()
    def reconstruction_error(self, v: torch.Tensor) -> float:
        """Mean squared error of the mean-field reconstruction, per visible unit (a progress
        signal only: CD does not minimise it)."""
        total = 0.0
        for i in range(0, len(v), 4096):
            vb = v[i:i + 4096]
            total += (vb - self.visible_prob(self.hidden_prob(vb))).pow(2).sum().item()
        return total / v.numel()



class ReplicatedSoftmaxRBM(RBM):
    """The replicated softmax (Salakhutdinov & Hinton, NIPS 2009): an RBM on word counts.

    A document is its count vector v over K words, D = sum_k v_k words long; the F hidden units
    are binary. Its energy is

        E(v, h) = -sum_jk W_jk h_j v_k - sum_k b_k v_k - D sum_j a_j h_j

    (``weight`` = W, (F, K); ``v_bias`` = b; ``h_bias`` = a, the hidden bias that every word of
    the document adds once, hence scaled by D). Then

        p(h_j = 1 | v) = sigmoid(sum_k W_jk v_k + D a_j)                     (:meth:`hidden_prob`)
        p(v | h)       = D independent draws from softmax_k(sum_j W_jk h_j + b_k)
                                                    (:meth:`visible_prob`, :meth:`sample_visible`)
        F(v)           = -sum_k b_k v_k - sum_j softplus(sum_k W_jk v_k + D a_j)
                                                                             (:meth:`free_energy`)

    The D draws are one softmax unit replicated D times with shared weights, so the
    reconstruction of a document has exactly its D words.

    Unrolled into an autoencoder (Hinton & Salakhutdinov, Science 2006, the document net's
    bottom layer): the first encoder layer is ``hidden_prob``, sigmoid(W v + D a) on the counts,
    equivalently sigmoid(D (W f + a)) on the word frequencies f = v / D; the last decoder layer
    is softmax(W^T h + b), a distribution over words (``visible_prob``) whose D-fold is the
    expected count vector (:meth:`visible_mean`), trained against the counts by cross-entropy.
    The layers above are ordinary Bernoulli RBMs on ``hidden_prob``.
    """

    def __init__(self, n_visible: int, n_hidden: int, generator: torch.Generator | None = None):
        # The same initial weights as a Bernoulli RBM from the same generator (std 0.01).
        super().__init__(n_visible, n_hidden, generator, linear_hidden=False)

    @staticmethod
    def doc_length(v: torch.Tensor) -> torch.Tensor:
        """D of each document (a batch of count vectors): its number of words."""
        return v.sum(1)

    def hidden_input(self, v: torch.Tensor) -> torch.Tensor:
        """W v + D a: the hidden units' total input from a batch of count vectors."""
        return v @ self.weight.t() + self.doc_length(v)[:, None] * self.h_bias

    def hidden_prob(self, v: torch.Tensor) -> torch.Tensor:
        """p(h=1 | v) = sigmoid(W v + D a) for a batch of count vectors: the encoder layer."""
        return torch.sigmoid(self.hidden_input(v))

    def visible_logits(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.weight + self.v_bias

    def visible_prob(self, h: torch.Tensor) -> torch.Tensor:
        """softmax(W^T h + b): each word draw's distribution over the vocabulary (rows sum to 1),
        the decoder layer of the unrolled net."""
        return torch.softmax(self.visible_logits(h), dim=1)

    def visible_mean(self, h: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        """E[v | h] = D softmax(W^T h + b): the expected counts of a D-word document."""
        return d[:, None] * self.visible_prob(h)

    def sample_visible(self, h: torch.Tensor, d: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Count vectors of D_i independent draws from row i's softmax (a multinomial with D_i
        trials): integers (as floats) that sum to exactly D_i per row."""
        p = self.visible_prob(h)
        n_words = d.round().long()
        out = torch.zeros_like(p)
        d_max = int(n_words.max()) if len(n_words) else 0
        if d_max == 0:
            return out
        # Draw the longest document's number of words for every row, then keep row i's first D_i.
        idx = torch.multinomial(p, d_max, replacement=True, generator=gen)
        keep = torch.arange(d_max, device=p.device) < n_words[:, None]
        return out.scatter_add_(1, idx, keep.to(p.dtype))

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) = -log sum_h exp(-E(v, h)), per document (p(v) = exp(-F(v)) / Z)."""
        return -(v @ self.v_bias) - torch.nn.functional.softplus(self.hidden_input(v)).sum(1)

    def cd1_gradients(self, v0: torch.Tensor, gen: torch.Generator):
        """Positive minus negative statistics of CD-1 on count vectors, per document:

            dW = (p(h|v0) v0^T - p(h|v1) v1^T) / n,  da = mean(D (p(h|v0) - p(h|v1))),
            db = mean(v0 - v1).

        h0 ~ p(h|v0) is sampled, and so is the reconstruction v1: D draws from
        softmax(W^T h0 + b), as Salakhutdinov & Hinton do (so v1 is a document of D words like
        the data, and the update's expectation is CD-1's exactly); the negative statistics use
        p(h|v1). Returns (dW, da, db, pv1) with pv1 = D softmax(W^T h0 + b), the
        reconstruction's expected counts, which :meth:`batch_loss` scores.
        """
        d = self.doc_length(v0)
        ph0 = self.hidden_prob(v0)
        h0 = self.sample_hidden(ph0, gen)
        pv1 = self.visible_mean(h0, d)
        v1 = self.sample_visible(h0, d, gen)
        ph1 = self.hidden_prob(v1)
        n = len(v0)
        dw = (ph0.t() @ v0 - ph1.t() @ v1) / n
        da = (d[:, None] * (ph0 - ph1)).mean(0)
        return dw, da, (v0 - v1).mean(0), pv1

    @torch.no_grad()
    def reconstruct(self, v: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
        """One up-down pass: with ``gen``, h ~ p(h|v) and D sampled words (integer counts);
        without, the mean field D softmax(W^T p(h|v) + b). Both sum to D per document."""
        d = self.doc_length(v)
        if gen is None:
            return self.visible_mean(self.hidden_prob(v), d)
        return self.sample_visible(self.sample_hidden(self.hidden_prob(v), gen), d, gen)

    def batch_loss(self, v0: torch.Tensor, pv1: torch.Tensor) -> torch.Tensor:
        """-sum_k v0_k log(pv1_k / D): the data's negative log-probability (nats) under the
        reconstruction's word distribution, summed over the batch's words."""
        p = pv1 / self.doc_length(v0).clamp_min(1)[:, None]
        return -(v0 * torch.log(p.clamp_min(1e-30))).sum()

    def loss_units(self, v: torch.Tensor) -> int:
        """What the losses are per: words."""
        return int(v.sum().item())

    @torch.no_grad()
    def reconstruction_error(self, v: torch.Tensor) -> float:
        """The mean-field reconstruction's negative log-probability of the documents' words,
        per word (nats): -sum v log softmax(W^T p(h|v) + b) / sum v. A progress signal (CD does
        not minimise it); the untrained model, whose softmax is the training unigram
        distribution, starts at that distribution's cross-entropy."""
        total = 0.0
        for i in range(0, len(v), 4096):
            vb = v[i:i + 4096]
            logp = torch.log_softmax(self.visible_logits(self.hidden_prob(vb)), dim=1)
            total -= (vb * logp).sum().item()
        return total / max(self.loss_units(v), 1)


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

    ``checkpoint`` (an :class:`aebench.checkpoint.Checkpointer` stage) makes the loop
    resumable, as in :func:`aebench.train.fit`: the saved state is the RBM, its momentum
    buffers, both generators (the permutations' and CD's samples'), the global RNGs, the
    history and the epoch (mid-epoch on SIGTERM: the permutation, the next minibatch and the
    summed loss).
    """
    from contextlib import nullcontext

    from .checkpoint import epoch_start, resumed, rng_state, set_rng_state

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
    n, history = len(v_train), []
    kind = (" (linear hidden units)" if linear_hidden else
            f" (replicated softmax, mean {1 / per_word:.1f} words/document)" if softmax else "")
    log(f"[{name}] CD-1 on {device}: {n} samples, {v_train.shape[1]}-{n_hidden}{kind}, "
        f"batch {cfg.batch_size}, {cfg.epochs} epochs, lr {lr}{' per word' if softmax else ''}")
    what = "nll/word" if softmax else "recon"

    def state(epoch: int, in_epoch: dict | None = None) -> dict:
        return {"epoch": epoch, "in_epoch": in_epoch, "rbm": rbm.state_dict(),
                "velocity": vel, "init_generator": init_gen.get_state(),
                "generator": gen.get_state(), "history": history, "rng": rng_state()}

    first, resume = 1, None
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        rbm.load_state_dict(saved["rbm"])
        for buf, v in zip(vel, saved["velocity"]):
            buf.copy_(v)
        init_gen.set_state(saved["init_generator"])
        gen.set_state(saved["generator"])
        history = saved["history"]
        set_rng_state(saved["rng"])
        first, resume = saved["epoch"] + 1, saved["in_epoch"]
        resumed(name, saved, cfg.batch_size, checkpoint.path, log)
    with checkpoint.deferring() if checkpoint is not None else nullcontext():
        for epoch in range(first, cfg.epochs + 1):
            t0 = time.perf_counter()
            mom = 0.5 if epoch <= cfg.initial_momentum_epochs else cfg.momentum
            perm, start, running, before = epoch_start(resume, n, init_gen, device)
            resume = None  # only the interrupted epoch resumes mid-way
            for i in range(start, n, cfg.batch_size):
                v0 = v_train[perm[i:i + cfg.batch_size]]
                dw, dh, dv, pv1 = rbm.cd1_gradients(v0, gen)
                if softmax:
                    dw, dh, dv = dw * per_word, dh * per_word ** 2, dv * per_word
                dw = dw - cfg.weight_decay * rbm.weight
                for p, g, buf in zip((rbm.weight, rbm.h_bias, rbm.v_bias), (dw, dh, dv), vel):
                    buf.mul_(mom).add_(g, alpha=lr)
                    p.add_(buf)
                running += rbm.batch_loss(v0, pv1)
                if checkpoint is not None and checkpoint.stop_requested:
                    nxt = i + cfg.batch_size
                    checkpoint.stop(state(epoch - 1, {
                        "perm": perm.cpu(), "next": nxt, "running": running.cpu(),
                        "seconds": before + time.perf_counter() - t0}),
                        f"[{name}] epoch {epoch}, minibatch {-(-nxt // cfg.batch_size)}")
            train_err = running.item() / max(rbm.loss_units(v_train), 1)
            if not torch.isfinite(rbm.weight).all():
                which = "lr_linear" if linear_hidden else "lr_softmax" if softmax else "lr"
                raise RuntimeError(f"[{name}] RBM training diverged at epoch {epoch}: lower its "
                                   f"{which} (experiments.e6.rbm or the model's "
                                   f"params.pretrain in config.yaml)")
            val_err = rbm.reconstruction_error(v_val)
            dt = before + time.perf_counter() - t0
            history.append({"epoch": epoch, "train_loss": train_err, "val_loss": val_err,
                            "lr": lr, "seconds": dt})
            log(f"[{name}] epoch {epoch:4d}/{cfg.epochs}  train {what} {train_err:.5f}  "
                f"val {what} {val_err:.5f}  {dt:.1f}s")
            if checkpoint is not None:
                if checkpoint.stop_requested:
                    checkpoint.stop(state(epoch), f"[{name}] the end of epoch {epoch}")
                if epoch < cfg.epochs and checkpoint.due():
                    checkpoint.save(state(epoch))
                    log(f"[{name}] checkpoint saved after epoch {epoch}")
    return rbm, history
