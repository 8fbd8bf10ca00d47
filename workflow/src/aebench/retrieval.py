"""Batched retrieval: rank a database for each query and score the ranking.

Queries are processed in chunks, so memory is O(chunk x database) and never
O(queries x database): 10k MNIST queries against 55k train images need a few hundred MB.
Ties are broken by database index (a stable sort), so results are deterministic.
Relevance is "same label".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

METRICS = ("cosine", "euclidean", "hamming")


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


@torch.no_grad()
def evaluate(queries, q_labels, database, db_labels, metric: str, ks=(1, 10, 100),
             n_top: int = 8, chunk: int = 256, device="cpu") -> RetrievalResult:
    """Rank all of ``database`` for every query; precision/recall at ``ks``, mAP, top hits."""
    device = torch.device(device)
    q = _prepare(queries, metric, device)
    db = _prepare(database, metric, device)
    db_sq = (db * db).sum(1) if metric == "euclidean" else None
    # int64 whatever the stored dtype: uint8 labels would index as a boolean mask below
    yq = torch.as_tensor(np.asarray(q_labels, dtype=np.int64), device=device)
    ydb = torch.as_tensor(np.asarray(db_labels, dtype=np.int64), device=device)
    n_rel_per_class = torch.bincount(ydb, minlength=int(max(yq.max(), ydb.max())) + 1)
    ks = sorted(k for k in ks if k <= len(db))
    hits_at = torch.zeros(len(ks), dtype=torch.float64, device=device)
    recall_at = torch.zeros(len(ks), dtype=torch.float64, device=device)
    ap_sum = torch.zeros((), dtype=torch.float64, device=device)
    ranks = torch.arange(1, len(db) + 1, device=device, dtype=torch.float64)
    k_idx = torch.as_tensor([k - 1 for k in ks], device=device)
    tops = []
    for i in range(0, len(q), chunk):
        d = _distance(q[i:i + chunk], db, metric, db_sq)
        order = torch.sort(d, dim=1, stable=True).indices
        rel = (ydb[order] == yq[i:i + chunk, None]).to(torch.float64)
        cum = rel.cumsum(1)
        n_rel = n_rel_per_class[yq[i:i + chunk]].to(torch.float64)
        hits_at += cum[:, k_idx].sum(0)
        recall_at += (cum[:, k_idx] / n_rel.clamp(min=1)[:, None]).sum(0)
        # average precision: mean of precision@rank over the ranks of the relevant items
        ap_sum += ((cum / ranks) * rel).sum(1).div(n_rel.clamp(min=1)).sum()
        tops.append(order[:, :n_top].cpu())
    n = len(q)
    return RetrievalResult(
        precision_at={k: float(hits_at[j] / (n * k)) for j, k in enumerate(ks)},
        recall_at={k: float(recall_at[j] / n) for j, k in enumerate(ks)},
        mean_ap=float(ap_sum / n),
        top=torch.cat(tops).numpy(),
    )
