import itertools

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


def test_top_breaks_ties_by_database_index_but_the_metrics_do_not():
    # all four items are at Hamming distance 1: `top` lists them in database order, while
    # precision counts the expected hits over their orderings (2 of 4 relevant)
    q = np.array([[1, 0]])
    db = np.array([[0, 0], [1, 1], [0, 0], [1, 1]])
    r = retrieval.evaluate(q, [1], db, [0, 1, 0, 1], "hamming", ks=(1, 2))
    assert r.top[0, :4].tolist() == [0, 1, 2, 3]
    assert r.precision_at == {1: 0.5, 2: 0.5}
    assert r.mean_ap == 0.5  # one level: recall 1 at precision 2/4


def _naive_hits(d, rel, k):
    """Relevant items among the first k when ties go by index (the old tie-break)."""
    return int(rel[np.argsort(d, kind="stable")[:k]].sum())


def test_ties_count_in_random_order_hand_case():
    # distances 0, 1, 1, 1, 2 with relevance 1, 0, 1, 0, 1 (3 relevant)
    q = np.array([[0, 0]])
    db = np.array([[0, 0], [1, 0], [0, 1], [1, 0], [1, 1]])
    d, rel = np.array([0, 1, 1, 1, 2]), np.array([1, 0, 1, 0, 1])
    ks = (1, 2, 3, 4, 5)
    r = retrieval.evaluate(q, [0], db, [0, 1, 0, 1, 0], "hamming", ks=ks)
    expected = {1: 1.0, 2: (1 + 1 / 3) / 2, 3: (1 + 2 / 3) / 3, 4: 2 / 4, 5: 3 / 5}
    assert r.precision_at == pytest.approx(expected, rel=1e-15)
    assert r.recall_at == pytest.approx({k: expected[k] * k / 3 for k in ks}, rel=1e-15)
    # brute force: the mean over all 3! orderings of the tied block of the plain precision
    for k in ks:
        orders = [np.r_[0, np.array(p), 4] for p in itertools.permutations([1, 2, 3])]
        assert r.precision_at[k] == pytest.approx(np.mean([rel[o[:k]].sum() / k for o in orders]))
    # AP: levels 0, 1, 2 each add recall 1/3, at precisions 1/1, 2/4, 3/5
    assert r.mean_ap == pytest.approx((1 + 2 / 4 + 3 / 5) / 3, rel=1e-15)
    assert r.mean_ap == pytest.approx(average_precision_score(rel, -d), rel=1e-15)
    assert r.top[0].tolist() == [0, 1, 2, 3, 4]
    # the old index tie-break gave P@2 = 1/2 here, and 1 with items 1 and 2 swapped; now
    # both database orders give the expectation
    swap = [0, 2, 1, 3, 4]
    assert _naive_hits(d, rel, 2) == 1 and _naive_hits(d[swap], rel[swap], 2) == 2
    r2 = retrieval.evaluate(q, [0], db[swap], np.array([0, 1, 0, 1, 0])[swap], "hamming", ks=ks)
    assert r2.precision_at == r.precision_at and r2.mean_ap == r.mean_ap


def _tied_data(metric, rng, n_q=30, n_db=250):
    """Queries and a database with many exact ties whose distances numpy reproduces exactly."""
    if metric == "hamming":  # 5-bit codes: 6 distance levels
        q, db = rng.integers(0, 2, (n_q, 5)), rng.integers(0, 2, (n_db, 5))
        d = (q[:, None, :] != db[None]).sum(-1).astype(float)
    elif metric == "euclidean":  # small integer points, half the rows duplicated
        q = rng.integers(0, 4, (n_q, 3)).astype(float)
        db = rng.integers(0, 4, (n_db, 3)).astype(float)
        db[n_db // 2:] = db[:n_db - n_db // 2]
        d = ((q[:, None, :] - db[None]) ** 2).sum(-1)
    else:  # cosine: +-1 entries in 4-D, rows scaled by 1, 2 or 3 (same direction, same distance)
        q = rng.choice([-1.0, 1.0], (n_q, 4))
        db = rng.choice([-1.0, 1.0], (n_db, 4)) * rng.integers(1, 4, (n_db, 1))
        d = -(q / 2) @ (db / np.linalg.norm(db, axis=1, keepdims=True)).T
    return q, db, rng.integers(0, 3, n_q), rng.integers(0, 3, n_db), d


def _expected_precision(d, y, ks):
    """Tie-aware P@k by another route: an item with `less` items closer and `eq` items at
    its distance (itself included) is among the first k with probability
    clip((k - less) / eq, 0, 1) over the orderings of the ties."""
    out = {k: 0.0 for k in ks}
    for di, rel in zip(d, y):
        less = (di[None, :] < di[:, None]).sum(1)
        eq = (di[None, :] == di[:, None]).sum(1)
        for k in ks:
            out[k] += (rel * np.clip((k - less) / eq, 0, 1)).sum() / k / len(d)
    return out


@pytest.mark.parametrize("metric", retrieval.METRICS)
def test_tie_aware_metrics_match_scikit_learn_and_the_expectation(metric):
    rng = np.random.default_rng(1)
    q, db, yq, ydb, d = _tied_data(metric, rng)
    assert all(len(np.unique(row)) < len(row) / 10 for row in d)  # heavily tied
    ks = (1, 2, 5, 10, 50, 250)
    r = retrieval.evaluate(q, yq, db, ydb, metric, ks=ks)
    y = ydb[None, :] == yq[:, None]
    ref = np.mean([average_precision_score(y[i], -d[i]) for i in range(len(q))])
    assert r.mean_ap == pytest.approx(ref, rel=1e-12)
    assert r.precision_at == pytest.approx(_expected_precision(d, y, ks), rel=1e-12)
    assert r.precision_at[250] == pytest.approx(y.mean(), rel=1e-12)


@pytest.mark.parametrize("metric", retrieval.METRICS)
def test_result_does_not_depend_on_database_order(metric):
    rng = np.random.default_rng(2)
    q, db, yq, ydb, d = _tied_data(metric, rng)
    perm = rng.permutation(len(db))
    ks = (1, 3, 10, 40)
    a = retrieval.evaluate(q, yq, db, ydb, metric, ks=ks)
    b = retrieval.evaluate(q, yq, db[perm], ydb[perm], metric, ks=ks)
    assert a.precision_at == b.precision_at and a.recall_at == b.recall_at
    assert a.mean_ap == b.mean_ap
    # the old tie-break by database index did depend on it, on this very data
    y = ydb[None, :] == yq[:, None]
    naive = [sum(_naive_hits(d[i], y[i], k) for i in range(len(q))) for k in ks]
    naive_perm = [sum(_naive_hits(d[i, perm], y[i, perm], k) for i in range(len(q))) for k in ks]
    assert naive != naive_perm


@pytest.mark.parametrize("metric", retrieval.METRICS)
def test_chunking_does_not_change_the_result(metric):
    rng = np.random.default_rng(3)
    q, db, yq, ydb, _ = _tied_data(metric, rng, n_q=13)
    ks = (1, 4, 30)
    r = [retrieval.evaluate(q, yq, db, ydb, metric, ks=ks, chunk=c) for c in (1, 3, None)]
    r.append(retrieval.evaluate(q, yq, db, ydb, metric, ks=ks, chunk_bytes=1))  # 1 at a time
    for other in r[1:]:
        assert other.precision_at == r[0].precision_at and other.recall_at == r[0].recall_at
        assert other.mean_ap == r[0].mean_ap and (other.top == r[0].top).all()


def test_without_ties_the_metrics_are_the_plain_per_rank_ones():
    rng = np.random.default_rng(4)
    q, db = rng.standard_normal((20, 4)), rng.standard_normal((200, 4))
    yq, ydb = rng.integers(0, 3, 20), rng.integers(0, 3, 200)
    r = retrieval.evaluate(q, yq, db, ydb, "euclidean", ks=(1, 5, 20), chunk=7)
    d = ((q[:, None, :] - db[None]) ** 2).sum(-1)
    y = ydb[None, :] == yq[:, None]
    assert (r.top == np.argsort(d, 1)[:, :r.top.shape[1]]).all()  # and no float32 ties
    for k in (1, 5, 20):
        assert r.precision_at[k] == sum(_naive_hits(d[i], y[i], k) for i in range(20)) / (20 * k)
    ap = []
    for di, yi in zip(d, y):  # mean over the relevant items' ranks of precision at the rank
        rel = yi[np.argsort(di)]
        ap.append(np.mean(np.cumsum(rel)[rel] / (1 + np.flatnonzero(rel))))
    assert r.mean_ap == pytest.approx(np.mean(ap), rel=1e-12)


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


# ---------------------------------------------------------------- leave-one-out, recall levels

def test_leave_one_out_hand_case_with_ties():
    # 2-bit codes 00, 00, 10, 01, 11 with labels 0, 0, 1, 0, 1; each queries the other four.
    # Query 0: item 1 (its duplicate, relevant) at 0, items 2 and 3 tied at 1 (3 relevant),
    # item 4 at 2: AP (1/1 + 2/3) / 2, the second relevant counted at its block's end.
    # Query 2: items 0, 1 and 4 tied at 1 (4 the only relevant): AP 1/3; query 3: items 0, 1
    # (both relevant) and 4 tied at 1: AP 2/3; query 4: items 2 (relevant) and 3 tied: 1/2.
    x = np.array([[0, 0], [0, 0], [1, 0], [0, 1], [1, 1]])
    y = np.array([0, 0, 1, 0, 1])
    r = retrieval.evaluate(x, y, x, y, "hamming", ks=(1, 4), exclude_self=True,
                           recall_levels=(0.5, 1.0))
    assert r.mean_ap == pytest.approx((5 / 6 + 5 / 6 + 1 / 3 + 2 / 3 + 1 / 2) / 5, rel=1e-15)
    # P@1: expected hits at rank 1 over the tied orderings: 1, 1, 1/3, 2/3, 1/2
    assert r.precision_at[1] == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 1 / 2) / 5, rel=1e-15)
    assert r.precision_at[4] == pytest.approx((2 + 2 + 1 + 2 + 1) / 4 / 5, rel=1e-15)
    assert 5 not in r.precision_at  # four items to rank, not five
    # P@R: 50% is reached by the first relevant item, 100% by the last, at their blocks' ends
    assert r.precision_at_recall[0.5] == pytest.approx((1 + 1 + 1 / 3 + 2 / 3 + 1 / 2) / 5)
    assert r.precision_at_recall[1.0] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 2 / 3 + 1 / 2) / 5)
    assert r.chance == pytest.approx((2 + 2 + 1 + 2 + 1) / 4 / 5)  # relevant others / 4
    assert r.top[:, 0].tolist() == [1, 0, 0, 0, 2]  # never itself; its duplicate stays
    assert all(i not in r.top[i] for i in range(5))
    # without the exclusion each query finds itself first (query 0 ties with its duplicate)
    plain = retrieval.evaluate(x, y, x.copy(), y, "hamming", ks=(1,))
    assert plain.precision_at[1] == 1.0 and plain.chance == pytest.approx((3 + 3 + 2 + 3 + 2) / 25)


@pytest.mark.parametrize("metric", retrieval.METRICS)
def test_leave_one_out_is_each_query_against_all_the_others(metric):
    rng = np.random.default_rng(5)
    _, x, _, y, _ = _tied_data(metric, rng, n_db=60)
    y[0] = 3  # a class of one: no relevant item left (AP and P@R 0, as in AP)
    ks, levels = (1, 2, 10, 59), (0.05, 0.2, 1 / 3, 0.5, 1.0)
    results = [retrieval.evaluate(x, y, x, y, metric, ks=ks, exclude_self=True,
                                  recall_levels=levels, chunk=c) for c in (1, 7, None)]
    per_query = [retrieval.evaluate(x[i:i + 1], y[i:i + 1], np.delete(x, i, 0), np.delete(y, i),
                                    metric, ks=ks, recall_levels=levels) for i in range(len(x))]
    for r in results:
        assert r.mean_ap == pytest.approx(np.mean([p.mean_ap for p in per_query]), rel=1e-12)
        for k in ks:
            assert r.precision_at[k] == pytest.approx(
                np.mean([p.precision_at[k] for p in per_query]), rel=1e-12)
            assert r.recall_at[k] == pytest.approx(
                np.mean([p.recall_at[k] for p in per_query]), rel=1e-12)
        for lv in levels:
            assert r.precision_at_recall[lv] == pytest.approx(
                np.mean([p.precision_at_recall[lv] for p in per_query]), rel=1e-12)
        assert r.chance == pytest.approx(np.mean([p.chance for p in per_query]), rel=1e-12)
        assert r.precision_at == results[0].precision_at and r.mean_ap == results[0].mean_ap
        assert (r.top == results[0].top).all()
    assert per_query[0].mean_ap == 0 and per_query[0].precision_at_recall[1.0] == 0


def test_leave_one_out_needs_the_query_set_as_database():
    x, y = np.eye(3), np.array([0, 1, 0])
    with pytest.raises(ValueError, match="query set itself"):
        retrieval.evaluate(x, y, x.copy(), y, "cosine", exclude_self=True)
    with pytest.raises(ValueError, match="labels differ"):
        retrieval.evaluate(x, y, x, y[[1, 0, 2]], "cosine", exclude_self=True)
    with pytest.raises(ValueError, match="nothing to rank"):
        one = x[:1]
        retrieval.evaluate(one, y[:1], one, y[:1], "cosine", exclude_self=True)


def test_precision_at_recall_levels_hand_case():
    # the tie hand case above: distances 0, 1, 1, 1, 2 with relevance 1, 0, 1, 0, 1
    q = np.array([[0, 0]])
    db = np.array([[0, 0], [1, 0], [0, 1], [1, 0], [1, 1]])
    levels = (0.1, 1 / 3, 0.5, 2 / 3, 1.0)
    r = retrieval.evaluate(q, [0], db, [0, 1, 0, 1, 0], "hamming", recall_levels=levels)
    # 10% and 1/3 need one relevant item (rank 1); 50% and 2/3 (2/3 x 3 is 2.0000000000000004
    # in floats: still two) the second, in the tied block of ranks 2-4: precision 2/4 at the
    # block's end; 100% the third, at rank 5
    assert r.precision_at_recall == pytest.approx(
        {0.1: 1.0, 1 / 3: 1.0, 0.5: 0.5, 2 / 3: 0.5, 1.0: 3 / 5}, rel=1e-15)
    # untied: the precision at the rank of the ceil(level x 3)-th relevant item (ranks 1, 3, 4)
    db = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    r = retrieval.evaluate(np.array([[0.0]]), [0], db, [0, 1, 0, 0, 1], "euclidean",
                           recall_levels=levels)
    assert r.precision_at_recall == pytest.approx(
        {0.1: 1.0, 1 / 3: 1.0, 0.5: 2 / 3, 2 / 3: 2 / 3, 1.0: 3 / 4}, rel=1e-15)
    with pytest.raises(ValueError, match="recall levels"):
        retrieval.evaluate(q, [0], db, [0] * 5, "euclidean", recall_levels=(0.0,))


@pytest.mark.parametrize("metric", retrieval.METRICS)
def test_precision_at_recall_is_scikit_learns_curve_and_integrates_to_ap(metric):
    from sklearn.metrics import precision_recall_curve

    rng = np.random.default_rng(6)
    q, db, yq, ydb, d = _tied_data(metric, rng, n_q=12, n_db=120)
    levels = (0.01, 0.1, 0.25, 0.5, 0.9, 1.0)
    r = retrieval.evaluate(q, yq, db, ydb, metric, recall_levels=levels, chunk=5)
    y = ydb[None, :] == yq[:, None]
    for lv in levels:  # the first point of the curve, from the top score down, with recall >= lv
        ref = []
        for i in range(len(q)):
            prec, rec, _ = precision_recall_curve(y[i], -d[i])
            ref.append(prec[np.flatnonzero(rec >= lv)[-1]])
        assert r.precision_at_recall[lv] == pytest.approx(np.mean(ref), rel=1e-12)
    # AP is the integral of the step function: one level inside each relevant item's step
    for i in range(3):
        n_rel = int(y[i].sum())
        mid = [(j - 0.5) / n_rel for j in range(1, n_rel + 1)]
        one = retrieval.evaluate(q[i:i + 1], yq[i:i + 1], db, ydb, metric, recall_levels=mid)
        assert np.mean(list(one.precision_at_recall.values())) == pytest.approx(one.mean_ap,
                                                                              rel=1e-12)
    assert r.chance == pytest.approx(y.mean(1).mean(), rel=1e-12)


def test_labels_may_be_any_strided_view():
    x = np.eye(3)
    y = np.array([0, 1, 0, 1, 1, 0])[::-2]  # a negative stride (torch refuses those)
    r = retrieval.evaluate(x, y, x, y, "cosine", ks=(1,))
    assert r.precision_at[1] == 1.0
