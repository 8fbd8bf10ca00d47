"""A tiny synthetic bag-of-words corpus (no download), for smoke runs and tests."""

from __future__ import annotations

import numpy as np

from . import Prepared, register, split_train_val

CORPUS_SEED = 0  # the corpus itself: fixed, never a run's seed


@register("toytext", "text", 1.0, offline=lambda: True)
def prepare_toytext(raw_root=None, mirror=None, allow_download=False, n_groups=4, vocab_size=200,
                    doc_len=60, n_train=400, n_val=100, n_test=200,
                    split_seed=0) -> tuple[Prepared, dict]:
    """A tiny synthetic bag-of-words corpus (no download), for smoke runs and tests.

    Each group draws its words from its own Dirichlet distribution over the vocabulary,
    mixed with a shared background, so groups are separable but overlap like topics do.
    The corpus and its test documents (the last ``n_test``) are fixed by :data:`CORPUS_SEED`,
    like a downloaded corpus and its official split; the run's ``split_seed`` draws the
    validation split from the rest.
    """
    rng = np.random.RandomState(CORPUS_SEED)
    background = rng.dirichlet(np.full(vocab_size, 0.5))
    topics = [0.5 * rng.dirichlet(np.full(vocab_size, 0.05)) + 0.5 * background
              for _ in range(n_groups)]
    n = n_train + n_val + n_test
    y = np.arange(n) % n_groups
    rng.shuffle(y)
    x = np.stack([rng.multinomial(rng.poisson(doc_len) + 1, topics[g]) for g in y]).astype(np.float32)
    x_tr, y_tr, x_va, y_va = split_train_val(x[:n_train + n_val], y[:n_train + n_val], n_val, None,
                                         split_seed)
    p = Prepared("toytext", "text", x_tr, y_tr, x_va, y_va, x[n_train + n_val:], y[n_train + n_val:],
                 shape=(vocab_size,), classes=[f"group{g}" for g in range(n_groups)],
                 vocabulary=[f"w{i}" for i in range(vocab_size)])
    return p, {"synthetic": f"seed {CORPUS_SEED}"}


