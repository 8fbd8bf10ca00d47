"""``python -m aebench.runctl.tuned RUN``: the validation evidence behind a preset's budgets.

RUN is a run judged on the validation split (``--config judge_split=val``, outputs under
``results/val``) with development seeds. Printed as Markdown, for docs/quick-trials:

- per fitted model, its epoch cap and what validation says about it: epochs run, the best
  epoch, how many seeds stopped early (validation stopped improving before the cap), and how
  much the validation loss still fell over the last quarter of the epochs (a cap that cuts a
  curve still falling steeply is a budget the claims may be judging);
- per claim, the validation verdict and effect (aebench.claims.effect).

Nothing here reads a test split: a run judged on test is refused.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

# The last quarter's relative fall in validation loss below which a capped curve counts as
# flat: 1% is about the seed-to-seed spread of the quick preset's reconstruction errors.
FLAT = 0.01


def fit_evidence(run_dir: Path) -> dict:
    """One fit (``runs/<model>/seed<k>``): its cap and its validation curve's shape. A stack
    trained layer by layer (a ``layer`` column) is judged by its least settled layer."""
    spec = json.loads((run_dir / "run.json").read_text())["spec"]
    h = pd.read_csv(run_dir / "history.csv").dropna(subset=["val_loss"])
    if h.empty:  # closed-form kinds (PCA, LSA) train no loop
        return {}
    cap = int((spec.get("train") or {}).get("epochs") or len(h))
    score = "val_error" if "val_error" in h else "val_loss"
    layers = [g for _, g in h.groupby("layer")] if "layer" in h else [h]
    per = [_curve(g.reset_index(drop=True), score) for g in layers]
    epochs_run, best, fall = max(per, key=lambda x: x[2])
    return {"cap": cap, "epochs_run": epochs_run, "best_epoch": best,
            "score": score + (" per layer" if len(layers) > 1 else ""),
            "stopped_early": all(n < cap for n, _, _ in per), "last_quarter_fall": fall}


def _curve(h: pd.DataFrame, score: str) -> tuple[int, int, float]:
    """Epochs run, best epoch by ``score``, and the relative fall of validation loss from the
    start of the last quarter of the epochs to its lowest point within it."""
    best = int(h.epoch[h[score].idxmin()])
    q = max(1, len(h) // 4)
    before = h.val_loss.iloc[-q - 1] if len(h) > q else h.val_loss.iloc[0]
    last = h.val_loss.iloc[-q:].min()
    return len(h), best, float((before - last) / abs(before)) if before else math.nan


def fits_table(run: Path) -> pd.DataFrame:
    rows = []
    for d in sorted((run / "runs").glob("*/seed*")):
        if (d / "history.csv").exists() and (d / "run.json").exists() and (e := fit_evidence(d)):
            rows.append({"model": d.parent.name, "seed": int(d.name[4:]), **e})
    if not rows:
        raise SystemExit(f"{run}: no fitted runs (runs/<model>/seed<k>/history.csv) to read")
    df = pd.DataFrame(rows)
    g = df.groupby("model", sort=True)
    out = pd.DataFrame({
        "cap": g.cap.max(),
        "seeds": g.seed.count(),
        "epochs run": g.epochs_run.agg(lambda s: f"{s.min()}-{s.max()}" if s.min() != s.max() else f"{s.min()}"),
        "best epoch": g.best_epoch.agg(lambda s: f"{s.min()}-{s.max()}" if s.min() != s.max() else f"{s.min()}"),
        "by": g.score.first(),
        "stopped early": g.stopped_early.sum().astype(int).astype(str) + "/" + g.seed.count().astype(str),
        "last-quarter fall": g.last_quarter_fall.mean().map(lambda x: f"{100 * x:.1f}%"),
    })
    flat = g.apply(lambda x: bool((x.stopped_early | (x.last_quarter_fall < FLAT)).all()),
                   include_groups=False)
    out["validation says"] = flat.map({True: "enough (flat or stopped)", False: "still improving"})
    return out.reset_index()


def claims_table(run: Path, old: Path | None = None) -> pd.DataFrame:
    """Each claim's validation verdict and effect; with ``old`` (a published run), the verdict
    that run gave beside it ("absent": the claim is new or renamed since)."""
    from .readme import effect_cell

    c = pd.read_csv(run / "tables" / "claims.csv")
    t = pd.DataFrame({"claim": c.id, "validation verdict": c.verdict,
                      "effect": [effect_cell(r, missing="")[0] for _, r in c.iterrows()]})
    if old is not None:
        o = pd.read_csv(old / "tables" / "claims.csv").set_index("id").verdict
        t.insert(1, f"{old.name} verdict", [o.get(i, "absent") for i in t.claim])
    return t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a run judged on validation, e.g. results/val")
    ap.add_argument("--old", type=Path, help="a published run whose verdicts to show beside")
    a = ap.parse_args(argv)
    runs = sorted((a.run / "runs").glob("*/seed*/run.json"))
    splits = {json.loads(r.read_text()).get("judged_split", "test") for r in runs}
    if splits != {"val"}:
        raise SystemExit(f"{a.run}: not a run judged on validation (its fits say judged_split "
                         f"{sorted(splits) or 'missing'}); run the preset with --config "
                         "judge_split=val and give its results/val")
    seeds = sorted({int(r.parent.name[4:]) for r in runs})
    print(f"Seeds {', '.join(map(str, seeds))}, every fit judged on the validation split.\n")
    print("### Fits: each cap against the validation curve\n")
    print(fits_table(a.run).to_markdown(index=False))
    print(f"\nlast-quarter fall: how much validation loss fell over the last quarter of the "
          f"epochs run (mean over seeds); below {FLAT:.0%}, or stopped early on every seed, "
          "counts as enough.\n")
    print("### Claims on the validation split\n")
    print(claims_table(a.run, a.old).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
