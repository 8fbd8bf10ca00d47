import pytest
import pandas as pd

from aebench.gather import summarize, wide_table


def _long():
    rows = []
    for seed, (a, b) in enumerate([(3.0, 13.8), (3.2, 13.8), (3.4, 13.8)]):
        rows += [("e1", "mnist", "ae30", seed, "err", a), ("e1", "mnist", "pca30", seed, "err", b)]
    return pd.DataFrame(rows, columns=["experiment", "dataset", "model", "seed", "metric", "value"])


def test_summary_and_wide_table():
    s = summarize(_long())
    ae = s[s.model == "ae30"].iloc[0]
    assert ae["mean"] == pytest.approx(3.2) and ae["n_seeds"] == 3 and ae["ci95"] > 0
    t = wide_table(s)
    assert list(t.model) == ["ae30", "pca30"] and t.loc[0, "err"].startswith("3.2 ± ")


def _claims_long(rows):
    return pd.DataFrame([("e1", "mnist", *r) for r in rows],
                        columns=["experiment", "dataset", "model", "seed", "metric", "value"])


BASE = {"experiment": "e1", "metric": "err", "claim": "c", "dataset": "mnist"}


def test_claims_are_judged_on_per_seed_values_with_their_reasons():
    from aebench import claims

    t95_2 = 2.919986  # one-sided 95% Student t, 2 degrees of freedom
    # ae30 3.0/3.2/3.4 (mean 3.2, sd 0.2); pca30 13.8 at every seed
    long = _long()
    cs = [
        {**BASE, "id": "rel_ok", "model": "pca30", "anchor": 13.87, "check": {"type": "within_rel", "tol": 0.03}},
        {**BASE, "id": "rel_bad", "model": "pca30", "anchor": 10.0, "check": {"type": "within_rel", "tol": 0.03}},
        # upper bound 3.2 + t * 0.2 / sqrt(3) = 3.537 > 3.5 but the lower bound 2.863 < 3.5
        {**BASE, "id": "straddles", "model": "ae30", "check": {"type": "at_most", "value": 3.5}},
        {**BASE, "id": "at_most_fail", "model": "ae30", "check": {"type": "at_most", "value": 2.5}},
        {**BASE, "id": "below", "model": "ae30", "check": {"type": "below_model", "model": "pca30"}},
        {**BASE, "id": "above", "model": "ae30", "check": {"type": "above_model", "model": "pca30", "margin": 0.1}},
        {**BASE, "id": "absent", "model": "nope", "check": {"type": "at_most", "value": 1}},
        # against a number published on another dataset: not judged; a comparison (or a
        # property with no published number) is judged on whatever dataset the run used
        {**BASE, "id": "other_data", "model": "ae30", "dataset": "fashion_mnist", "anchor": 9,
         "check": {"type": "at_most", "value": 9}},
        {**BASE, "id": "other_data_below", "model": "ae30", "dataset": "fashion_mnist",
         "check": {"type": "below_model", "model": "pca30"}},
        {**BASE, "id": "subset", "model": "ae30", "full_data": True, "check": {"type": "at_most", "value": 9}},
    ]
    t = claims.evaluate(cs, long, {"mnist": False}).set_index("id")
    assert t.verdict.to_dict() == {
        "rel_ok": "PASS", "rel_bad": "FAIL", "straddles": "INCONCLUSIVE", "at_most_fail": "FAIL",
        "below": "PASS", "above": "FAIL", "absent": "n/a (not in this run)",
        "other_data": "n/a (anchor is for fashion_mnist)", "other_data_below": "PASS",
        "subset": "n/a (anchor is for the full data)"}
    assert set(t.data) == {"mnist"}  # every verdict says which data it is on
    assert 3.2 + t95_2 * 0.2 / 3 ** 0.5 == pytest.approx(3.5372, abs=1e-4)
    assert "3.537" in t.loc["straddles", "reason"]
    # the paired difference pca30 - ae30 = 10.6 (sd 0.2) and its interval beside both means
    assert t.loc["below", "difference"].startswith("10.6 [")
    assert "ae30: 3.2 ± " in t.loc["below", "ours"] and "pca30: 13.8" in t.loc["below", "ours"]
    # with full data the full-data claim is judged
    assert claims.evaluate(cs[-1:], long, {"mnist": True}).verdict[0] == "PASS"


def test_one_or_two_seeds_are_never_a_pass_and_several_checks_must_all_hold():
    from aebench import claims

    one = _claims_long([("a", 0, "m", 1.0), ("b", 0, "m", 5.0), ("a", 0, "g", 1.0)])
    c = {**BASE, "metric": "m", "id": "x", "model": "a", "check": {"type": "below_model", "model": "b"}}
    r = claims.evaluate([c], one).iloc[0]
    assert r.verdict == "INCONCLUSIVE" and "n=1 < 3 seeds" in r.reason
    three = _claims_long([(m, s, k, v) for s in range(3) for m, k, v in
                          [("a", "m", 1.0 + s), ("b", "m", 5.0 + s), ("a", "g", -1.0 - s)]])
    both = {**c, "checks": [{"type": "below_model", "model": "b"},
                            {"type": "at_least", "value": 0.0, "metric": "g"}]}
    del both["check"]
    r = claims.evaluate([both], three).iloc[0]
    assert r.verdict == "FAIL"  # a is below b at every seed (difference 4, no spread), but g < 0
    assert "a g:" in r.ours and r.tolerance.count(";") == 1
    both["checks"][1]["value"] = -10.0
    assert claims.evaluate([both], three).iloc[0].verdict == "PASS"


def test_a_comparison_may_read_another_metric_of_the_other_model():
    """E8: the RBM's probe on its hidden layer against the same probe on the raw pixels."""
    from aebench import claims

    long = _claims_long([(m, s, k, v) for s in range(3) for m, k, v in
                         [("dbn", "probe@layer1", 0.95 + 0.01 * s), ("pixels", "probe@input", 0.90)]])
    c = {**BASE, "id": "x", "model": "dbn", "metric": "probe@layer1",
         "check": {"type": "above_model", "model": "pixels", "other_metric": "probe@input"}}
    r = claims.evaluate([c], long).iloc[0]
    assert r.verdict == "PASS" and "pixels (probe@input)" in r.tolerance


def test_report_front_page_counts_and_colours_the_verdicts(tmp_path):
    from aebench.runctl import frontpage as report

    f = tmp_path / "claims.csv"
    pd.DataFrame([{"id": "E1.a", "claim": "a <b>", "verdict": "PASS", "difference": "1 [0.5, 1.5] (n=3)"},
                  {"id": "E1.b", "claim": "b", "verdict": "FAIL", "ours": "x: 2 (n=3)"},
                  {"id": "E2.c", "claim": "c", "verdict": "n/a (not in this run)"}]).to_csv(f, index=False)
    page = report.front_page(f, [("E\u20071 PCA vs deep AE", "slides 2-4")])
    assert "Claims: 1 PASS, 1 FAIL, 1 not judged" in page
    assert 'color:#1a7f37">PASS' in page and 'color:#cf222e">FAIL' in page
    assert 'title="a &lt;b&gt;"' in page and "x: 2 (n=3)" in page  # escaped; value when unpaired
    assert "PCA vs deep AE (slides 2-4)" in page
    assert max(len(line) for line in page.splitlines()) < 10_000  # docutils' line limit
    assert "No claims table yet" in report.front_page(tmp_path / "none.csv", [])


def test_a_claim_the_config_leaves_to_the_full_run_shows_its_values_but_no_verdict():
    """experiments.<e>.not_judged: the preset's reason replaces the verdict; the numbers stay."""
    from aebench import claims

    c = {**BASE, "id": "below", "model": "ae30", "check": {"type": "below_model", "model": "pca30"}}
    judged = claims.evaluate([c], _long()).iloc[0]
    left = claims.evaluate([c], _long(), not_judged={"below": "budget too small"}).iloc[0]
    assert judged.verdict == "PASS"
    assert left.verdict == "n/a (left to the full run)" and left.reason == "budget too small"
    assert left.difference == judged.difference and left.ours == judged.ours
    raw = {"experiments": {"e1": {"not_judged": {"below": "r"}}, "e2": {"enabled": True}, "e3": None}}
    assert claims.not_judged_of(raw) == {"below": "r"}
