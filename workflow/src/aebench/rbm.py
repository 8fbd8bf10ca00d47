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

    @torch.no_grad()
    def reconstruction_error(self, v: torch.Tensor) -> float:
        """Mean squared error of the mean-field reconstruction, per visible unit (a progress
        signal only: CD does not minimise it)."""
        total = 0.0
        for i in range(0, len(v), 4096):
            vb = v[i:i + 4096]
            total += (vb - self.visible_prob(self.hidden_prob(vb))).pow(2).sum().item()
        return total / v.numel()


@torch.no_grad()
def train_rbm(v_train: torch.Tensor, v_val: torch.Tensor, n_hidden: int, cfg: RBMConfig, *,
              seed: int, device, log: Callable[[str], None] = print,
              name: str = "rbm", linear_hidden: bool = False) -> tuple[RBM, list[dict]]:
    """CD-1 with momentum and weight decay; returns the RBM and its per-epoch history
    (``train_loss`` / ``val_loss`` are the reconstruction errors). Linear hidden units learn
    at ``cfg.lr_linear``: their activities are unbounded, and at the binary units' rate the
    weights blow up (Hinton & Salakhutdinov use 0.001 there, 0.1 elsewhere)."""
    device = torch.device(device)
    init_gen = torch.Generator().manual_seed(seed)
    rbm = RBM(v_train.shape[1], n_hidden, init_gen, linear_hidden).to(device)
    lr = cfg.lr_linear if linear_hidden else cfg.lr
    gen = torch.Generator(device=device).manual_seed(seed)
    v_train, v_val = v_train.to(device), v_val.to(device)
    # Visible biases start at log(p / (1 - p)) of each unit's mean activity (Hinton's guide,
    # section 8): the RBM then starts from the data's marginals instead of learning them first.
    p = v_train.mean(0).clamp(1e-3, 1 - 1e-3)
    rbm.v_bias.copy_(torch.log(p / (1 - p)))
    vel = [torch.zeros_like(p) for p in (rbm.weight, rbm.h_bias, rbm.v_bias)]
    n, history = len(v_train), []
    log(f"[{name}] CD-1 on {device}: {n} samples, {v_train.shape[1]}-{n_hidden}"
        f"{' (linear hidden units)' if linear_hidden else ''}, batch {cfg.batch_size}, "
        f"{cfg.epochs} epochs, lr {lr}")
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        mom = 0.5 if epoch <= cfg.initial_momentum_epochs else cfg.momentum
        perm = torch.randperm(n, generator=init_gen).to(device)
        running = torch.zeros((), device=device)
        for i in range(0, n, cfg.batch_size):
            v0 = v_train[perm[i:i + cfg.batch_size]]
            dw, dh, dv, pv1 = rbm.cd1_gradients(v0, gen)
            dw = dw - cfg.weight_decay * rbm.weight
            for p, g, buf in zip((rbm.weight, rbm.h_bias, rbm.v_bias), (dw, dh, dv), vel):
                buf.mul_(mom).add_(g, alpha=lr)
                p.add_(buf)
            running += (v0 - pv1).pow(2).sum()
        train_err = running.item() / v_train.numel()
        if not torch.isfinite(rbm.weight).all():
            raise RuntimeError(f"[{name}] RBM training diverged at epoch {epoch}: lower its "
                               f"{'lr_linear' if linear_hidden else 'lr'} (experiments.e6.rbm "
                               f"or the model's params.pretrain in config.yaml)")
        val_err = rbm.reconstruction_error(v_val)
        dt = time.perf_counter() - t0
        history.append({"epoch": epoch, "train_loss": train_err, "val_loss": val_err,
                        "lr": lr, "seconds": dt})
        log(f"[{name}] epoch {epoch:4d}/{cfg.epochs}  train recon {train_err:.5f}  "
            f"val recon {val_err:.5f}  {dt:.1f}s")
    return rbm, history
