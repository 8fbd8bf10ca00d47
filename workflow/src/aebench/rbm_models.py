"""The RBMs of the stacks (Hinton & Salakhutdinov 2006), in torch: a Bernoulli-Bernoulli RBM
(optionally with linear hidden units, the code layer) and the replicated softmax on word counts.

:class:`RBM`: its forward pass is the encoder of an AE layer, p(h=1|v) = sigmoid(W v + c), so a
trained RBM drops into a stack like an AE layer. ``linear_hidden=True`` gives the RBM of Hinton
& Salakhutdinov's code layer: hidden units that are linear with unit-variance Gaussian noise,
E[h|v] = W v + c, so the unrolled autoencoder's code is real-valued (a linear code layer) rather
than squashed to (0, 1).

:class:`ReplicatedSoftmaxRBM` is the word-count RBM of the bottom layer of Hinton &
Salakhutdinov's deep document autoencoder: the replicated softmax of Salakhutdinov & Hinton
(NIPS 2009). Both are trained by CD-1 in :func:`aebench.rbm.train_rbm`.
"""

from __future__ import annotations

import torch


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
        trials): integers (as floats) that sum to exactly D_i per row.

        Drawn by inverting each row's cumulative distribution at D_i uniforms: exactly the
        multinomial, at the cost of the words the batch has (torch.multinomial draws the
        longest document's length for every row: 26 times as many on 20 Newsgroups' batches
        of 128). The rows' CDFs, each shifted by its row number, make one sorted sequence, so
        one search places every draw; float64 keeps a 1e-9 word probability distinct at that
        offset."""
        p = self.visible_prob(h)
        n, k = p.shape
        n_words = d.round().long()
        total = int(n_words.sum()) if n else 0
        if total == 0:
            return torch.zeros_like(p)
        rows = torch.arange(n, device=p.device)
        cdf = p.double().cumsum(1)
        cdf = cdf / cdf[:, -1:] + rows[:, None].double()  # row i's CDF runs to exactly i + 1
        row_of_draw = torch.repeat_interleave(rows, n_words)
        u = torch.rand(total, generator=gen, device=p.device, dtype=torch.float64)
        # the first entry above u + i lies in row i (its last entry is i + 1 > u + i)
        where = torch.searchsorted(cdf.reshape(-1), u + row_of_draw.double(), right=True)
        where = torch.minimum(where, row_of_draw * k + (k - 1))  # u + i rounded up to i + 1
        return torch.bincount(where, minlength=n * k).reshape(n, k).to(p.dtype)

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
