"""Batched retrieval: rank a database for each query and score the ranking.

Queries are processed in chunks, so memory is O(chunk x database) and never
O(queries x database): 10k MNIST queries against 55k train images need a few hundred MB.
Relevance is "same label".

Two protocols: queries against a separate database (test queries the train set), or
leave-one-out (``exclude_self=True``: the database is the query set itself, and each query
ranks all the other items; Hinton & Salakhutdinov's protocol, each test document querying
the other test documents). Leave-one-out removes exactly the query's own item from its
ranking and from its relevant count; any other item, an exact duplicate included, stays.

The metrics are tie-aware: database items at exactly the same distance from a query (equal
floats; Hamming distances are counts, so 28-bit codes give only 29 levels) count as if put
in random order, so no result depends on the database order. Precision@k and recall@k take
the expected number of relevant items among the first k over those orderings; AP is
scikit-learn's ``average_precision_score`` on scores = -distance: the sum, over distinct
distances, of the level's recall increment times the precision at the level's end. Without
ties both reduce to the plain per-rank definitions. Only ``top`` (the first hits, for
figures) breaks ties by database index (a stable sort), so it is deterministic too.

Precision at a recall level rho (``recall_levels``): per query, the precision at the first
rank where recall reaches rho, i.e. where the running count of relevant items reaches
ceil(rho x relevant), so the rank of that relevant item. With ties it is taken at the end of
that item's tie block, as AP takes it: it is the first point of scikit-learn's
``precision_recall_curve`` (on scores = -distance) whose recall is at least rho, and AP is
exactly its integral over rho in (0, 1]. A query with no relevant item scores 0 there, as
in AP. (Precision@k takes the expectation over the ties' orderings instead: k cuts into a
block, whereas a recall level is reached by a relevant item, whose block the whole
distance threshold then takes.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

METRICS = ("cosine", "euclidean", "hamming")


# Memory one chunk of queries may take while ranking the database (see evaluate).
CHUNK_BYTES = 256 * 2**20


def binarize(codes: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Semantic hashing: a sigmoid code unit above ``threshold`` is bit 1."""
    return (np.asarray(codes) > threshold).astype(np.uint8)


def _distance(q: torch.Tensor, db: torch.Tensor, metric: str, db_sq=None) -> torch.Tensor:
    """Smaller is closer. Float64 for hamming so that counts compare exactly."""
    if metric == "cosine":
        return -(q @ db.T)  # both sides are L2-normalised first
    if metric == "euclidean":
        # ||q||^2 - 2 q.db + ||db||^2; the ||q||^2 term does not change a query's ranking
        return db_sq[None, :] - 2 * (q @ db.T)
    if metric == "hamming":
        return q @ (1 - db).T + (1 - q) @ db.T
    raise ValueError(f"unknown retrieval metric {metric!r}; known: {METRICS}")


def _prepare(x, metric, device):
    t = torch.as_tensor(np.asarray(x), device=device)
    if metric == "hamming":
        return t.to(torch.float64)
    t = t.to(torch.float32)
    if metric == "cosine":
        t = torch.nn.functional.normalize(t, dim=1)  # an all-zero row stays zero
    return t


@dataclass
class RetrievalResult:
    precision_at: dict[int, float]  # mean over queries of precision among the first k
    recall_at: dict[int, float]
    mean_ap: float
    top: np.ndarray  # (n_queries, n_top) database indices of the first hits
    # mean over queries of the precision where recall first reaches each level
    precision_at_recall: dict[float, float] = field(default_factory=dict)
    # the chance floor: mean over queries of the fraction of the ranked items that are
    # relevant (the class prior of the database; a random ranking's precision at any k)
    chance: float = float("nan")


# Recall levels are reached when the relevant count reaches ceil(level x relevant); this much
# is forgiven for the rounding of the product (2/3 x 3 = 2.0000000000000004 in floats).
_RECALL_EPS = 1e-9


@torch.no_grad()
def evaluate(queries, q_labels, database, db_labels, metric: str, ks=(1, 10, 100),
             n_top: int = 8, chunk: int | None = None, device="cpu",
             chunk_bytes: int = CHUNK_BYTES, exclude_self: bool = False,
             recall_levels=()) -> RetrievalResult:
    """Rank all of ``database`` for every query; tie-aware precision/recall at ``ks``, mAP,
    precision at ``recall_levels``, top hits and the chance floor.

    ``exclude_self``: leave-one-out; ``database`` must be ``queries`` itself (the same
    object) with the same labels, and query i ranks every item but item i: the item is
    removed from its ranking (ranks, tie blocks and ``top`` are those of the other items,
    ``ks`` go up to the database size minus one) and its relevant count is one less.

    Queries go through in chunks sized so that one chunk's distance matrix, ranking, relevance
    and tie blocks take about ``chunk_bytes``: memory is O(chunk x database) whatever the
    number of queries. Each query's scores are kept and summed once at the end, so the
    result does not depend on the chunk size either.
    """
    if exclude_self:
        if queries is not database:
            raise ValueError("exclude_self: the database must be the query set itself "
                             "(pass the same array as queries and database)")
        if not np.array_equal(np.asarray(q_labels), np.asarray(db_labels)):
            raise ValueError("exclude_self: the query and database labels differ")
    levels = [float(r) for r in recall_levels]
    if any(not 0 < r <= 1 for r in levels):
        raise ValueError(f"recall levels must lie in (0, 1]: {levels}")
    device = torch.device(device)
    q = _prepare(queries, metric, device)
    db = q if exclude_self else _prepare(database, metric, device)
    db_sq = (db * db).sum(1) if metric == "euclidean" else None
    # int64 whatever the stored dtype: uint8 labels would index as a boolean mask below
    yq = torch.as_tensor(np.ascontiguousarray(q_labels, dtype=np.int64), device=device)
    ydb = torch.as_tensor(np.ascontiguousarray(db_labels, dtype=np.int64), device=device)
    n_rel_per_class = torch.bincount(ydb, minlength=int(max(yq.max(), ydb.max())) + 1)
    # the items each query ranks: the whole database, or all of it but the query itself
    n_db = len(db) - int(exclude_self)
    if n_db < 1:
        raise ValueError("nothing to rank: the database has no item besides the query")
    ks = sorted(k for k in ks if k <= n_db)
    if chunk is None:
        # per (query, database item): distance and sorted distance 4 B each (8 B for hamming)
        # + sort index 8 B + the sort's scratch; then label by rank 8 B, relevance and tie
        # block edges 1 B each, running count 4 B, and (row, rank) 16 B + precision 8 B per
        # relevant untied item or first/last 16 B + counts 16 B per tied block (at most one
        # per two items), with their temporaries. Peak RSS measured on CPU, 60k items:
        # 21-25 B typical, 44-46 B in the worst cases (every item relevant; every item
        # twice), against 17-25 B and 45 B before ties were scored; 64 B leaves room for
        # a GPU sort's scratch (not measured). Leave-one-out and the recall levels add
        # nothing per item (the query's own item is sorted last and sliced off; the levels
        # take a few values per query).
        chunk = max(1, min(len(q), chunk_bytes // (64 * len(db))))
    # Per-query scores, filled in place (one small tensor kept per chunk would sit between
    # the chunk's large freed buffers on the malloc heap, so each next chunk needs fresh
    # memory: measured peak RSS grew ~200 MB per 1000 queries, 4.2 GB for 10k x 60k on
    # pixels) and summed once at the end.
    hits = torch.zeros(len(q), len(ks), dtype=torch.float64, device=device)
    recall = torch.zeros(len(q), len(ks), dtype=torch.float64, device=device)
    ap = torch.zeros(len(q), dtype=torch.float64, device=device)
    p_at_r = torch.zeros(len(q), len(levels), dtype=torch.float64, device=device)
    chance = torch.zeros(len(q), dtype=torch.float64, device=device)
    top = torch.empty(len(q), min(n_top, n_db), dtype=torch.long)
    # flat index (row * n_db + rank) of each chunk row's rank 0
    row_start = torch.arange(0, min(chunk, len(q)) * n_db, n_db, device=device)
    k_idx = torch.as_tensor([k - 1 for k in ks], device=device, dtype=torch.long)
    lv = torch.as_tensor(levels, dtype=torch.float64, device=device)
    for i in range(0, len(q), chunk):
        yc = yq[i:i + chunk]
        c = len(yc)
        d = _distance(q[i:i + chunk], db, metric, db_sq)
        if exclude_self:
            # every distance is finite, so the query's own item sorts last, alone, and is
            # sliced off: the other items keep their order and their tie blocks exactly
            own = torch.arange(c, device=device)
            d[own, own + i] = float("inf")
            del own
        dist, order = torch.sort(d, dim=1, stable=True)
        del d
        if exclude_self:
            if not (order[:, n_db] == torch.arange(i, i + c, device=device)).all():
                raise ValueError("exclude_self: non-finite distances (NaN or inf in the codes?)")
            dist, order = dist[:, :n_db], order[:, :n_db]
        rel = ydb[order] == yc[:, None]  # bool: is the item at rank r relevant
        top[i:i + chunk] = order[:, :top.shape[1]].cpu()  # a copy into `top`, not a view
        del order
        # Tie blocks: runs of exactly equal sorted distances. edge[:, r] says a block starts
        # at rank r, edge[:, r + 1] that one ends at rank r.
        edge = torch.empty(c, n_db + 1, dtype=torch.bool, device=device)
        edge[:, 0] = edge[:, n_db] = True
        torch.ne(dist[:, 1:], dist[:, :-1], out=edge[:, 1:n_db])
        del dist
        starts, ends = edge[:, :-1], edge[:, 1:]
        # running count of relevant items; float32 counts are exact up to 2^24 items
        cum = rel.cumsum(1, dtype=torch.float32)
        n_rel_true = (n_rel_per_class[yc] - int(exclude_self)).to(torch.float64)
        n_rel = n_rel_true.clamp(min=1)
        # Untied items (a block of one) score as without ties: AP sums precision@rank over
        # the ranks of the relevant ones, precision@k counts the relevant among the first k.
        rel &= starts & ends
        row, rank0 = rel.nonzero(as_tuple=True)
        del rel
        prec = cum[row, rank0].to(torch.float64) / (rank0 + 1).to(torch.float64)
        ap_rows = torch.zeros(c, dtype=torch.float64, device=device).index_add_(0, row, prec)
        del row, rank0, prec
        at_k = cum[:, k_idx].to(torch.float64)
        # Tied blocks (two items or more), as flat indices row * n_db + rank of their first
        # and last items: both ascending, so the j-th start and the j-th end are one block.
        first = (starts & ~ends).view(-1).nonzero().squeeze(1)
        last = (ends & ~starts).view(-1).nonzero().squeeze(1)
        del edge, starts, ends
        flat = cum.view(-1)
        if len(last):
            upto = flat[last].to(torch.float64)  # relevant items up to the block's end
            before = flat[first - 1].to(torch.float64).masked_fill_(first % n_db == 0, 0)
            # AP (scikit-learn's on -distance): each block adds (relevant in it) x (precision
            # at its end), i.e. each relevant item counts the precision at its block's end
            block_row = torch.div(last, n_db, rounding_mode="floor")
            term = (upto - before) * upto / (last - block_row * n_db + 1)
            ap_rows.index_add_(0, block_row, term)
            del block_row, term
            # precision@k: if rank k (1-based) falls in a block over ranks [s, e] with b
            # relevant before it and r in it, the expected hits among the first k over the
            # block's orderings are b + (k - s) * r / (e - s + 1)
            target = row_start[:c, None] + k_idx[None, :]  # flat index of rank k
            j = torch.searchsorted(last, target).clamp_(max=len(last) - 1)
            inside = (first[j] <= target) & (target <= last[j])
            tied = before[j] + (target - first[j] + 1) * (upto[j] - before[j]) / (
                last[j] - first[j] + 1)
            at_k = torch.where(inside, tied, at_k)
            del upto, before, j, inside, tied
        if len(levels):
            # precision at a recall level: at the rank of the ceil(level x relevant)-th
            # relevant item (the first rank whose running count reaches it), moved to the
            # end of that item's tie block
            need = torch.ceil(lv[None, :] * n_rel_true[:, None] - _RECALL_EPS).clamp_(min=1)
            reach = torch.searchsorted(cum, need.to(torch.float32).contiguous())
            reach = row_start[:c, None] + reach.clamp_(max=n_db - 1)  # flat index
            if len(last):
                j = torch.searchsorted(last, reach).clamp_(max=len(last) - 1)
                reach = torch.where((first[j] <= reach) & (reach <= last[j]), last[j], reach)
                del j
            pr = flat[reach].to(torch.float64) / (reach - row_start[:c, None] + 1)
            p_at_r[i:i + chunk] = pr.masked_fill_(n_rel_true[:, None] == 0, 0)
            del need, reach, pr
        del cum, flat, first, last
        ap[i:i + chunk] = ap_rows / n_rel
        hits[i:i + chunk] = at_k
        recall[i:i + chunk] = at_k / n_rel[:, None]
        chance[i:i + chunk] = n_rel_true / n_db
    n = len(q)
    hits_at, recall_at, p_at_r = hits.sum(0), recall.sum(0), p_at_r.sum(0)
    return RetrievalResult(
        precision_at={k: float(hits_at[j] / (n * k)) for j, k in enumerate(ks)},
        recall_at={k: float(recall_at[j] / n) for j, k in enumerate(ks)},
        mean_ap=float(ap.sum() / n),
        top=top.numpy(),
        precision_at_recall={r: float(p_at_r[j] / n) for j, r in enumerate(levels)},
        chance=float(chance.sum() / n),
    )
