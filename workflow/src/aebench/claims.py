"""The claims table: each lecture claim judged on the per-seed metrics of this run.

Claims live in workflow/claims/<experiment>.yaml (format: workflow/claims/README.md). A claim
names the experiment, the dataset its anchor was measured on, a model and a metric, and one
check (``check:``) or several that must all hold (``checks:``). Each check is judged by
:mod:`aebench.verdicts` on the per-seed values (comparisons on paired per-seed differences):
PASS when the claim holds with 95% confidence, FAIL when its opposite does, INCONCLUSIVE
otherwise, with the reason; a paired difference is shown with the 90% interval whose ends are
the bounds the verdict read. Several checks: PASS when all pass, FAIL when any fails.

A claim is not judged ("n/a ...") when this run lacks its models, when it is judged against
a published number (a numeric ``anchor``) measured on another dataset than this run's, when ``full_data: true`` (an anchor published on the whole data
set) and this run used subsets of it, or when the config leaves it to another run
(``experiments.<e>.not_judged``: a preset whose budget cannot judge a claim says so, with the
reason, instead of giving a verdict on its budget; its values are still shown). A claim that
compares models of one run, or states a property with no published number, is judged on
whatever dataset the run used (``image_dataset: fashion_mnist`` included); the ``data`` column
says which (for a claim on an ``also_on`` copy of a model, E4's on 20news_headers, the copy's). A second image dataset is held out: no setting is chosen from its numbers.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pandas as pd
import yaml

from . import claim_stats
from .metrics import mean_ci
from .verdicts import Judgement, describe, judge

NOT_JUDGED = "n/a"  # verdicts of claims this run could not judge start with this
LEFT_TO_FULL_RUN = f"{NOT_JUDGED} (left to the full run)"  # the verdict of a not_judged claim
CLAIMS_DIR = Path(__file__).resolve().parents[2] / "claims"  # workflow/claims
COLUMNS = ["id", "claim", "anchor", "ours", "difference", "tolerance", "verdict", "reason",
           "p_value", "p_fail", "holm", "replication", "effect", "effect_low", "effect_high",
           "metric", "source", "data"]
DETERMINISTIC = "one-sample test against a deterministic baseline"  # said in such a reason


def load(paths) -> list[dict]:
    """Every claim of the given files, in lecture order (E1, E2, ..., E10)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    claims = [c for p in paths for c in yaml.safe_load(Path(p).read_text())["claims"]]

    def number(c):
        m = re.match(r"e(\d+)", c["experiment"])
        return int(m.group(1)) if m else 10**6

    return sorted(claims, key=number)


def files() -> list[str]:
    """Every claim file (workflow/claims/<experiment>.yaml), sorted."""
    return sorted(str(p) for p in CLAIMS_DIR.glob("*.yaml"))


def not_judged_of(raw: dict) -> dict[str, str]:
    """Claim id -> reason, for the claims a config leaves unjudged
    (``experiments.<e>.not_judged``, over every experiment of the config)."""
    return {i: r for block in (raw.get("experiments") or {}).values()
            for i, r in ((block or {}).get("not_judged") or {}).items()}


def check_not_judged(experiment: str, ids, claims: list[dict]) -> None:
    """ValueError naming the first id in ``ids`` that is not one of ``experiment``'s claims."""
    import difflib

    own = [c["id"] for c in claims if c["experiment"] == experiment]
    for i in ids:
        if i not in own:
            near = difflib.get_close_matches(i, own, n=1)
            hint = f"did you mean '{near[0]}'?" if near else f"its claims: {', '.join(own) or 'none'}"
            raise ValueError(f"not_judged names '{i}', which is not a claim of {experiment} ({hint})")


def checks_of(claim: dict) -> list[dict]:
    """The claim's checks, each with its own model and metric (the claim's by default) and,
    for comparisons, the other model and its metric (``other_metric``, default the same)."""
    raw = claim.get("checks") or [claim["check"]]
    out = []
    for c in raw:
        c = {"model": None, **c}
        if c["type"] == "reproduces":
            c = reproduces(c, claim)
        c["of"] = c.pop("of", claim["model"])
        c["metric"] = c.get("metric", claim["metric"])
        if c["model"] is not None:
            c["other_metric"] = c.get("other_metric", c["metric"])
        out.append(c)
    return out


Z_95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975): the band's two-sided 95%


def reproduces(check: dict, claim: dict) -> dict:
    """``{type: reproduces, n_test: N}`` on a claim whose anchor is an error rate in %: "our
    mean reproduces the published number", judged by TOST (``within_rel``) within the
    anchor's own test-set noise, ±1.96 binomial standard errors of a rate of ``anchor``% on
    N test images (the claims table shows the band)."""
    import math

    a = claim.get("anchor")
    if not isinstance(a, (int, float)) or not 0 < a < 100 or int(check.get("n_test", 0)) < 1:
        raise ValueError(f"claim {claim.get('id')}: a `reproduces` check needs the claim's anchor "
                         f"as an error rate in % (0-100) and n_test (the anchor's test images)")
    p, n = a / 100, int(check["n_test"])
    half = Z_95 * 100 * math.sqrt(p * (1 - p) / n)
    return {**{k: v for k, v in check.items() if k != "n_test"}, "type": "within_rel",
            "tol": half / a, "band": f"±{half:.2f} points (1.96 binomial SE on {n} test images)"}


def published_number(claim: dict) -> bool:
    """Whether the claim is judged against a number published on its dataset (a numeric
    ``anchor``): only such a claim is tied to that dataset."""
    a = claim.get("anchor")
    return isinstance(a, (int, float)) and not isinstance(a, bool)


def per_seed(long: pd.DataFrame, experiment: str, model: str, metric: str) -> dict[int, float]:
    rows = long[(long.experiment == experiment) & (long.model == model) & (long.metric == metric)]
    return {int(s): float(v) for s, v in zip(rows.seed, rows.value)}


def data_of(claim: dict, model: str, exp_rows: pd.DataFrame) -> str | None:
    """The data a claim is judged on: that of its model's rows, i.e. the experiment's own, or
    for an `also_on` copy (E4's text_ae10.20news_headers) the copy's dataset, named by the
    copy even where this run lacks it."""
    from .datasets import names

    mine = exp_rows[exp_rows.model == model]
    if len(mine):
        return mine.dataset.iloc[0]
    copy_of = [d for d in names() if model.endswith(f".{d}")]
    if copy_of:
        return max(copy_of, key=len)
    return exp_rows.dataset.iloc[0] if len(exp_rows) else None


def _num(x) -> str:
    return f"{x:.4g}"


def tolerance_text(c: dict, anchor) -> str:
    t, m = c["type"], c["metric"]
    if t == "within_rel" and "band" in c:
        return f"{m} within {c['band']} of {anchor}"
    if t == "within_rel":
        return f"{m} within {c['tol']:.0%} of {anchor}"
    if t == "at_most":
        return f"{m} ≤ {c['value']}"
    if t == "at_least":
        return f"{m} ≥ {c['value']}"
    margin = c.get("margin", 0.0)
    other = c["model"] + ("" if c["other_metric"] == m else f" ({c['other_metric']})")
    sign = 1 if t == "below_model" else -1  # below: of < other - margin; above: of > other + margin
    shift = -sign * margin
    offset = "" if shift == 0 else f" {'+' if shift > 0 else '−'} {abs(shift):g}"
    return f"{c['of']} {'<' if sign == 1 else '>'} {other}{offset} (paired)"


def _ours(model: str, values: dict) -> str:
    mean, ci = mean_ci(list(values.values()))
    cell = _num(mean) if ci != ci else f"{_num(mean)} ± {ci:.2g}"  # ci is nan with one seed
    return f"{model}: {cell}"


def deterministic(values: dict) -> bool:
    """Whether a model gave the same value at every one of several seeds: a deterministic
    baseline (PCA, raw pixels) on the same data, one value whatever the seed."""
    finite = [v for v in values.values() if math.isfinite(v)]
    return len(finite) > 1 and len(set(finite)) == 1


def _side(model: str, values: dict, n: int) -> str:
    if deterministic(values):
        return f"{model}: {_num(next(iter(values.values())))} (n=1)"
    return f"{_ours(model, values)} (n={n})"


def _deterministic_note(check: dict, values: dict, other: dict | None) -> str:
    """What a reader must know when a side of the check is one value at every seed: the
    paired test is then a one-sample test on the other side's seeds (the same arithmetic),
    and an anchor check with zero spread is decided by the boundary rule."""
    mine, theirs = deterministic(values), other is not None and deterministic(other)
    if other is None:
        return f"deterministic: the same value at all {len(values)} seeds" if mine else ""
    if mine and theirs:
        return "deterministic: both models give the same value at every seed"
    if mine or theirs:
        return f"{DETERMINISTIC} {check['of'] if mine else check['model']}"
    return ""


def combine(judgements: list[Judgement]) -> tuple[str, str]:
    verdicts = [j.verdict for j in judgements]
    if "FAIL" in verdicts:
        verdict = "FAIL"
    elif all(v == "PASS" for v in verdicts):
        verdict = "PASS"
    else:
        verdict = "INCONCLUSIVE"
    return verdict, "; ".join(j.reason for j in judgements)


def evaluate(claims: list[dict], long: pd.DataFrame,
             full_data: dict[str, bool] | None = None,
             not_judged: dict[str, str] | None = None) -> pd.DataFrame:
    """Judge every claim on ``long`` (the experiments' metrics.csv rows: experiment, dataset,
    model, seed, metric, value). ``full_data``: dataset -> whether this run used all of it.
    ``not_judged``: claim id -> why this config leaves it to another run (:func:`not_judged_of`);
    its values and difference are shown, its verdict is n/a with that reason."""
    full_data, not_judged = full_data or {}, not_judged or {}
    rows, judgements = [], {}  # judgements: row index -> its checks' Judgements, judged rows only
    for c in claims:
        checks = checks_of(c)
        row = {"id": c["id"], "claim": c["claim"], "metric": c["metric"],
               "anchor": c.get("anchor_text", c.get("anchor", "")), "source": c.get("source", ""),
               "ours": "", "difference": "", "tolerance": "", "reason": ""}
        exp_rows = long[long.experiment == c["experiment"]]
        values = [(per_seed(long, c["experiment"], k["of"], k["metric"]),
                   per_seed(long, c["experiment"], k["model"], k["other_metric"])
                   if k["model"] else None) for k in checks]
        dataset = data_of(c, checks[0]["of"], exp_rows)
        row["data"] = dataset or ""
        if any(not v or o == {} for v, o in values):
            row.update(ours="n/a", verdict=f"{NOT_JUDGED} (not in this run)")
        elif c.get("dataset") and dataset != c["dataset"] and published_number(c):
            row.update(ours=f"on {dataset}", verdict=f"{NOT_JUDGED} (anchor is for {c['dataset']})")
        elif c.get("full_data") and not full_data.get(dataset, True):
            row.update(ours=f"on a subset of {dataset}",
                       verdict=f"{NOT_JUDGED} (anchor is for the full data)")
        else:
            js = [judge(k, v, o, c.get("anchor")) for k, (v, o) in zip(checks, values)]
            ours, diffs = [], []
            for i, (k, (v, o), j) in enumerate(zip(checks, values, js)):
                name = k["of"] if len(checks) == 1 else f"{k['of']} {k['metric']}"
                if o is not None:
                    diffs.append(describe(j))
                note = _deterministic_note(k, v, o)
                if not note:
                    cell = _ours(name, v) + ("" if o is None else f" vs {_ours(k['model'], o)}")
                    ours.append(cell + f" (n={j.n})")
                    continue
                # one value shown as such; the other side keeps its n
                other = "" if o is None else f" vs {_side(k['model'], o, j.n)}"
                ours.append(_side(name, v, j.n) + other)
                js[i] = dataclasses.replace(j, reason=f"{j.reason} ({note})")
            row["verdict"], row["reason"] = combine(js)
            row.update(ours="; ".join(ours), difference="; ".join(diffs),
                       tolerance="; ".join(tolerance_text(k, c.get("anchor")) for k in checks))
            if c["id"] in not_judged:
                row.update(verdict=LEFT_TO_FULL_RUN, reason=not_judged[c["id"]])
            else:
                judgements[len(rows)] = js
        rows.append(row)
    _add_stats(rows, judgements)
    return pd.DataFrame(rows, columns=COLUMNS)


def _add_stats(rows: list[dict], judgements: dict[int, list[Judgement]]) -> None:
    """p_value, p_fail, holm and replication of the judged rows (the family Holm corrects
    over: every claim this run judged); the other rows keep them blank."""
    idx = list(judgements)
    ps = [claim_stats.claim_p(judgements[i]) for i in idx]
    holm = claim_stats.holm_verdicts([p for p, _ in ps], [f for _, f in ps])
    for i, (p_pass, p_fail), h in zip(idx, ps, holm):
        v = rows[i]["verdict"]
        rows[i].update(p_value=p_fail if v == "FAIL" else p_pass, p_fail=p_fail, holm=h,
                       replication=claim_stats.replication(judgements[i], v))
        rows[i].update(zip(("effect", "effect_low", "effect_high"), effect(judgements[i])))


def effect(js: list[Judgement]) -> tuple[float, float, float]:
    """The claim's effect size in its metric's units: by how much the estimate clears the
    claim's threshold (positive: on the claim's side), with the 90% interval moved alike, so
    two runs' effects compare by sign and overlap. A band (within_rel, reproduces) counts the
    distance to its nearer edge. A claim of several checks holds only if all do: the check
    with the smallest effect is its effect."""
    def one(j: Judgement) -> tuple[float, float, float]:
        e, lo, hi = j.estimate, j.ci_low, j.ci_high
        if j.rule in (">", "≥"):
            (t,) = j.limits[:1]
            return e - t, lo - t, hi - t
        if j.rule == "≤":
            (t,) = j.limits[:1]
            return t - e, t - hi, t - lo
        if j.rule == "band":
            a, b = j.limits[:2]
            return min(e - a, b - e), min(lo - a, b - hi), min(hi - a, b - lo)
        return (float("nan"),) * 3
    return min((one(j) for j in js), key=lambda x: (x[0] != x[0], x[0]))
