"""Hand-computed cases for every verdict path of aebench.verdicts.

Expected bounds are written out with the Student-t quantiles as constants, not computed with
the module's helpers, so a wrong formula (two-sided for one-sided, s/n for s/√n, ...) fails.
"""
import math
import random

import pytest

from aebench.verdicts import (Judgement, at_least, at_most, describe, judge, paired_above,
                              paired_below, within_rel)

T95_1, T95_2, T95_4 = 6.313752, 2.919986, 2.131847  # t_{0.95,1}, t_{0.95,2}, t_{0.95,4}
SQ3, SQ5 = math.sqrt(3), math.sqrt(5)


def approx(x):
    return pytest.approx(x, abs=1e-5)


def seeds(*xs):
    return dict(enumerate(xs))


def check(j: Judgement, verdict, n, est, lo90, hi90, bound):
    """lo90, hi90: the 90% interval shown with the verdict (its ends the one-sided 95% bounds)."""
    assert (j.verdict, j.n) == (verdict, n), j
    assert j.estimate == approx(est)
    assert (j.ci_low, j.ci_high) == (approx(lo90), approx(hi90))
    assert j.bound == approx(bound)


# --- at_most / at_least ---------------------------------------------------------------------

def test_at_most_pass():
    # mean 3.2, s 0.2, se 0.2/√3; upper = 3.2 + 2.919986·0.115470 = 3.537171 ≤ 4
    se = 0.2 / SQ3
    j = at_most(seeds(3.0, 3.2, 3.4), 4.0)
    check(j, "PASS", 3, 3.2, 3.2 - T95_2 * se, 3.2 + T95_2 * se, 3.2 + T95_2 * se)
    assert j.bound == approx(3.537171)
    assert j.reason == "upper 95% bound 3.537 ≤ 4"


def test_at_most_fail():
    # mean 4.5, s 0.1; lower = 4.5 − 2.919986·0.057735 = 4.33142 > 4
    se = 0.1 / SQ3
    j = at_most(seeds(4.4, 4.5, 4.6), 4.0)
    check(j, "FAIL", 3, 4.5, 4.5 - T95_2 * se, 4.5 + T95_2 * se, 4.5 - T95_2 * se)
    assert j.reason.startswith("lower 95% bound 4.331 > 4")


def test_at_most_straddling_is_inconclusive():
    # mean 4.0, s 0.5; bounds 4 ± 0.842928 = [3.15707, 4.84293] span 4
    se = 0.5 / SQ3
    j = at_most(seeds(3.5, 4.0, 4.5), 4.0)
    check(j, "INCONCLUSIVE", 3, 4.0, 4 - T95_2 * se, 4 + T95_2 * se, 4 + T95_2 * se)
    assert j.reason == "90% interval [3.157, 4.843] spans 4"


def test_at_most_mean_below_but_bound_above_is_inconclusive():
    # mean 3.9 ≤ 4, but upper = 3.9 + 2.919986·0.5/√3 = 4.74293: the mean alone is not enough
    j = at_most(seeds(3.4, 3.9, 4.4), 4.0)
    assert j.verdict == "INCONCLUSIVE"
    assert j.bound == approx(3.9 + T95_2 * 0.5 / SQ3)


@pytest.mark.parametrize("value, verdict, bound", [
    (0.8, "PASS", 1.0 - T95_2 * 0.1 / SQ3),          # lower 0.83142 ≥ 0.8
    (1.2, "FAIL", 1.0 + T95_2 * 0.1 / SQ3),          # upper 1.16858 < 1.2
    (1.0, "INCONCLUSIVE", 1.0 - T95_2 * 0.1 / SQ3),  # [0.83142, 1.16858] spans 1.0
])
def test_at_least(value, verdict, bound):
    j = at_least(seeds(0.9, 1.0, 1.1), value)
    se = 0.1 / SQ3
    check(j, verdict, 3, 1.0, 1.0 - T95_2 * se, 1.0 + T95_2 * se, bound)


# --- within_rel (TOST) ----------------------------------------------------------------------

BAND = (13.87 - 0.03 * 13.87, 13.87 + 0.03 * 13.87)  # [13.4539, 14.2861]


def test_within_rel_pass():
    # mean 13.9, s 0.1: [13.9 ∓ 0.168586] = [13.73141, 14.06859] inside the band
    se = 0.1 / SQ3
    j = within_rel(seeds(13.8, 13.9, 14.0), 13.87, 0.03)
    check(j, "PASS", 3, 13.9, 13.9 - T95_2 * se, 13.9 + T95_2 * se, 13.9 + T95_2 * se)
    assert j.reason == "90% interval [13.73, 14.07] inside [13.45, 14.29]"


@pytest.mark.parametrize("xs, mean, bound", [
    ((15.0, 15.1, 15.2), 15.1, 15.1 - T95_2 * 0.1 / SQ3),  # lower 14.93141 > 14.2861
    ((12.0, 12.1, 12.2), 12.1, 12.1 + T95_2 * 0.1 / SQ3),  # upper 12.26859 < 13.4539
])
def test_within_rel_fail(xs, mean, bound):
    j = within_rel(seeds(*xs), 13.87, 0.03)
    assert (j.verdict, j.estimate, j.bound) == ("FAIL", approx(mean), approx(bound))
    assert "outside" in j.reason


def test_within_rel_straddling_edge_is_inconclusive():
    # mean 14.3 is just outside the band (14.2861), but s 0.4: [13.62566, 14.97434] overlaps it
    j = within_rel(seeds(13.9, 14.3, 14.7), 13.87, 0.03)
    assert j.verdict == "INCONCLUSIVE"
    assert j.bound == approx(14.3 + T95_2 * 0.4 / SQ3)
    assert 14.3 - T95_2 * 0.4 / SQ3 < BAND[1] < 14.3 + T95_2 * 0.4 / SQ3


def test_within_rel_mean_inside_but_interval_wide_is_inconclusive():
    # mean 13.87 == anchor, s 0.5: [13.02707, 14.71293] is wider than the band: no evidence of agreement
    j = within_rel(seeds(13.37, 13.87, 14.37), 13.87, 0.03)
    assert j.verdict == "INCONCLUSIVE"


def test_within_rel_negative_anchor_uses_abs():
    # anchor −10, tol 0.1 → band [−11, −9]; mean −10, s 0.1 → [−10.16859, −9.83141] inside
    assert within_rel(seeds(-10.1, -10.0, -9.9), -10.0, 0.1).verdict == "PASS"


# --- paired comparisons ---------------------------------------------------------------------

# b − a = [1.0, 1.2, 1.4]: mean 1.2, s 0.2, one-sided bounds 1.2 ∓ 0.337171 = [0.862829, 1.537171]
A = {0: 3.0, 1: 5.0, 2: 2.0}
B = {0: 4.0, 1: 6.2, 2: 3.4}
LO, HI = 1.2 - T95_2 * 0.2 / SQ3, 1.2 + T95_2 * 0.2 / SQ3


@pytest.mark.parametrize("margin, verdict, bound", [
    (0.0, "PASS", LO),          # lower 0.86283 > 0
    (1.0, "INCONCLUSIVE", LO),  # [0.86283, 1.53717] spans 1.0
    (2.0, "FAIL", HI),          # upper 1.53717 ≤ 2
])
def test_paired_below(margin, verdict, bound):
    check(paired_below(A, B, margin), verdict, 3, 1.2, LO, HI, bound)


@pytest.mark.parametrize("margin, verdict, bound", [
    (0.0, "PASS", LO), (1.0, "INCONCLUSIVE", LO), (2.0, "FAIL", HI),
])
def test_paired_above(margin, verdict, bound):
    # a − b with the roles swapped gives the same differences
    check(paired_above(B, A, margin), verdict, 3, 1.2, LO, HI, bound)


def test_paired_wrong_direction_fails():
    # B is above A, so "B below A" fails: d = A − B = [−1, −1.2, −1.4], upper −0.86283 ≤ 0
    j = paired_below(B, A)
    check(j, "FAIL", 3, -1.2, -HI, -LO, -LO)
    assert j.reason == "upper 95% bound −0.8628 ≤ margin 0"
    assert paired_above(A, B).verdict == "FAIL"


def test_paired_reason_straddling():
    assert paired_below(A, B, 1.0).reason == "90% interval [0.8628, 1.537] spans margin 1"


def test_pairing_is_by_seed_not_order():
    # the same values as A, B in another key order, plus seed 7 only in a and 9 only in b
    a = {2: 2.0, 7: 100.0, 0: 3.0, 1: 5.0}
    b = {9: -50.0, 0: 4.0, 1: 6.2, 2: 3.4}
    j = paired_below(a, b)
    check(j, "PASS", 3, 1.2, LO, HI, LO)
    assert j.reason.endswith("; 2 unmatched seeds left out")


def test_pairing_matters():
    # Between-seed spread (s ≈ 1.58) dwarfs the gap (0.3), but every seed's difference is ≈ 0.3.
    a = seeds(1.0, 2.0, 3.0, 4.0, 5.0)
    b = seeds(1.30, 2.25, 3.35, 4.30, 5.30)
    # d = [0.30, 0.25, 0.35, 0.30, 0.30]: mean 0.3, s² = 0.005/4, lower = 0.3 − 2.131847·s/√5 = 0.266293
    s = math.sqrt(0.005 / 4)
    j = paired_below(a, b)
    check(j, "PASS", 5, 0.3, 0.3 - T95_4 * s / SQ5, 0.3 + T95_4 * s / SQ5, 0.3 - T95_4 * s / SQ5)
    assert j.bound == approx(0.266293)
    # Unpaired (Welch) by hand: s_a² = 2.5, s_b² = 10.105/4 = 2.52625, se = √((2.5 + 2.52625)/5) ≈ 1.0026;
    # even with the generous t_{0.95,4} the lower bound 0.3 − 2.13·1.0 < 0 would not pass.
    se_unpaired = math.sqrt((2.5 + 2.52625) / 5)
    assert 0.3 - T95_4 * se_unpaired < 0


# --- too few seeds, ties, NaN ---------------------------------------------------------------

def test_n1_is_inconclusive():
    j = at_most({0: 3.0}, 4.0)
    assert (j.verdict, j.reason, j.n, j.estimate) == ("INCONCLUSIVE", "n=1 < 3 seeds", 1, 3.0)
    assert math.isnan(j.ci_low) and math.isnan(j.ci_high) and math.isnan(j.bound)
    assert describe(j) == "3 (n=1)"


def test_n2_is_inconclusive_but_reports_interval():
    # mean 3.1, s = 0.141421, se 0.1; 90% interval 3.1 ± 0.6313752. The one-sided upper bound
    # 3.1 + 6.313752·0.1 = 3.73 would be ≤ 4, but 2 seeds never give a verdict.
    j = at_most({0: 3.0, 1: 3.2}, 4.0)
    assert (j.verdict, j.reason, j.n) == ("INCONCLUSIVE", "n=2 < 3 seeds", 2)
    assert (j.estimate, j.ci_low, j.ci_high) == (approx(3.1), approx(3.1 - T95_1 * 0.1), approx(3.1 + T95_1 * 0.1))
    assert math.isnan(j.bound)
    assert 3.1 + T95_1 * 0.1 <= 4.0


def test_n0_is_inconclusive():
    j = paired_below({0: 1.0}, {1: 2.0})
    assert (j.verdict, j.n) == ("INCONCLUSIVE", 0)
    assert j.reason == "n=0 < 3 seeds; 2 unmatched seeds left out"
    assert math.isnan(j.estimate)


def test_paired_n2_after_matching():
    j = paired_above({0: 2.0, 1: 3.0, 2: 4.0}, {0: 1.0, 1: 1.0})
    assert (j.verdict, j.reason, j.n) == ("INCONCLUSIVE", "n=2 < 3 seeds; 1 unmatched seed left out", 2)


def test_ties_paired_zero_difference_fails():
    # d all exactly 0, margin 0: "a below b" needs d > 0; its opposite d ≤ 0 holds with certainty
    a = seeds(3.0, 5.0, 2.0)
    for fn in (paired_below, paired_above):
        j = fn(a, dict(a))
        check(j, "FAIL", 3, 0.0, 0.0, 0.0, 0.0)
        assert j.reason == "upper 95% bound 0 ≤ margin 0"


@pytest.mark.parametrize("fn, value, verdict", [
    (at_most, 4.0, "PASS"), (at_least, 4.0, "PASS"),     # equality satisfies ≤ and ≥
    (at_most, 3.9, "FAIL"), (at_least, 4.1, "FAIL"),
])
def test_ties_zero_spread(fn, value, verdict):
    j = fn(seeds(4.0, 4.0, 4.0), value)
    check(j, verdict, 3, 4.0, 4.0, 4.0, 4.0)


def test_ties_are_exact_for_inexact_floats():
    # three 0.1s: naive float arithmetic leaves a ~1e-17 residue in mean and spread
    j = at_most(seeds(0.1, 0.1, 0.1), 0.1)
    assert (j.verdict, j.estimate, j.bound) == ("PASS", 0.1, 0.1)
    assert within_rel(seeds(2.0, 2.0, 2.0), 2.0, 0.0).verdict == "PASS"


def test_nan_values_are_dropped():
    j = at_most({0: 3.0, 1: float("nan"), 2: 3.2, 3: 3.4}, 4.0)
    check(j, "PASS", 3, 3.2, 3.2 - T95_2 * 0.2 / SQ3, 3.2 + T95_2 * 0.2 / SQ3, 3.2 + T95_2 * 0.2 / SQ3)
    assert j.reason == "upper 95% bound 3.537 ≤ 4; 1 NaN seed dropped"
    # in a paired check the NaN seed leaves the pair too
    j = paired_below({**A, 5: float("nan")}, {**B, 5: 1.0})
    check(j, "PASS", 3, 1.2, LO, HI, LO)
    assert "1 NaN seed dropped" in j.reason


# --- dispatcher and display -----------------------------------------------------------------

def test_judge_dispatches():
    assert judge({"type": "at_most", "value": 4.0}, seeds(3.0, 3.2, 3.4)).verdict == "PASS"
    assert judge({"type": "at_least", "value": 4.0}, seeds(3.0, 3.2, 3.4)).verdict == "FAIL"
    assert judge({"type": "within_rel", "tol": 0.03}, seeds(13.8, 13.9, 14.0), None, 13.87).verdict == "PASS"
    below = judge({"type": "below_model", "model": "pca30", "margin": 0.0}, A, B)
    assert below == paired_below(A, B, 0.0)
    # margin defaults to 0
    assert judge({"type": "above_model", "model": "ae_plain"}, B, A) == paired_above(B, A, 0.0)
    assert judge({"type": "above_model", "model": "x", "margin": 2.0}, B, A).verdict == "FAIL"


def test_judge_unknown_type_raises():
    with pytest.raises(ValueError, match=r"'between'.*at_most.*above_model"):
        judge({"type": "between"}, seeds(1.0, 2.0, 3.0))


def test_judge_missing_inputs_raise():
    with pytest.raises(ValueError, match="anchor"):
        judge({"type": "within_rel", "tol": 0.03}, seeds(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="pca30"):
        judge({"type": "below_model", "model": "pca30"}, seeds(1.0, 2.0, 3.0))


def test_import_is_light():
    import subprocess
    import sys
    import aebench.verdicts as mod
    # load the module file alone, so the test does not depend on what aebench/__init__ imports
    code = ("import importlib.util as u, sys; s = u.spec_from_file_location('v', sys.argv[1]); "
            "m = sys.modules['v'] = u.module_from_spec(s); s.loader.exec_module(m); "
            "print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, mod.__file__], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_describe():
    j = paired_below(B, A)
    assert describe(j) == "−1.2 [−1.537, −0.8628] (n=3)"
    assert describe(j, digits=2) == "−1.2 [−1.5, −0.86] (n=3)"


@pytest.mark.parametrize("seed", range(200))
def test_the_interval_shown_says_the_verdict(seed):
    # a referee reads the verdict off the interval beside it: PASS only when the whole
    # interval lies on the claim's side of the margin, FAIL only when it lies on the other
    rng = random.Random(seed)
    n = rng.choice([3, 4, 5])
    a = {s: rng.gauss(0, 1) for s in range(n)}
    b = {s: a[s] + rng.gauss(0.5, 1) for s in range(n)}
    margin = rng.uniform(-0.5, 1.0)
    j = paired_below(a, b, margin)
    side = {"PASS": j.ci_low > margin, "FAIL": j.ci_high <= margin,
            "INCONCLUSIVE": j.ci_low <= margin < j.ci_high}
    assert side[j.verdict], j
