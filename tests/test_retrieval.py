import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from aebench import retrieval
from aebench.experiments.e4_text_retrieval import cutoffs


def test_precision_and_map_hand_case():
    # one query (label 0); database of 4 on a line at distances 1, 2, 3, 4: labels 0, 1, 0, 1
    db = np.array([[1.0], [2.0], [3.0], [4.0]])
    r = retrieval.evaluate(np.array([[0.0]]), [0], db, [0, 1, 0, 1], "euclidean", ks=(1, 2, 4))
    assert r.precision_at == {1: 1.0, 2: 0.5, 4: 0.5}
    assert r.recall_at == {1: 0.5, 2: 0.5, 4: 1.0}
    assert r.mean_ap == pytest.approx((1 / 1 + 2 / 3) / 2)  # relevant at ranks 1 and 3
    assert r.top[0, :4].tolist() == [0, 1, 2, 3]


def test_ties_are_broken_by_database_index():
    # all four items are at Hamming distance 1: the ranking is the database order
    q = np.array([[1, 0]])
    db = np.array([[0, 0], [1, 1], [0, 0], [1, 1]])
    r = retrieval.evaluate(q, [1], db, [0, 1, 0, 1], "hamming", ks=(1, 2))
    assert r.top[0, :4].tolist() == [0, 1, 2, 3]
    assert r.precision_at == {1: 0.0, 2: 0.5}


def test_hamming_distance_counts_differing_bits():
    q = np.array([[1, 1, 0, 0]])
    db = np.array([[0, 0, 1, 1], [1, 1, 0, 1], [1, 1, 0, 0]])  # distances 4, 1, 0
    r = retrieval.evaluate(q, [0], db, [0, 0, 0], "hamming", ks=(1,))
    assert r.top[0, :3].tolist() == [2, 1, 0]


def test_cosine_ignores_length():
    q = np.array([[1.0, 0.0]])
    db = np.array([[10.0, 1.0], [0.1, 0.0], [0.0, 5.0]])  # same direction as q: item 1
    r = retrieval.evaluate(q, [0], db, [1, 0, 1], "cosine", ks=(1,))
    assert r.top[0, 0] == 1 and r.precision_at[1] == 1.0


def test_map_matches_scikit_learn_and_chunking_does_not_matter():
    rng = np.random.RandomState(0)
    q, db = rng.randn(40, 5), rng.randn(300, 5)
    yq, ydb = rng.randint(0, 3, 40), rng.randint(0, 3, 300)
    a = retrieval.evaluate(q, yq, db, ydb, "euclidean", ks=(1, 10), chunk=7)
    b = retrieval.evaluate(q, yq, db, ydb, "euclidean", ks=(1, 10), chunk=1000)
    assert a.mean_ap == pytest.approx(b.mean_ap) and a.precision_at == pytest.approx(b.precision_at)
    d = ((q[:, None, :] - db[None]) ** 2).sum(-1)
    ref = np.mean([average_precision_score(ydb == yq[i], -d[i]) for i in range(len(q))])
    assert a.mean_ap == pytest.approx(ref, rel=1e-9)


def test_binarize_thresholds_sigmoid_codes():
    assert retrieval.binarize(np.array([[0.1, 0.5, 0.51, 0.99]])).tolist() == [[0, 0, 1, 1]]
    assert retrieval.binarize(np.zeros((2, 3))).dtype == np.uint8


def test_cutoffs_follow_the_papers_axis():
    assert cutoffs(100) == [1, 3, 7, 15, 31, 63]


def test_label_dtype_does_not_change_the_result():
    """uint8 labels (as torchvision stores MNIST's) once indexed as a boolean mask."""
    rng = np.random.default_rng(0)
    q, db = rng.random((300, 5)), rng.random((400, 5))
    yq, ydb = rng.integers(0, 10, 300), rng.integers(0, 10, 400)
    a = retrieval.evaluate(q, yq, db, ydb, "euclidean", ks=(1, 10))
    b = retrieval.evaluate(q, yq.astype(np.uint8), db, ydb.astype(np.uint8), "euclidean", ks=(1, 10))
    assert a.mean_ap == b.mean_ap and a.precision_at == b.precision_at
