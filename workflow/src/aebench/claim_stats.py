"""Run-level statistics over a claims table: one p per claim, Holm's correction over the run's
claims, and how likely fresh seeds are to give the same verdict (issue 38).

Each check of a claim is judged by :mod:`aebench.verdicts`, which gives its one-sided
``p_pass`` (null: the check is false) and ``p_fail`` (null: it holds). A claim of several
checks ("all must hold") combines them:

* p_pass = the largest check's p_pass: the claim passes only when every check does, an
  intersection-union test, which needs no correction (PASS ⇔ p_pass ≤ 0.05 still holds).
* p_fail = min(1, k·smallest p_fail) over its k checks: any one failing check fails the claim,
  so k chances to fail are Bonferroni-corrected within the claim. A claim FAILed by one check
  at p 0.03 out of two therefore shows p_fail 0.06: its unadjusted FAIL is at 5% per check,
  not per claim.
  A check with fewer than 3 seeds has no p (nan): it cannot pass, so the claim's p_pass is nan,
  and it cannot fail, so p_fail is over the others (k still counts it: conservative).

Holm (:func:`holm`): the family is every judged claim of the run with a p (claims not in the
run, not judged on its data or left to another run are outside it, and so are p's of nan).
Holm's step-down adjustment keeps the family-wise error at 5%: a claim's Holm verdict is PASS
when its Holm-adjusted p_pass is ≤ 0.05 (family: all judged claims' p_pass), FAIL when its
Holm-adjusted p_fail is (family: all their p_fail), INCONCLUSIVE otherwise. The two can not
both hold: a check's p_pass + p_fail is 1 (its band's two tests' likewise add up to at least 1).

Replication (:func:`replication`): the plug-in probability that a fresh set of as many seeds
gives the same verdict, taking the observed mean and spread of each judged quantity as the
truth and its values as normal. For one directional check, the fresh t statistic
(mean − threshold)/(s/√n) follows the noncentral t with n − 1 degrees of freedom and
noncentrality (observed mean − threshold)/(observed s/√n), so P(PASS) and P(FAIL) are its tail
probabilities beyond ±t_{0.95,n−1} (scipy.stats.nct). Bands (within_rel) and claims of
several checks are re-judged by the same rule on a seeded Monte Carlo (``DRAWS`` sets of n
normal values per check); the checks of one claim are drawn independently, although they share
seeds: an approximation, since only each check's mean and spread are kept. A check with zero
spread gives its verdict again with probability 1; one with fewer than 3 seeds is INCONCLUSIVE
whatever the seeds, and a claim of only such checks has no replication (nan: no spread to plug
in). The replication of INCONCLUSIVE is 1 − P(PASS) − P(FAIL). It is an estimate from the
same seeds, not a guarantee: a verdict below ``FRAGILE`` is marked fragile in the tables.
"""

from __future__ import annotations

import math

import numpy as np

from .verdicts import ALPHA, MIN_SEEDS, Judgement

DRAWS = 20_000  # Monte Carlo sets of seeds: standard error ≤ 0.0035 on a probability
MC_SEED = 38  # fixed, so a claims table is reproducible to the bit
FRAGILE = 0.8  # replication below this marks a verdict as fragile
VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")


def holm(pvals) -> np.ndarray:
    """Holm's step-down adjusted p's, in the input's order: the i-th smallest of the m finite
    p's is multiplied by m − i + 1, made non-decreasing in that order and capped at 1; nan
    stays nan and is not counted in m."""
    p = np.asarray(pvals, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    scaled = (m - np.arange(m)) * p[order]  # (m − i + 1)·p_(i), i from 1
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


def claim_p(judgements: list[Judgement]) -> tuple[float, float]:
    """(p_pass, p_fail) of a claim from its checks' judgements (module docstring)."""
    if len(judgements) == 1:
        return judgements[0].p_pass, judgements[0].p_fail
    passes = [j.p_pass for j in judgements]
    fails = [j.p_fail for j in judgements if not math.isnan(j.p_fail)]
    p_pass = math.nan if any(math.isnan(p) for p in passes) else max(passes)
    p_fail = min(1.0, len(judgements) * min(fails)) if fails else math.nan
    return p_pass, p_fail


def holm_verdicts(p_pass, p_fail, alpha: float = ALPHA) -> list[str]:
    """The Holm-adjusted verdict of each claim of one family (the run's judged claims)."""
    hp, hf = holm(p_pass), holm(p_fail)
    return ["PASS" if a <= alpha else "FAIL" if b <= alpha else "INCONCLUSIVE"
            for a, b in zip(hp, hf)]


def _nct_probs(j: Judgement) -> tuple[float, float] | None:
    """P(PASS), P(FAIL) of a fresh set of j.n seeds for a directional check with sd > 0; None
    where scipy cannot evaluate a tail."""
    from scipy.stats import nct, t  # here: scipy.stats costs ~0.8 s per import

    df = j.n - 1
    q = float(t.ppf(1 - ALPHA, df))
    nc = (j.estimate - j.limits[0]) / (j.sd / math.sqrt(j.n))
    # scipy 1.17's nct.cdf returns nan for some far tails (df 2, nc 12.6: a probability near
    # 1e-20); the complement of the other side's tail is then exact enough
    lower_tail = float(nct.cdf(-q, df, nc))
    if not math.isfinite(lower_tail):
        lower_tail = 1.0 - float(nct.sf(-q, df, nc))
    upper_tail = float(nct.sf(q, df, nc))
    if not math.isfinite(upper_tail):
        upper_tail = 1.0 - float(nct.cdf(q, df, nc))
    if not (math.isfinite(lower_tail) and math.isfinite(upper_tail)):
        return None
    return (lower_tail, upper_tail) if j.rule == "≤" else (upper_tail, lower_tail)


def _simulated(j: Judgement, rng: np.random.Generator, draws: int) -> np.ndarray:
    """Per draw, the check's verdict on a fresh set of j.n normal values (0 PASS, 1 FAIL,
    2 INCONCLUSIVE), by the rule of aebench.verdicts (its one-sided 95% bounds)."""
    from scipy.stats import t

    if j.n < MIN_SEEDS:
        return np.full(draws, 2)
    if j.sd == 0:
        return np.full(draws, VERDICTS.index(j.verdict))
    x = rng.normal(j.estimate, j.sd, size=(draws, j.n))
    half = float(t.ppf(1 - ALPHA, j.n - 1)) * x.std(axis=1, ddof=1) / math.sqrt(j.n)
    mean = x.mean(axis=1)
    lo, hi = mean - half, mean + half
    if j.rule == "band":
        a, b = j.limits
        passed, failed = (a <= lo) & (hi <= b), (hi < a) | (lo > b)
    elif j.rule == "≤":
        passed, failed = hi <= j.limits[0], lo > j.limits[0]
    elif j.rule == "≥":
        passed, failed = lo >= j.limits[0], hi < j.limits[0]
    else:  # ">"
        passed, failed = lo > j.limits[0], hi <= j.limits[0]
    return np.where(passed, 0, np.where(failed, 1, 2))


def verdict_probs(judgements: list[Judgement], draws: int = DRAWS,
                  seed: int = MC_SEED) -> tuple[float, float]:
    """Plug-in P(PASS), P(FAIL) of the claim on a fresh set of as many seeds."""
    if len(judgements) == 1 and judgements[0].rule in ("≤", "≥", ">") and \
            judgements[0].n >= MIN_SEEDS and judgements[0].sd > 0:
        exact = _nct_probs(judgements[0])
        if exact is not None:
            return exact
    rng = np.random.default_rng(seed)
    v = np.stack([_simulated(j, rng, draws) for j in judgements])
    return float((v == 0).all(axis=0).mean()), float((v == 1).any(axis=0).mean())


def replication(judgements: list[Judgement], verdict: str, draws: int = DRAWS,
                seed: int = MC_SEED) -> float:
    """Plug-in probability that a fresh set of seeds gives ``verdict`` again (module
    docstring); nan for a claim whose checks all have fewer than 3 seeds."""
    if verdict not in VERDICTS:
        raise ValueError(f"replication of verdict {verdict!r}: expected one of {VERDICTS}")
    if all(j.n < MIN_SEEDS for j in judgements):
        return math.nan
    p_pass, p_fail = verdict_probs(judgements, draws, seed)
    # max: the two tails of nct can add up to 1 plus a rounding residue
    inconclusive = max(0.0, 1.0 - p_pass - p_fail)
    return {"PASS": p_pass, "FAIL": p_fail, "INCONCLUSIVE": inconclusive}[verdict]


# --- how the tables show them ---------------------------------------------------------------

def _number(x) -> float:
    """A cell as read back from claims.csv (float, blank, or its text) as a float; nan if blank."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def p_text(x) -> str:
    """A p-value as a table shows it: 0.003, <0.001, blank where there is none."""
    p = _number(x)
    return "" if math.isnan(p) else "<0.001" if p < 0.001 else f"{p:.3f}"


def replication_text(x) -> str:
    """A replication as a table shows it: 0.62, marked fragile below FRAGILE; blank if none."""
    r = _number(x)
    return "" if math.isnan(r) else f"{r:.2f}" + (" (fragile)" if r < FRAGILE else "")


LEGEND = ("p: the one-sided p-value of the verdict's direction (of \"the claim is false\" for "
          "PASS and INCONCLUSIVE, of \"it holds\" for FAIL; a claim of several checks: the "
          "largest check's p to pass, k times the smallest to fail). Holm: the verdict after "
          "Holm's correction over all the claims this run judged (family-wise 5%). replication: "
          "the plug-in chance that as many fresh seeds give the same verdict (observed mean and "
          f"spread taken as true); \"fragile\" below {FRAGILE}.")
