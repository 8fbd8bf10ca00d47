"""PASS / FAIL / INCONCLUSIVE verdicts for the claims, from per-seed values.

A claim is judged on the seeds' mean, but a mean alone does not say whether the claim holds
or the seeds were lucky. Each check therefore asks a one-sided question at 95% confidence:

* PASS: the claim holds with 95% confidence, i.e. the one-sided 95% Student-t bound on the
  mean (mean ± t_{0.95,n-1}·s/√n) lies on the claim's side of the threshold.
* FAIL: the opposite holds with 95% confidence (the other one-sided bound lies beyond it).
* INCONCLUSIVE otherwise, with the reason (the 90% interval, i.e. both one-sided bounds,
  spans the threshold; or fewer than 3 seeds).

The interval shown with a verdict is that 90% interval, so PASS reads off it: it lies wholly on
the claim's side of the threshold (a two-sided 95% interval could cross the threshold beside
a PASS, and a reader would rightly ask why).

One-sided bounds because each claim is directional ("≤ 4.0", "a below b"): a two-sided
interval would spend half its error budget on a direction nobody asks about. A boundary tie
counts for the side that includes equality ("mean ≤ value" holds at mean == value), so with
zero spread the bounds equal the mean and the rule decides exactly, without dividing by s.

within_rel ("|mean − anchor| ≤ tol·|anchor|") is an equivalence claim, so it is judged by
TOST (two one-sided tests): PASS needs both one-sided 95% bounds inside the band; a mean
merely close to the anchor with a wide interval is not evidence of agreement. FAIL needs the
whole 90% interval outside the band (non-equivalence at 95%).

Comparative claims (below_model / above_model) are judged on paired per-seed differences:
the same seed gives both models the same data subset and random stream, so between-seed
spread cancels in the difference. Only seeds present in both dicts are used.

With n < 3 seeds there is no PASS or FAIL: with 1 seed there is no spread at all, with 2 the
spread estimate has one degree of freedom (t_{0.95,1} = 6.31) and is itself too unreliable to
trust the bound. The estimate (and for n = 2 the interval) is still reported.

Deviations from the brief: non-finite values (NaN, ±inf) are dropped with their seed, since
a mean with inf has no usable spread; dropped and unmatched seeds are counted in the reason.
`bound` is the bound that decided the verdict (for INCONCLUSIVE, the one the claim needs to
pass; for within_rel, the bound farther from the anchor, or the nearer one on FAIL); nan for
n < 3. Mean and standard deviation use the `statistics` module, which is exact for ties
(three 0.1s have mean 0.1 and spread 0, not a rounding residue).

p-values (issue 38). Each judgement also carries the one-sided p of the two tests it read:
``p_pass``, of the null "the claim is false" (PASS ⇔ p_pass ≤ 0.05), and ``p_fail``, of the
null "the claim is true" (FAIL ⇔ p_fail ≤ 0.05), from Student's t with n − 1 degrees of freedom
on t = (mean − threshold)/(s/√n). For within_rel, p_pass is the larger of TOST's two one-sided
p's and p_fail the smaller of the two p's of "outside the band" (the FAIL rule above: either
side suffices). With zero spread p is 0 or 1 by the boundary rule; with n < 3 it is nan. The
verdict still comes from the bounds, bit for bit as before; t.cdf and t.ppf are not exact
inverses, so on a tie at the boundary (t = ±t_{0.95}) a p can land a few ulps on the wrong
side of 0.05: it is then set to the boundary side the verdict took (0.05, or the next float
above), so the equivalences hold exactly. ``sd``, ``rule`` and ``limits`` record what was
judged (the rule "≤", "≥", ">" or "band" and its threshold(s)), so
:mod:`aebench.claim_stats` can ask how likely fresh seeds are to give the same verdict.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

MIN_SEEDS = 3
ALPHA = 0.05  # each one-sided test's level: the 95% of the bounds
CHECK_TYPES = ("at_most", "at_least", "within_rel", "below_model", "above_model")
_NAN = float("nan")


@dataclass(frozen=True)
class Judgement:
    verdict: str        # "PASS" | "FAIL" | "INCONCLUSIVE"
    reason: str         # one short phrase
    n: int              # seeds used
    estimate: float     # mean of the judged quantity (the paired difference for paired checks)
    ci_low: float       # 90% Student-t interval of the estimate, i.e. the two one-sided 95%
    ci_high: float      # bounds the verdict reads, so the interval shows it (nan if n < 2)
    bound: float        # the one-sided 95% bound the verdict used (nan where not computed)
    p_pass: float = _NAN  # one-sided p of "claim false": PASS ⇔ p_pass ≤ ALPHA (nan if n < 3)
    p_fail: float = _NAN  # one-sided p of "claim true": FAIL ⇔ p_fail ≤ ALPHA (nan if n < 3)
    sd: float = _NAN      # sample standard deviation of the judged values (nan if n < 2)
    rule: str = ""        # "≤", "≥", ">" (the claim's side of limits[0]) or "band" (limits[0..1])
    limits: tuple = ()    # the threshold, or the band's (low, high) for within_rel


def _f(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}".replace("-", "−")


def _clean(values: dict) -> tuple[dict, int]:
    kept = {k: float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}
    return kept, len(values) - len(kept)


def t_half_width(sd: float, n: int, confidence: float) -> float:
    """Half-width t·sd/√n of the two-sided Student-t interval at ``confidence`` for the mean of
    ``n`` values with sample standard deviation ``sd``; t is scipy's quantile at
    (1 + confidence)/2 with n − 1 degrees of freedom, so the ends are also the one-sided
    (1 + confidence)/2 bounds. The one Student-t formula of the package (the verdicts here,
    aebench.metrics.mean_ci for the tables): each caller brings its own mean and sd (the exact
    `statistics` module's here, numpy's in mean_ci), which differ in the last bits on about a
    third of inputs, so sharing them would change published numbers. Not
    scipy.stats.t.interval: it multiplies in another order and differs in the last bit."""
    from scipy.stats import t  # here, not at the top: scipy.stats costs ~0.8 s per job

    return float(t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)


def _stats(xs: list[float]):
    """n, mean, the one-sided 95% (lower, upper) bounds, i.e. the 90% interval, and the sample
    standard deviation (nan where n is too small)."""
    n = len(xs)
    if n == 0:
        return 0, _NAN, _NAN, _NAN, _NAN
    mean = statistics.mean(xs)
    if n < 2:
        return n, mean, _NAN, _NAN, _NAN
    sd = statistics.stdev(xs)
    half = t_half_width(sd, n, 0.90)  # ends: the one-sided 95% bounds
    return n, mean, mean - half, mean + half, sd


def _t_p(mean: float, sd: float, n: int, thr: float, below: bool) -> float:
    """One-sided Student-t p of the null "true mean ≥ thr" (below: the data say mean < thr) or
    of "true mean ≤ thr" (not below); sd > 0."""
    from scipy.stats import t  # here, not at the top: see t_half_width

    stat = (mean - thr) / (sd / math.sqrt(n))
    return float(t.cdf(stat, n - 1) if below else t.sf(stat, n - 1))


def _agree(p: float, verdict_holds: bool) -> float:
    """``p`` moved to the side of ALPHA the verdict took, where a boundary tie put it a few ulps
    on the other (see the module docstring); any other p unchanged."""
    if verdict_holds:
        return min(p, ALPHA)
    return p if p > ALPHA else math.nextafter(ALPHA, 1.0)


def _with_p(j: Judgement, p_pass: float, p_fail: float, sd: float, rule: str, limits) -> Judgement:
    from dataclasses import replace

    if j.n >= MIN_SEEDS:
        p_pass, p_fail = _agree(p_pass, j.verdict == "PASS"), _agree(p_fail, j.verdict == "FAIL")
    return replace(j, p_pass=p_pass, p_fail=p_fail, sd=sd, rule=rule, limits=tuple(limits))


def _notes(nan: int, unmatched: int = 0) -> str:
    parts = [f"{nan} NaN seed{'s' * (nan != 1)} dropped"] if nan else []
    parts += [f"{unmatched} unmatched seed{'s' * (unmatched != 1)} left out"] if unmatched else []
    return "".join("; " + p for p in parts)


def _directional(xs: list[float], thr: float, upper_claim: bool, strict: bool, what: str,
                 notes: str) -> Judgement:
    """Claim "mean ≤ thr" (upper_claim) or "mean ≥ thr"/"mean > thr" (strict), with its p's."""
    n, mean, lo, hi, sd = _stats(xs)
    j = _directional_verdict(n, mean, lo, hi, thr, upper_claim, strict, what, notes)
    rule = "≤" if upper_claim else ">" if strict else "≥"
    if n < MIN_SEEDS:
        p_pass = p_fail = _NAN
    elif sd == 0:  # the bounds are the mean: the boundary rule decided exactly
        p_pass, p_fail = float(j.verdict != "PASS"), float(j.verdict != "FAIL")
    else:  # the claim's side of thr is below it for "≤", above it otherwise
        p_pass = _t_p(mean, sd, n, thr, below=upper_claim)
        p_fail = _t_p(mean, sd, n, thr, below=not upper_claim)
    return _with_p(j, p_pass, p_fail, sd, rule, (thr,))


def _directional_verdict(n, mean, lo, hi, thr, upper_claim, strict, what, notes) -> Judgement:
    if n < MIN_SEEDS:
        return Judgement("INCONCLUSIVE", f"n={n} < {MIN_SEEDS} seeds" + notes, n, mean, lo, hi, _NAN)
    t = _f(thr)
    if upper_claim:
        if hi <= thr:
            return Judgement("PASS", f"upper 95% bound {_f(hi)} ≤ {what}{t}" + notes, n, mean, lo, hi, hi)
        if lo > thr:
            return Judgement("FAIL", f"lower 95% bound {_f(lo)} > {what}{t}" + notes, n, mean, lo, hi, lo)
        need = hi
    else:
        if lo > thr or (not strict and lo == thr):
            op = ">" if strict else "≥"
            return Judgement("PASS", f"lower 95% bound {_f(lo)} {op} {what}{t}" + notes, n, mean, lo, hi, lo)
        if hi < thr or (strict and hi == thr):
            op = "≤" if strict else "<"
            return Judgement("FAIL", f"upper 95% bound {_f(hi)} {op} {what}{t}" + notes, n, mean, lo, hi, hi)
        need = lo
    return Judgement("INCONCLUSIVE", f"90% interval [{_f(lo)}, {_f(hi)}] spans {what}{t}" + notes,
                     n, mean, lo, hi, need)


def at_most(values: dict, value: float) -> Judgement:
    """Claim: mean ≤ value."""
    xs, nan = _clean(values)
    return _directional(list(xs.values()), value, True, False, "", _notes(nan))


def at_least(values: dict, value: float) -> Judgement:
    """Claim: mean ≥ value."""
    xs, nan = _clean(values)
    return _directional(list(xs.values()), value, False, False, "", _notes(nan))


def within_rel(values: dict, anchor: float, tol: float) -> Judgement:
    """Claim: |mean − anchor| ≤ tol·|anchor|, judged by TOST at 95%."""
    xs, nan = _clean(values)
    n, mean, lo, hi, sd = _stats(list(xs.values()))
    a, b = anchor - tol * abs(anchor), anchor + tol * abs(anchor)
    j = _tost_verdict(n, mean, lo, hi, anchor, a, b, _notes(nan))
    if n < MIN_SEEDS:
        p_pass = p_fail = _NAN
    elif sd == 0:
        p_pass, p_fail = float(j.verdict != "PASS"), float(j.verdict != "FAIL")
    else:  # TOST: both "mean > a" and "mean < b" must be shown; FAIL: either "mean < a" or "> b"
        p_pass = max(_t_p(mean, sd, n, a, below=False), _t_p(mean, sd, n, b, below=True))
        p_fail = min(_t_p(mean, sd, n, a, below=True), _t_p(mean, sd, n, b, below=False))
    return _with_p(j, p_pass, p_fail, sd, "band", (a, b))


def _tost_verdict(n, mean, lo, hi, anchor, a, b, notes) -> Judgement:
    if n < MIN_SEEDS:
        return Judgement("INCONCLUSIVE", f"n={n} < {MIN_SEEDS} seeds" + notes, n, mean, lo, hi, _NAN)
    band, iv = f"[{_f(a)}, {_f(b)}]", f"90% interval [{_f(lo)}, {_f(hi)}]"
    far = hi if hi - anchor >= anchor - lo else lo
    if a <= lo and hi <= b:
        return Judgement("PASS", f"{iv} inside {band}" + notes, n, mean, lo, hi, far)
    if hi < a or lo > b:
        return Judgement("FAIL", f"{iv} outside {band}" + notes, n, mean, lo, hi, hi if hi < a else lo)
    return Judgement("INCONCLUSIVE", f"{iv} not inside {band}" + notes, n, mean, lo, hi, far)


def _paired(a: dict, b: dict, margin: float, sign: int) -> Judgement:
    ca, na = _clean(a)
    cb, nb = _clean(b)
    common = sorted(ca.keys() & cb.keys(), key=str)
    d = [sign * (cb[s] - ca[s]) for s in common]
    notes = _notes(na + nb, len(ca.keys() ^ cb.keys()))
    return _directional(d, margin, False, True, "margin ", notes)


def paired_below(a: dict, b: dict, margin: float = 0.0) -> Judgement:
    """Claim: a is lower than b by more than margin; judged on d = b − a per seed."""
    return _paired(a, b, margin, +1)


def paired_above(a: dict, b: dict, margin: float = 0.0) -> Judgement:
    """Claim: a is higher than b by more than margin; judged on d = a − b per seed."""
    return _paired(a, b, margin, -1)


def judge(check: dict, values: dict, other: dict | None = None, anchor: float | None = None) -> Judgement:
    """Judge one claim's check (as in workflow/claims.yaml) on the claim model's per-seed
    values; `other` holds the compared model's per-seed values, `anchor` the published number."""
    kind = check.get("type")
    if kind not in CHECK_TYPES:
        raise ValueError(f"unknown claim check type {kind!r}; known: {', '.join(CHECK_TYPES)}")
    if kind == "at_most":
        return at_most(values, check["value"])
    if kind == "at_least":
        return at_least(values, check["value"])
    if kind == "within_rel":
        if anchor is None:
            raise ValueError("within_rel check needs the claim's anchor")
        return within_rel(values, anchor, check["tol"])
    if other is None:
        raise ValueError(f"{kind} check needs the per-seed values of model {check.get('model')!r}")
    fn = paired_below if kind == "below_model" else paired_above
    return fn(values, other, check.get("margin", 0.0))


def describe(j: Judgement, digits: int = 4) -> str:
    """A table cell: 'estimate [ci_low, ci_high] (n=…)', the interval left out when n < 2."""
    iv = "" if math.isnan(j.ci_low) else f" [{_f(j.ci_low, digits)}, {_f(j.ci_high, digits)}]"
    return f"{_f(j.estimate, digits)}{iv} (n={j.n})"
