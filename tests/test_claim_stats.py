"""Hand-computed cases for the p-values of aebench.verdicts and the run-level statistics of
aebench.claim_stats (issue 38): Holm, the claim's p, replication, and the claims table's new
columns.

Student's t with 2 degrees of freedom has a closed-form CDF, F(t) = 1/2 + t/(2·√(2 + t²)),
so the 3-seed p's below are computed by hand, not with the module's scipy calls.
"""
import math
import random

import numpy as np
import pandas as pd
import pytest

from aebench import claim_stats, claims
from aebench.claim_stats import claim_p, holm, holm_verdicts, replication
from aebench.verdicts import (ALPHA, Judgement, at_least, at_most, paired_above, paired_below,
                              within_rel)


def seeds(*xs):
    return dict(enumerate(xs))


def t2_cdf(t):
    """Student's t CDF, 2 degrees of freedom, in closed form."""
    return 0.5 + t / (2 * math.sqrt(2 + t * t))


# --- p-values of one check ------------------------------------------------------------------

def test_p_of_a_three_seed_directional_check_by_hand():
    # 3.0, 3.2, 3.4: mean 3.2, s 0.2, s/√3 = 0.115470; claim mean ≤ 3.5:
    # t = (3.2 − 3.5)/0.115470 = −2.598076 (t² = 0.09/(0.04/3) = 6.75 exactly)
    # p_pass = F(t) = 0.5 − 2.598076/(2·√8.75) = 0.5 − 2.598076/5.916080 = 0.060845
    j = at_most(seeds(3.0, 3.2, 3.4), 3.5)
    assert j.verdict == "INCONCLUSIVE"
    assert j.p_pass == pytest.approx(0.060845, abs=1e-6)
    assert j.p_pass == pytest.approx(t2_cdf(-math.sqrt(6.75)), abs=1e-12)
    assert j.p_fail == pytest.approx(1 - 0.060845, abs=1e-6)  # the other tail
    assert (j.sd, j.rule, j.limits) == (pytest.approx(0.2), "≤", (3.5,))
    # mean ≤ 3.6: t = −0.4/0.115470 = −3.464102 (t² = 12), p = 0.5 − 3.464102/(2·√14) = 0.037090
    j = at_most(seeds(3.0, 3.2, 3.4), 3.6)
    assert (j.verdict, j.p_pass) == ("PASS", pytest.approx(0.037090, abs=1e-6))
    # mean ≥ 3.6 is the mirror image: its p_fail is the p_pass above
    j = at_least(seeds(3.0, 3.2, 3.4), 3.6)
    assert (j.verdict, j.p_fail, j.rule) == ("FAIL", pytest.approx(0.037090, abs=1e-6), "≥")


def test_p_of_tost_is_the_larger_one_sided_p():
    # 13.8, 13.9, 14.0 against 13.87 ± 3%: band [13.4539, 14.2861], mean 13.9, s/√3 = 0.057735
    # t_a = (13.9 − 13.4539)/0.057735 = 7.726679, t_b = (13.9 − 14.2861)/0.057735 = −6.687448
    # p(mean > a) = 1 − F(7.726679) = 0.008170; p(mean < b) = F(−6.687448) = 0.010819: max
    j = within_rel(seeds(13.8, 13.9, 14.0), 13.87, 0.03)
    assert j.verdict == "PASS"
    assert j.p_pass == pytest.approx(t2_cdf(-6.687448), abs=1e-6)
    assert j.p_pass == pytest.approx(0.010819, abs=1e-6)
    # FAIL side: the smaller of F(t_a) = 0.991830 and 1 − F(t_b) = 0.989181
    assert j.p_fail == pytest.approx(0.989181, abs=1e-6)
    assert (j.rule, j.limits) == ("band", (pytest.approx(13.4539), pytest.approx(14.2861)))


def test_p_with_zero_spread_follows_the_boundary_rule():
    assert (at_most(seeds(2.0, 2.0, 2.0), 2.0).p_pass, at_most(seeds(2.0, 2.0, 2.0), 2.0).p_fail) == (0.0, 1.0)
    assert (at_most(seeds(3.0, 3.0, 3.0), 2.0).p_pass, at_most(seeds(3.0, 3.0, 3.0), 2.0).p_fail) == (1.0, 0.0)
    j = paired_below(seeds(1, 1, 1), seeds(1, 1, 1))  # difference 0 > margin 0 fails
    assert (j.verdict, j.p_pass, j.p_fail) == ("FAIL", 1.0, 0.0)


def test_p_is_nan_below_three_seeds():
    j = at_most(seeds(3.0, 3.2), 4.0)
    assert math.isnan(j.p_pass) and math.isnan(j.p_fail)


def test_pass_iff_p_at_most_alpha_on_the_edge():
    xs = seeds(3.0, 3.2, 3.4)
    hi, lo = at_most(xs, 0).ci_high, at_most(xs, 0).ci_low  # 3.2 ± t·s/√3
    on = at_most(xs, hi)  # upper bound == threshold: "≤" includes the tie, so PASS
    assert on.verdict == "PASS" and on.p_pass <= ALPHA
    below = at_most(xs, math.nextafter(hi, -math.inf))  # one ulp short: not PASS
    assert below.verdict == "INCONCLUSIVE" and below.p_pass > ALPHA
    tie = at_most(xs, lo)  # lower bound == threshold: FAIL needs lo > thr, so not FAIL
    assert tie.verdict == "INCONCLUSIVE" and tie.p_fail > ALPHA
    assert at_most(xs, math.nextafter(lo, -math.inf)).p_fail <= ALPHA  # FAIL
    a, b = seeds(1.0, 2.0, 3.0), seeds(2.2, 3.1, 4.3)
    lo_d = paired_below(a, b).ci_low
    strict = paired_below(a, b, lo_d)  # "difference > margin": the tie does not pass
    assert strict.verdict == "INCONCLUSIVE" and strict.p_pass > ALPHA
    assert paired_below(a, b, math.nextafter(lo_d, -math.inf)).verdict == "PASS"
    assert paired_below(a, b, math.nextafter(lo_d, -math.inf)).p_pass <= ALPHA


@pytest.mark.parametrize("seed", range(200))
def test_p_says_the_verdict_and_is_students_t(seed):
    """On random data and thresholds: PASS ⇔ p_pass ≤ 0.05 and FAIL ⇔ p_fail ≤ 0.05, and the
    p's are scipy's t-test p's (the boundary nudge only ever moves them by rounding)."""
    from scipy.stats import ttest_1samp

    rng = random.Random(seed)
    n = rng.randint(3, 8)
    xs = [rng.gauss(0, 1) for _ in range(n)]
    thr = rng.gauss(0, 1)
    for fn, side in ((at_most, "less"), (at_least, "greater")):
        j = fn(seeds(*xs), thr)
        assert (j.verdict == "PASS") == (j.p_pass <= ALPHA)
        assert (j.verdict == "FAIL") == (j.p_fail <= ALPHA)
        assert j.p_pass == pytest.approx(ttest_1samp(xs, thr, alternative=side).pvalue, abs=1e-12)
    j = within_rel(seeds(*xs), thr, rng.uniform(0.1, 2))
    assert (j.verdict == "PASS") == (j.p_pass <= ALPHA)
    assert (j.verdict == "FAIL") == (j.p_fail <= ALPHA)


# --- Holm and the claim's p -----------------------------------------------------------------

def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> running max
    # 0.02, 0.03, 0.06, 0.06; back in input order:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_keeps_nan_out_and_handles_ties():
    # nan is not in the family: m = 2, so 0.02·2 = 0.04 (not 0.06)
    out = holm([0.02, float("nan"), 0.6])
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.6)
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # 0.5·2 = 1.0, then max(1.0, 0.6)
    assert holm([0.01, 0.01]) == pytest.approx([0.02, 0.02])
    assert len(holm([])) == 0


def test_holm_verdict_flips_a_pass_to_inconclusive():
    # alone p 0.03 PASSes; among three claims its Holm p is 0.03·3 = 0.09 > 0.05
    assert holm_verdicts([0.03], [0.97]) == ["PASS"]
    assert holm_verdicts([0.03, 0.5, 0.4], [0.97, 0.5, 0.6]) == ["INCONCLUSIVE"] * 3
    assert holm_verdicts([0.001, 0.5, 0.99], [0.999, 0.5, 0.01]) == ["PASS", "INCONCLUSIVE", "FAIL"]


def _j(verdict, p_pass, p_fail):
    return Judgement(verdict, "", 3, 0.0, 0.0, 0.0, 0.0, p_pass=p_pass, p_fail=p_fail)


def test_claim_p_of_several_checks():
    # all must pass: the largest p_pass; any may fail: Bonferroni 2·0.02 = 0.04
    assert claim_p([_j("PASS", 0.01, 0.99), _j("PASS", 0.04, 0.96)]) == (0.04, 1.0)
    assert claim_p([_j("INCONCLUSIVE", 0.9, 0.1), _j("FAIL", 0.98, 0.02)]) == (0.98, pytest.approx(0.04))
    assert claim_p([_j("FAIL", 0.99, 0.03), _j("FAIL", 0.99, 0.03)])[1] == pytest.approx(0.06)
    p_pass, p_fail = claim_p([_j("INCONCLUSIVE", math.nan, math.nan), _j("FAIL", 0.99, 0.01)])
    assert math.isnan(p_pass) and p_fail == pytest.approx(0.02)  # the n < 3 check still counts in k


# --- replication ----------------------------------------------------------------------------

def test_replication_at_the_threshold_is_the_central_t():
    # mean == threshold: nc = 0, the fresh t is central, each tail beyond ±t_{0.95} is 0.05
    j = at_most(seeds(3.4, 3.5, 3.6), 3.5)
    assert j.verdict == "INCONCLUSIVE"
    assert replication([j], "INCONCLUSIVE") == pytest.approx(0.90, abs=1e-9)
    assert replication([j], "PASS") == pytest.approx(0.05, abs=1e-9)


@pytest.mark.parametrize("fn, xs, thr", [
    (at_most, (3.0, 3.2, 3.4), 3.6),         # PASS, p 0.037: fragile
    (at_least, (3.0, 3.2, 3.4, 3.1, 3.3), 3.0),
    (at_most, (3.0, 3.2, 3.4), 3.3),         # INCONCLUSIVE
])
def test_replication_nct_agrees_with_monte_carlo(fn, xs, thr):
    j = fn(seeds(*xs), thr)
    exact = claim_stats._nct_probs(j)
    v = claim_stats._simulated(j, np.random.default_rng(1), 20_000)
    assert float((v == 0).mean()) == pytest.approx(exact[0], abs=0.01)
    assert float((v == 1).mean()) == pytest.approx(exact[1], abs=0.01)


def test_replication_far_from_the_threshold_is_not_nan():
    # the published E10.grid_decodes_digits values: nc = (0.564444 − 0.5)/(0.008889/√3) = 12.557,
    # where scipy's nct.cdf gives nan for the (1e-20) FAIL tail
    j = at_least(seeds(0.5555555555555556, 0.5644444444444444, 0.5733333333333334), 0.5)
    assert j.verdict == "PASS"
    p_pass, p_fail = claim_stats._nct_probs(j)
    assert p_pass == pytest.approx(1.0, abs=1e-5) and 0.0 <= p_fail < 1e-9
    assert replication([j], "PASS") == pytest.approx(1.0, abs=1e-5)
    assert replication([j], "INCONCLUSIVE") == pytest.approx(0.0, abs=1e-5)


def test_replication_of_a_fragile_pass():
    # PASS at p 0.037 with 3 seeds: fresh seeds pass about half the time only
    j = at_most(seeds(3.0, 3.2, 3.4), 3.6)
    r = replication([j], "PASS")
    assert 0.3 < r < claim_stats.FRAGILE
    assert replication([j], "PASS") == r  # nct: no randomness


def test_replication_of_several_checks_is_all_pass_or_any_fail():
    # two independent checks: P(both PASS) = product of the nct P(PASS)'s (Monte Carlo, ±0.01)
    j1, j2 = at_most(seeds(3.0, 3.2, 3.4), 3.6), at_least(seeds(3.0, 3.2, 3.4), 2.9)
    (p1, f1), (p2, f2) = claim_stats._nct_probs(j1), claim_stats._nct_probs(j2)
    assert replication([j1, j2], "PASS") == pytest.approx(p1 * p2, abs=0.01)
    assert replication([j1, j2], "FAIL") == pytest.approx(1 - (1 - f1) * (1 - f2), abs=0.01)
    assert replication([j1, j2], "PASS") == replication([j1, j2], "PASS")  # seeded


def test_replication_of_a_band_by_monte_carlo():
    # a band far wider than the spread: every fresh set of seeds passes
    j = within_rel(seeds(13.8, 13.9, 14.0), 13.87, 0.5)
    assert replication([j], "PASS") == 1.0
    # the tight band of test_p_of_tost... (p 0.011): not certain to pass again
    j = within_rel(seeds(13.8, 13.9, 14.0), 13.87, 0.03)
    assert 0.5 < replication([j], "PASS") < 1.0


def test_replication_zero_spread_and_too_few_seeds():
    assert replication([at_most(seeds(2.0, 2.0, 2.0), 2.0)], "PASS") == 1.0
    assert math.isnan(replication([at_most(seeds(2.0, 2.1), 2.0)], "INCONCLUSIVE"))
    with pytest.raises(ValueError, match="expected one of"):
        replication([at_most(seeds(2.0, 2.0, 2.0), 2.0)], "n/a (not in this run)")


# --- the claims table -----------------------------------------------------------------------

BASE = {"experiment": "e1", "metric": "err", "claim": "c", "dataset": "mnist"}


def _long(ae=(3.0, 3.2, 3.4), pca=(13.8, 13.8, 13.8)):
    rows = [(m, s, v) for m, vs in (("ae30", ae), ("pca30", pca)) for s, v in enumerate(vs)]
    return pd.DataFrame([("e1", "mnist", m, s, "err", v) for m, s, v in rows],
                        columns=["experiment", "dataset", "model", "seed", "metric", "value"])


def test_claims_table_has_p_holm_and_replication():
    cs = [{**BASE, "id": "pass", "model": "ae30", "check": {"type": "at_most", "value": 3.6}},
          {**BASE, "id": "straddles", "model": "ae30", "check": {"type": "at_most", "value": 3.5}},
          {**BASE, "id": "fail", "model": "ae30", "check": {"type": "at_least", "value": 3.6}},
          {**BASE, "id": "absent", "model": "nope", "check": {"type": "at_most", "value": 1}},
          {**BASE, "id": "left", "model": "ae30", "check": {"type": "at_most", "value": 3.6}}]
    t = claims.evaluate(cs, _long(), not_judged={"left": "budget too small"}).set_index("id")
    assert list(claims.COLUMNS) == list(t.reset_index().columns)
    assert t.verdict.tolist()[:3] == ["PASS", "INCONCLUSIVE", "FAIL"]
    # p of the verdict's direction: 0.037090 (PASS), 0.060845 (INCONCLUSIVE's p_pass), and the
    # FAIL's p_fail, which is the PASS's p_pass mirrored (0.037090)
    assert t.p_value[:3].tolist() == pytest.approx([0.037090, 0.060845, 0.037090], abs=1e-6)
    assert t.loc["pass", "p_fail"] == pytest.approx(1 - 0.037090, abs=1e-6)
    # family: the 3 judged claims (not the absent or left-to-the-full-run ones); Holm p_pass of
    # "pass" = 3·0.037090 = 0.111 > 0.05, p_fail of "fail" = 3·0.037090 too: both lose theirs
    assert t.holm[:3].tolist() == ["INCONCLUSIVE"] * 3
    assert t.loc[["absent", "left"], ["p_value", "p_fail", "holm", "replication"]].isna().all().all()
    assert t.loc["pass", "replication"] == pytest.approx(t.loc["fail", "replication"])  # mirror
    assert t.loc["pass", "replication"] < claim_stats.FRAGILE


def test_claims_table_holm_keeps_a_strong_pass():
    cs = [{**BASE, "id": "strong", "model": "ae30", "check": {"type": "at_most", "value": 5.0}},
          {**BASE, "id": "weak", "model": "ae30", "check": {"type": "at_most", "value": 3.5}}]
    t = claims.evaluate(cs, _long()).set_index("id")
    # strong: t = −1.8/0.115470 = −15.58846 (t² = 243), p = 0.5 − 15.58846/31.30495 = 0.002045;
    # Holm: 2·0.002045 = 0.0041 ≤ 0.05
    assert t.loc["strong", "p_value"] == pytest.approx(t2_cdf(-math.sqrt(243)), abs=1e-9)
    assert t.loc["strong", "p_value"] == pytest.approx(0.002045, abs=1e-6)
    assert t.holm.tolist() == ["PASS", "INCONCLUSIVE"]


def test_deterministic_baseline_is_one_value_and_a_one_sample_test():
    from scipy.stats import ttest_1samp

    cs = [{**BASE, "id": "below", "model": "ae30", "check": {"type": "below_model", "model": "pca30"}},
          {**BASE, "id": "pca", "model": "pca30", "anchor": 13.87,
           "check": {"type": "within_rel", "tol": 0.03}}]
    t = claims.evaluate(cs, _long()).set_index("id")
    assert t.loc["below", "ours"] == "ae30: 3.2 ± 0.5 (n=3) vs pca30: 13.8 (n=1)"
    assert t.loc["below", "reason"].endswith(f"({claims.DETERMINISTIC} pca30)")
    # the paired test on 13.8 − ae30 is the one-sample t-test of ae30's seeds below 13.8
    assert t.loc["below", "p_value"] == pytest.approx(
        ttest_1samp([3.0, 3.2, 3.4], 13.8, alternative="less").pvalue, rel=1e-9)
    assert t.loc["pca", "ours"] == "pca30: 13.8 (n=1)"
    assert "deterministic: the same value at all 3 seeds" in t.loc["pca", "reason"]
    assert (t.loc["pca", "verdict"], t.loc["pca", "p_value"], t.loc["pca", "replication"]) == ("PASS", 0.0, 1.0)
    # a baseline that varies across seeds keeps the paired display
    t = claims.evaluate(cs[:1], _long(pca=(13.7, 13.8, 13.9))).set_index("id")
    assert t.loc["below", "ours"].endswith("(n=3)") and "(n=1)" not in t.loc["below", "ours"]
    assert claims.DETERMINISTIC not in t.loc["below", "reason"]


# --- README and the report's front page -----------------------------------------------------

def test_cells_are_short():
    assert claim_stats.p_text(0.003) == "0.003" and claim_stats.p_text(0.0004) == "<0.001"
    assert claim_stats.p_text("") == "" and claim_stats.p_text(float("nan")) == ""
    assert claim_stats.p_text("0.0608") == "0.061"  # as csv.DictReader gives it
    assert claim_stats.replication_text(0.62) == "0.62 (fragile)"
    assert claim_stats.replication_text("0.95") == "0.95" and claim_stats.replication_text("") == ""


def _table():
    cs = [{**BASE, "id": "pass", "model": "ae30", "check": {"type": "at_most", "value": 5.0}},
          {**BASE, "id": "straddles", "model": "ae30", "check": {"type": "at_most", "value": 3.5}},
          {**BASE, "id": "absent", "model": "nope", "check": {"type": "at_most", "value": 1}}]
    return claims.evaluate(cs, _long())


def test_readme_table_shows_p_holm_and_replication(tmp_path):
    from aebench.runctl import readme

    t = _table()
    t.to_csv(tmp_path / "claims.csv", index=False)  # as the README reads it back
    md = readme.claims_table(readme.judged(pd.read_csv(tmp_path / "claims.csv")))
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in md.splitlines()[:4]]
    assert cells[0][-5:] == ["verdict", "reason", "p", "Holm", "replication"]
    # pass: p 0.002045, Holm 2·0.002045 ≤ 0.05: PASS; straddles: p 0.060845, fragile
    assert cells[2][0] == "pass" and cells[2][-3:] == ["0.002", "PASS", "1.00"]
    assert cells[3][0] == "straddles" and cells[3][-3:] == ["0.061", "INCONCLUSIVE", "0.47 (fragile)"]
    assert "| absent " not in md and "Holm's correction" in md


def test_old_claims_csv_renders_without_the_new_columns():
    """Runs published before issue 38 have claims.csv without p, Holm or replication: the
    README shows their columns only, as before."""
    from pathlib import Path

    from aebench.runctl import frontpage, readme

    # runs published since issue 38 carry the new columns and are covered by the tests above
    old = [path for path in sorted(Path(readme.ROOT, "results/published").glob("*/tables/claims.csv"))
           if "p_value" not in pd.read_csv(path, nrows=0)]
    if not old:
        pytest.skip("no run published before issue 38 in this checkout")
    for path in old:
        c = pd.read_csv(path)
        md = readme.claims_table(readme.judged(c)) if len(readme.judged(c)) else ""
        assert "Holm" not in md and "replication" not in md
        html = frontpage.claims_table(path)
        assert "<th>Holm</th>" not in html and "Holm's correction" not in html


def test_front_page_shows_p_holm_and_replication(tmp_path):
    from aebench.runctl import frontpage

    _table().to_csv(tmp_path / "claims.csv", index=False)
    html = frontpage.claims_table(tmp_path / "claims.csv")
    assert "<th>p</th><th>Holm</th><th>replication</th>" in html
    row = next(line for line in html.splitlines() if ">straddles<" in line)
    assert "<td>0.061</td>" in row and "INCONCLUSIVE</b></td><td>0.47 (fragile)</td>" in row
    absent = next(line for line in html.splitlines() if ">absent<" in line)
    assert absent.endswith("<td></td><td></td><td></td></tr>")  # not judged: blank
    assert "Holm&#x27;s correction" in html
