"""E4's bottom layer: the replicated softmax RBM on word counts (Salakhutdinov & Hinton, NIPS
2009), trained by CD-1 in aebench.rbm. Checked against its definition by brute force on a tiny
vocabulary (every hidden state, every count vector), and on a synthetic topic corpus."""

import itertools
import math

import pytest
import torch

from aebench.rbm import RBM, RBMConfig, ReplicatedSoftmaxRBM, train_rbm

QUIET = dict(log=lambda s: None)


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def topic_corpus(n=400, K=30, T=3, d_range=(10, 30), bump=0.2, seed=0):
    """Documents of D ~ U(d_range) words drawn from one of T per-topic multinomials over K
    words; topic t puts extra mass ``bump`` on its own block of K/T words over a random
    background shared in shape by all topics. Returns counts (n, K), topics (n,), the topics'
    word distributions (T, K)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(T, K, generator=g) ** 4
    for t in range(T):
        base[t, t * K // T:(t + 1) * K // T] += bump
    probs = base / base.sum(1, keepdim=True)
    y = torch.randint(T, (n,), generator=g)
    d = torch.randint(d_range[0], d_range[1] + 1, (n,), generator=g)
    v = torch.zeros(n, K)
    for i in range(n):
        words = torch.multinomial(probs[y[i]], int(d[i]), replacement=True, generator=g)
        v[i] = torch.bincount(words, minlength=K).float()
    return v, y, probs


def untrained(v_train, n_hidden, seed):
    """The model train_rbm starts from: its initial weights, visible biases at the log word
    frequencies of the training set."""
    rbm = ReplicatedSoftmaxRBM(v_train.shape[1], n_hidden, torch.Generator().manual_seed(seed))
    rbm.v_bias.copy_(torch.log(v_train.sum(0) / v_train.sum()))
    return rbm


def centroid_accuracy(h_train, y_train, h_test, y_test):
    centroids = torch.stack([h_train[y_train == t].mean(0) for t in range(int(y_train.max()) + 1)])
    return (torch.cdist(h_test, centroids).argmin(1) == y_test).float().mean().item()


def random_rsm(K, F, seed, scale=1.0):
    """A double-precision RSM with O(1) random parameters (a trained-looking, non-trivial one)."""
    g = torch.Generator().manual_seed(seed)
    rbm = ReplicatedSoftmaxRBM(K, F, g).double()
    rbm.weight.copy_(torch.randn(F, K, generator=g, dtype=torch.float64) * scale)
    rbm.h_bias.copy_(torch.randn(F, generator=g, dtype=torch.float64) * 0.5 * scale)
    rbm.v_bias.copy_(torch.randn(K, generator=g, dtype=torch.float64) * 0.5 * scale)
    return rbm


# --------------------------------------------------------------------------- brute force


def energy(rbm, v, h):
    """E(v, h) = -h^T W v - b^T v - D a^T h for one count vector v and one hidden state h."""
    d = v.sum()
    return -(h @ rbm.weight @ v) - rbm.v_bias @ v - d * (rbm.h_bias @ h)


def hidden_states(F):
    return [torch.tensor(h, dtype=torch.float64) for h in itertools.product((0, 1), repeat=F)]


def count_vectors(K, D):
    """Every count vector of D words over K words (the compositions of D into K parts)."""
    return [torch.tensor(c, dtype=torch.float64)
            for c in itertools.product(range(D + 1), repeat=K) if sum(c) == D]


def multinomial_prob(v, p):
    """P(v) for D = sum(v) independent draws from p."""
    d = int(v.sum())
    coef = math.factorial(d) / math.prod(math.factorial(int(c)) for c in v)
    return coef * torch.prod(p ** v).item()


def brute_hidden_marginals(rbm, v):
    """p(h_j = 1 | v) by summing exp(-E(v, h)) over every hidden state."""
    hs = hidden_states(rbm.weight.shape[0])
    w = torch.stack([torch.exp(-energy(rbm, v, h)) for h in hs])
    return sum(wi * h for wi, h in zip(w, hs)) / w.sum()


def brute_free_energy(rbm, v):
    return -torch.logsumexp(torch.stack([-energy(rbm, v, h) for h in hidden_states(rbm.weight.shape[0])]), 0)


def stats(rbm, v):
    """One document's CD statistics (dW, da, db) from exact hidden marginals: p(h|v) v^T,
    D p(h|v), v."""
    ph = brute_hidden_marginals(rbm, v)
    return torch.outer(ph, v), v.sum() * ph, v


def exact_cd1_expectation(rbm, v0_batch):
    """E[CD-1 update | v0] by enumeration: the positive statistics of each v0 minus the
    expectation, over h0 ~ p(h|v0) and v1 ~ Multinomial(D, softmax(W^T h0 + b)), of v1's."""
    F, K = rbm.weight.shape
    totals = None
    for v0 in v0_batch:
        pos = stats(rbm, v0)
        ph0 = brute_hidden_marginals(rbm, v0)
        neg = [torch.zeros_like(s) for s in pos]
        for h0 in hidden_states(F):
            p_h0 = torch.prod(torch.where(h0 > 0, ph0, 1 - ph0)).item()
            p_word = torch.softmax(h0 @ rbm.weight + rbm.v_bias, 0)
            for v1 in count_vectors(K, int(v0.sum())):
                p = p_h0 * multinomial_prob(v1, p_word)
                neg = [n + p * s for n, s in zip(neg, stats(rbm, v1))]
        g = [a - b for a, b in zip(pos, neg)]
        totals = g if totals is None else [t + x for t, x in zip(totals, g)]
    return [t / len(v0_batch) for t in totals]


TINY_DOCS = torch.tensor([[2, 1, 0], [0, 0, 3], [1, 1, 1], [0, 1, 0], [0, 2, 0]], dtype=torch.float64)


def test_hidden_probabilities_and_free_energy_match_the_energy_function():
    rbm = random_rsm(K=3, F=2, seed=1)
    docs = torch.cat([TINY_DOCS, torch.tensor([[0.0, 0, 0], [4, 0, 5]], dtype=torch.float64)])
    ph = rbm.hidden_prob(docs)
    for v, p in zip(docs, ph):
        # p(h_j=1 | v) from the energies of the two settings of h_j (the others held anywhere) ...
        for j in range(2):
            for rest in (0.0, 1.0):
                h1, h0 = torch.full((2,), rest, dtype=torch.float64), torch.full((2,), rest, dtype=torch.float64)
                h1[j], h0[j] = 1.0, 0.0
                assert p[j].item() == pytest.approx(torch.sigmoid(energy(rbm, v, h0) - energy(rbm, v, h1)).item(), abs=1e-12)
        # ... and from the full sum over hidden states
        assert torch.allclose(p, brute_hidden_marginals(rbm, v), atol=1e-12)
        assert rbm.free_energy(v[None])[0].item() == pytest.approx(brute_free_energy(rbm, v).item(), abs=1e-10)
    # the unrolled encoder: sigmoid(W v + D a) on counts = sigmoid(D (W f + a)) on frequencies
    d = docs.sum(1, keepdim=True)
    f = docs / d.clamp_min(1)
    assert torch.allclose(ph, torch.sigmoid(d * (f @ rbm.weight.t() + rbm.h_bias)), atol=1e-12)
    assert torch.allclose(rbm.hidden_input(docs), docs @ rbm.weight.t() + d * rbm.h_bias)


def test_cd1_statistics_are_exact_given_the_reconstruction(monkeypatch):
    """With the sampled reconstruction v1 pinned, CD-1's update is exactly the positive
    statistics of v0 minus those of v1 (brute-force hidden marginals), for every parameter."""
    rbm = random_rsm(K=3, F=2, seed=2)
    v0 = TINY_DOCS
    v1 = torch.tensor([[0, 0, 3], [1, 2, 0], [3, 0, 0], [0, 0, 1], [1, 0, 1]], dtype=torch.float64)
    monkeypatch.setattr(rbm, "sample_visible", lambda h, d, gen: v1.clone())
    dw, da, db, pv1 = rbm.cd1_gradients(v0, torch.Generator().manual_seed(0))
    pos = [torch.stack(s).mean(0) for s in zip(*(stats(rbm, v) for v in v0))]
    neg = [torch.stack(s).mean(0) for s in zip(*(stats(rbm, v) for v in v1))]
    for got, p, n in zip((dw, da, db), pos, neg):
        assert torch.allclose(got, p - n, atol=1e-12)
    assert torch.allclose(pv1.sum(1), v0.sum(1))  # the reconstruction's mean has D words too
    # the reconstruction equal to the data: no update at all
    monkeypatch.setattr(rbm, "sample_visible", lambda h, d, gen: v0.clone())
    for g in rbm.cd1_gradients(v0, torch.Generator().manual_seed(0))[:3]:
        assert torch.equal(g, torch.zeros_like(g))


def test_reconstruction_draws_follow_the_multinomial():
    """D=3 words over K=3: the frequency of each of the 10 count vectors matches
    Multinomial(3, softmax(W^T h + b)), within 4.5 Monte-Carlo standard errors."""
    rbm = random_rsm(K=3, F=2, seed=3)
    h = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    n = 40000
    samples = rbm.sample_visible(h.expand(n, 2), torch.full((n,), 3.0, dtype=torch.float64),
                                 torch.Generator().manual_seed(0))
    p_word = rbm.visible_prob(h)[0]
    for v in count_vectors(3, 3):
        p = multinomial_prob(v, p_word)
        freq = (samples == v).all(1).double().mean().item()
        assert abs(freq - p) < 4.5 * math.sqrt(p * (1 - p) / n) + 1e-9, (v, freq, p)


def test_cd1_gradient_agrees_with_brute_force_expectation():
    """The average of many sampled CD-1 updates converges to the exact expectation of the
    CD-1 update (every h0, every v1 with D words), within 4.5 standard errors per entry."""
    rbm = random_rsm(K=3, F=2, seed=4)
    exact = exact_cd1_expectation(rbm, TINY_DOCS)
    reps, calls = 4000, 40
    batch = TINY_DOCS.repeat(reps, 1)  # one call's mean = the mean over `reps` copies of the batch
    gen = torch.Generator().manual_seed(0)
    draws = [rbm.cd1_gradients(batch, gen)[:3] for _ in range(calls)]
    for k, name in enumerate(("W", "a", "b")):
        g = torch.stack([d[k] for d in draws])
        mean, se = g.mean(0), g.std(0) / math.sqrt(calls)
        assert (se < 0.01).all(), f"{name}: the test lacks power, SE {se}"
        z = (mean - exact[k]).abs() / se
        assert (z < 4.5).all(), f"{name}: sampled mean {mean} vs exact {exact[k]} (z {z})"
    # power: the exact update is not the one with a mean-field reconstruction D softmax(...),
    # by many standard errors (so the test would catch an unsampled v1)
    def mean_field_neg(v0):
        ph0 = brute_hidden_marginals(rbm, v0)
        out = None
        for h0 in hidden_states(2):
            p_h0 = torch.prod(torch.where(h0 > 0, ph0, 1 - ph0)).item()
            s = stats(rbm, v0.sum() * torch.softmax(h0 @ rbm.weight + rbm.v_bias, 0))
            out = [p_h0 * x for x in s] if out is None else [o + p_h0 * x for o, x in zip(out, s)]
        return out
    mf_w = torch.stack([stats(rbm, v)[0] - mean_field_neg(v)[0] for v in TINY_DOCS]).mean(0)
    g = torch.stack([d[0] for d in draws])
    assert ((mf_w - exact[0]).abs() / (g.std(0) / math.sqrt(calls))).max() > 10


# --------------------------------------------------------------------------- reconstructions


def test_reconstructions_have_each_documents_word_count():
    v, _, _ = topic_corpus(n=20, K=30)
    v[3] = 0  # an empty document
    v[4] = 0
    v[4, 7] = 1  # a one-word document
    v[5, 2] += 500  # a long one
    d = v.sum(1)
    rbm = untrained(v, 8, seed=0)
    rbm.weight.normal_(0, 1, generator=torch.Generator().manual_seed(5))  # not just the unigram
    gen = torch.Generator().manual_seed(0)
    for recon in (rbm.reconstruct(v, gen),
                  rbm.sample_visible(rbm.sample_hidden(rbm.hidden_prob(v), gen), d, gen)):
        assert torch.equal(recon, recon.round()) and (recon >= 0).all()
        assert torch.equal(recon.sum(1), d)  # exactly D words, every document
    assert not torch.equal(rbm.reconstruct(v, gen), rbm.reconstruct(v, gen))  # they are samples
    mean_field = rbm.reconstruct(v)
    assert torch.allclose(mean_field.sum(1), d, rtol=1e-5, atol=1e-4)
    assert torch.allclose(rbm.visible_prob(rbm.hidden_prob(v)).sum(1), torch.ones(len(v)))
    *_, pv1 = rbm.cd1_gradients(v, gen)
    assert torch.allclose(pv1.sum(1), d, rtol=1e-5, atol=1e-4)


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def trained():
    v, y, probs = topic_corpus(n=400, K=30, T=3, d_range=(10, 30), bump=0.2, seed=0)
    v_tr, y_tr, v_te, y_te = v[:300], y[:300], v[300:], y[300:]
    cfg = RBMConfig(epochs=20, batch_size=20, lr_softmax=0.3)
    torch.set_num_threads(1)
    rbm, hist = train_rbm(v_tr, v_te, 5, cfg, seed=0, device="cpu", visible="softmax", **QUIET)
    return dict(rbm=rbm, hist=hist, v_tr=v_tr, y_tr=y_tr, v_te=v_te, y_te=y_te, probs=probs, cfg=cfg)


def test_free_energy_of_training_documents_falls(trained):
    rbm, v = trained["rbm"], trained["v_tr"]
    before = untrained(v, 5, seed=0)
    per_word = lambda m, x: (m.free_energy(x).sum() / x.sum()).item()
    assert per_word(rbm, v) < per_word(before, v) - 0.2  # nats per word
    # and not just by training: held-out documents' free energy falls with it (no overfitting
    # gap opening: Hinton's guide, section 6)
    v_te = trained["v_te"]
    assert per_word(rbm, v_te) < per_word(before, v_te) - 0.2
    assert abs(per_word(rbm, v_te) - per_word(rbm, v)) < 0.1


def test_the_model_learns_the_topics(trained):
    """Beyond free energy (which scaling alone could lower): held-out documents' words are
    better predicted by the mean-field reconstruction, much of the way from the unigram model
    to the true topic distributions, and the hidden probabilities separate the topics better
    than the untrained model's."""
    rbm, hist, v_tr, v_te = trained["rbm"], trained["hist"], trained["v_tr"], trained["v_te"]
    y_tr, y_te, probs = trained["y_tr"], trained["y_te"], trained["probs"]
    before = untrained(v_tr, 5, seed=0)
    unigram = before.reconstruction_error(v_te)  # the untrained model: the unigram cross-entropy
    assert unigram == pytest.approx(-(v_te @ torch.log(v_tr.sum(0) / v_tr.sum())).sum().item() / v_te.sum().item(), rel=1e-4)
    oracle = -(v_te * torch.log(probs[y_te])).sum().item() / v_te.sum().item()
    learned = rbm.reconstruction_error(v_te)
    assert hist[-1]["val_loss"] == pytest.approx(learned)
    assert learned < unigram - 0.5 * (unigram - oracle), (unigram, learned, oracle)
    assert hist[-1]["train_loss"] < hist[0]["train_loss"] - 0.1
    acc_before = centroid_accuracy(before.hidden_prob(v_tr), y_tr, before.hidden_prob(v_te), y_te)
    acc_after = centroid_accuracy(rbm.hidden_prob(v_tr), y_tr, rbm.hidden_prob(v_te), y_te)
    assert acc_after >= 0.95 and acc_after > acc_before + 0.05, (acc_before, acc_after)



def test_long_documents_learn_topics_not_lengths():
    """Documents of 100 to 800 words: the hidden bias enters as D a, so at the weights' rate
    it swings to D a >> 1 or << 0 within epochs and the hidden units code the length (the
    topics' nearest-centroid accuracy then falls to ~0.4 and the held-out loss stays at the
    unigram's); at its D_mean-smaller rate the model learns the topics."""
    v, y, _ = topic_corpus(n=300, K=60, T=3, d_range=(100, 800), bump=0.05, seed=0)
    v_tr, y_tr, v_te, y_te = v[:200], y[:200], v[200:], y[200:]
    rbm, hist = train_rbm(v_tr, v_te, 5, RBMConfig(epochs=10, batch_size=20, lr_softmax=0.3), seed=0,
                          device="cpu", visible="softmax", **QUIET)
    before = untrained(v_tr, 5, seed=0)
    assert rbm.reconstruction_error(v_te) < before.reconstruction_error(v_te) - 0.2
    assert centroid_accuracy(rbm.hidden_prob(v_tr), y_tr, rbm.hidden_prob(v_te), y_te) >= 0.95
    assert (v_te.sum(1).max() * rbm.h_bias.abs()).max() < 10  # D a stays O(1)

def test_training_is_deterministic_per_seed(trained):
    v_tr, v_te = trained["v_tr"], trained["v_te"]
    cfg = RBMConfig(epochs=3, batch_size=20, lr_softmax=0.3)
    a, ha = train_rbm(v_tr, v_te, 5, cfg, seed=7, device="cpu", visible="softmax", **QUIET)
    b, hb = train_rbm(v_tr, v_te, 5, cfg, seed=7, device="cpu", visible="softmax", **QUIET)
    c, _ = train_rbm(v_tr, v_te, 5, cfg, seed=8, device="cpu", visible="softmax", **QUIET)
    assert isinstance(a, ReplicatedSoftmaxRBM)
    for name in ("weight", "h_bias", "v_bias"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert [(r["train_loss"], r["val_loss"]) for r in ha] == [(r["train_loss"], r["val_loss"]) for r in hb]
    assert not torch.equal(a.weight, c.weight)


def test_visible_biases_start_at_log_word_frequencies(trained):
    v = trained["v_tr"].clone()
    v[:, 0] = 0  # a word never seen: a floored, finite bias
    cfg = RBMConfig(epochs=1, batch_size=50, lr_softmax=1e-9, weight_decay=0.0)
    rbm, hist = train_rbm(v, trained["v_te"], 5, cfg, seed=0, device="cpu", visible="softmax", **QUIET)
    freq = v.sum(0) / v.sum()
    assert torch.allclose(rbm.v_bias[1:], torch.log(freq[1:]), atol=1e-5)
    assert torch.isfinite(rbm.v_bias).all() and rbm.v_bias[0] < rbm.v_bias[1:].min()
    assert set(hist[0]) == {"epoch", "train_loss", "val_loss", "lr", "seconds"}


def test_softmax_rbm_rejects_what_it_cannot_model(trained):
    v_tr, v_te = trained["v_tr"], trained["v_te"]
    cfg = RBMConfig(epochs=1)
    with pytest.raises(ValueError, match="word counts"):
        train_rbm(v_tr / 2.5, v_te, 5, cfg, seed=0, device="cpu", visible="softmax", **QUIET)
    with pytest.raises(ValueError, match="binary hidden units"):
        train_rbm(v_tr, v_te, 5, cfg, seed=0, device="cpu", visible="softmax", linear_hidden=True, **QUIET)
    with pytest.raises(ValueError, match="visible must be"):
        train_rbm(v_tr, v_te, 5, cfg, seed=0, device="cpu", visible="gaussian", **QUIET)


def test_initial_weights_are_the_bernoulli_rbms():
    """Same generator, same initial weights: the softmax variant draws nothing else at init."""
    a = ReplicatedSoftmaxRBM(30, 5, torch.Generator().manual_seed(3))
    b = RBM(30, 5, torch.Generator().manual_seed(3))
    assert torch.equal(a.weight, b.weight) and not a.linear_hidden


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_trains_on_the_gpu(trained):
    v_tr, v_te = trained["v_tr"], trained["v_te"]
    rbm, hist = train_rbm(v_tr, v_te, 5, trained["cfg"], seed=0, device="cuda", visible="softmax", **QUIET)
    assert rbm.weight.is_cuda and hist[-1]["val_loss"] < hist[0]["val_loss"] - 0.05
    gen = torch.Generator(device="cuda").manual_seed(0)
    recon = rbm.reconstruct(v_te.cuda(), gen)
    assert torch.equal(recon.sum(1), v_te.cuda().sum(1)) and torch.equal(recon, recon.round())


def test_draws_of_documents_of_different_lengths_follow_each_rows_softmax():
    """Rows of 0 to 200 words over K=50 in one batch: each row's counts sum to its length, and
    each word's count has the multinomial mean D_i p_ik (within 4.5 standard errors over many
    repeats), so a short row does not borrow a long row's draws or probabilities."""
    rbm = random_rsm(K=50, F=4, seed=5)
    gen = torch.Generator().manual_seed(1)
    h = torch.bernoulli(torch.full((6, 4), 0.5, dtype=torch.float64), generator=gen)
    d = torch.tensor([0.0, 1.0, 7.0, 30.0, 200.0, 3.0], dtype=torch.float64)
    p = rbm.visible_prob(h)
    reps = 3000
    counts = torch.stack([rbm.sample_visible(h, d, gen) for _ in range(reps)])
    assert torch.equal(counts.sum(2), d.expand(reps, 6))
    mean = counts.mean(0)
    se = torch.sqrt(d[:, None] * p * (1 - p) / reps).clamp_min(1e-12)
    assert ((mean - d[:, None] * p).abs() / se < 4.5).all()
