"""aebench.runctl.tuned: the validation evidence behind a preset's budgets (issue 38)."""

import json

import pandas as pd
import pytest

from aebench.runctl import tuned


def _fit(root, model, seed, val_loss, cap, split="val", layers=None):
    d = root / "runs" / model / f"seed{seed}"
    d.mkdir(parents=True)
    (d / "run.json").write_text(json.dumps({"judged_split": split,
                                            "spec": {"train": {"epochs": cap}}}))
    h = pd.DataFrame({"epoch": range(1, len(val_loss) + 1), "val_loss": val_loss})
    if layers:
        h = pd.concat([h.assign(layer=i + 1) for i in range(layers)])
    h.to_csv(d / "history.csv", index=False)


def test_a_curve_still_falling_at_its_cap_is_flagged_and_a_flat_or_stopped_one_is_not(tmp_path):
    _fit(tmp_path, "falling", 0, [1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1], cap=8)
    _fit(tmp_path, "flat", 0, [1.0, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.399], cap=8)
    _fit(tmp_path, "stopped", 0, [1.0, 0.5, 0.4, 0.45], cap=8)   # ran 4 of 8: early stopping
    t = tuned.fits_table(tmp_path).set_index("model")
    assert t.loc["falling", "validation says"] == "still improving"
    assert t.loc["falling", "last-quarter fall"] == "66.7%"      # from 0.3 before the last 2 epochs to 0.1
    assert t.loc["flat", "validation says"].startswith("enough")
    assert t.loc["stopped", "validation says"].startswith("enough")
    assert t.loc["stopped", "best epoch"] == "3" and t.loc["stopped", "stopped early"] == "1/1"


def test_a_stack_is_judged_by_its_least_settled_layer(tmp_path):
    _fit(tmp_path, "stack", 0, [1.0, 0.8, 0.6, 0.4], cap=4, layers=2)
    t = tuned.fits_table(tmp_path).set_index("model")
    assert t.loc["stack", "epochs run"] == "4" and t.loc["stack", "by"] == "val_loss per layer"
    assert t.loc["stack", "validation says"] == "still improving"


def test_a_run_judged_on_test_is_refused(tmp_path, capsys):
    _fit(tmp_path, "m", 0, [1.0, 0.9], cap=2, split="test")
    with pytest.raises(SystemExit, match="not a run judged on validation"):
        tuned.main([str(tmp_path)])


def test_claims_show_the_old_runs_verdict_beside_the_validation_one(tmp_path):
    for d, rows in ((tmp_path / "val", [("A", "PASS", 0.2, 0.1, 0.3), ("B", "FAIL", -1.0, -2.0, -0.5)]),
                    (tmp_path / "old", [("A", "INCONCLUSIVE", 0.1, -0.1, 0.3)])):
        (d / "tables").mkdir(parents=True)
        pd.DataFrame(rows, columns=["id", "verdict", "effect", "effect_low", "effect_high"]
                     ).to_csv(d / "tables" / "claims.csv", index=False)
    t = tuned.claims_table(tmp_path / "val", tmp_path / "old").set_index("claim")
    assert t.loc["A", "old verdict"] == "INCONCLUSIVE" and t.loc["B", "old verdict"] == "absent"
    assert t.loc["A", "effect"] == "0.2 [0.1, 0.3]"
