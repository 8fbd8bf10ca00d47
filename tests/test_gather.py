import pytest
import pandas as pd

from aebench.gather import evaluate_claims, summarize, wide_table


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


def test_claim_verdicts():
    s = summarize(_long())
    base = {"experiment": "e1", "metric": "err", "claim": "c", "dataset": "mnist"}
    claims = [
        {**base, "id": "rel_ok", "model": "pca30", "anchor": 13.87,
         "check": {"type": "within_rel", "tol": 0.03}},
        {**base, "id": "rel_bad", "model": "pca30", "anchor": 10.0,
         "check": {"type": "within_rel", "tol": 0.03}},
        {**base, "id": "at_most_bad", "model": "ae30", "anchor": 3.0,
         "check": {"type": "at_most", "value": 3.0}},
        {**base, "id": "below", "model": "ae30", "check": {"type": "below_model", "model": "pca30"}},
        {**base, "id": "above", "model": "ae30",
         "check": {"type": "above_model", "model": "pca30", "margin": 0.1}},
        {**base, "id": "absent", "model": "nope", "check": {"type": "at_most", "value": 1}},
        {**base, "id": "other_data", "model": "ae30", "dataset": "fashion_mnist",
         "check": {"type": "at_most", "value": 9}},
    ]
    v = evaluate_claims(claims, s).set_index("id")["verdict"].to_dict()
    assert v == {"rel_ok": "PASS", "rel_bad": "FAIL", "at_most_bad": "FAIL", "below": "PASS",
                 "above": "FAIL", "absent": "n/a (not in this run)",
                 "other_data": "n/a (anchor is for fashion_mnist)"}


def test_readme_block_is_replaced_from_the_claims_files(tmp_path):
    from aebench import readme

    r = tmp_path / "README.md"
    r.write_text(f"intro\n{readme.START}\nold\n{readme.END}\nrest\n")
    row = {"claim": "c", "anchor": 1, "tolerance": "≤ 3"}
    full = pd.DataFrame([{**row, "id": "E1.x", "ours": "ae: 2", "verdict": "PASS"},
                         {**row, "id": "E4.y", "ours": "", "verdict": "n/a (not in this run)"}])
    e4 = pd.DataFrame([{**row, "id": "E4.y", "ours": "ae10: 0.2", "verdict": "FAIL"}])
    claims = tmp_path / "claims.csv"
    full.to_csv(claims, index=False)
    e4.to_csv(tmp_path / "e4.csv", index=False)
    readme.main([str(r), str(claims), str(tmp_path / "e4.csv"), "--note", "run: one",
                 "--note", "run: two"])
    text = r.read_text()
    assert "old" not in text and text.endswith("rest\n")
    # each run's note heads its own table; a claim a run did not measure is not shown
    assert text.index("run: one") < text.index("| E1.x") < text.index("run: two") < \
        text.index("| E4.y")
    assert text.count("| E4.y") == 1 and "n/a" not in text
    with pytest.raises(SystemExit):
        readme.main([str(r), str(claims), "--note", "a", "--note", "b"])
