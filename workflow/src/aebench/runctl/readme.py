"""Write README's answer, docs/results.md and the presets' times from published runs.

    python -m aebench.readme README.md results/published/NAME [--quick results/published/QUICK]
        [--smoke results/published/SMOKE] [--results docs/results.md]

Everything written is read from the runs' published files (:mod:`.publish`), never typed.
docs/results.md (``--results``, by default beside README under docs/) is generated whole: a
note from the run's manifest (seeds, commit, machine, dates, CPU-hours), the claims table,
each experiment's key figure (the first it declares), each experiment's cost and, with
``--quick``, whether the quick preset reaches the same verdicts. README gets a short summary
between its results markers: the verdict counts, the claims that did not PASS, a few key
figures and links to the run's report and to docs/results.md. A run still in progress shows
the claims of its finished experiments, judged as the gather step would. Between README's
presets markers goes each given run's measured time: its busy hours on its machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
from pathlib import Path

import pandas as pd

from .. import claim_stats
from .. import claims as claims_mod
from ..claims import LEFT_TO_FULL_RUN as LEFT
from ..claims import NOT_JUDGED
from ..experiments import EXPERIMENTS
from .provenance import git

START, END = "<!-- results:start -->", "<!-- results:end -->"
PRESETS_START, PRESETS_END = "<!-- presets:start -->", "<!-- presets:end -->"
COLUMNS = ["id", "claim", "anchor", "ours", "difference", "tolerance", "verdict", "reason"]
VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")
ROOT = Path(__file__).resolve().parents[4]
RESULTS_DOC = Path("docs") / "results.md"  # beside README, unless --results names another
KEY_FIGURES = ("e1", "e3", "e6")  # README's key figures: reconstruction, 2-D codes, pre-training


def load_claims(pub: Path, manifest: dict) -> pd.DataFrame:
    """The run's claims table; for a run in progress, its finished experiments' claims judged
    from their published metrics (aebench.claims, as gather does), the rest pending."""
    if (pub / "tables/claims.csv").exists():
        return pd.read_csv(pub / "tables/claims.csv")
    done = [e for e, s in manifest["experiments"].items() if s["complete"]]
    if not done:
        return pd.DataFrame(columns=COLUMNS)
    long = pd.concat([pd.read_csv(pub / e / "metrics.csv") for e in done], ignore_index=True)
    mine = [c for c in claims_mod.load(claims_mod.files()) if c["experiment"] in done]
    return claims_mod.evaluate(mine, long, manifest.get("full_data") or {},
                               claims_mod.not_judged_of(manifest.get("config") or {}))


def judged(claims: pd.DataFrame) -> pd.DataFrame:
    return claims[~claims["verdict"].astype(str).str.startswith(NOT_JUDGED)]


def claims_table(claims: pd.DataFrame) -> str:
    """The judged claims as Markdown. A claims.csv with the statistics columns (runs gathered
    since issue 38) adds p, the Holm verdict and the replication, short, and a legend; an
    older one is shown as it always was."""
    t = claims[[c for c in COLUMNS if c in claims]]
    if "p_value" not in claims:
        return t.to_markdown(index=False)
    t = t.assign(p=claims["p_value"].map(claim_stats.p_text),
                 Holm=claims["holm"].fillna("").astype(str),
                 replication=claims["replication"].map(claim_stats.replication_text))
    return t.to_markdown(index=False) + "\n\n" + claim_stats.LEGEND


def note(m: dict) -> str:
    mach = m["machine"]
    state = (f"complete, {m['start']} to {m['end']}" if m["complete"] else
             f"in progress since {m['start']}: {m['jobs_done']}/{m['jobs_total']} jobs done, "
             f"about {m['estimated_hours_left']} h left")
    data = ", ".join(f"{d}: {'full' if f else 'subset'}" for d, f in m.get("full_data", {}).items())
    changed = m.get("training_code_changed_since")
    commits = m.get("commits") or ([m["commit"]] if m.get("commit") else ["(not a git checkout)"])
    return (f"Run `{m['name']}` ({state}). Seeds {', '.join(map(str, m['seeds']))}; "
            f"commit{'s' if len(commits) > 1 else ''} {', '.join(f'`{c[:10] if len(c) == 40 else c}`' for c in commits)}; config hash `{m['config_hash']}`; data {data or 'n/a'}; "
            f"{ran_on(m)}, {mach['cores']} cores, {mach['memory_gib']} GiB, "
            f"torch {mach['torch']}; {m['cpu_hours']} CPU-hours{'' if m['complete'] else ' so far'}."
            + (f" Training code changed since the run's first commit: {', '.join(changed)}."
               if changed else " No training code has changed since the run's first commit.")
            + data_checked(m))


def data_checked(m: dict) -> str:
    """What the manifest's data checks say: each dataset prepared again (later commit, other
    machine) is byte-identical to the one the run first published, or is not."""
    checks = m.get("data_checks") or {}
    same = [f"{d} (at `{c['commit'][:10]}` on {c['cpu']})" for d, c in checks.items() if c["same"]]
    differ = [d for d, c in checks.items() if not c["same"]]
    return ((f" Data prepared again byte-identical to the first: {', '.join(same)}." if same else "")
            + (f" Data prepared again DIFFER from the first: {', '.join(differ)}." if differ else ""))


def ran_on(m: dict) -> str:
    """The CPU(s) the run's finished jobs ran on; a run resumed on other machines names which
    experiments ran where (float results are reproducible on one kind of CPU only)."""
    where: dict[str, list[str]] = {}
    for e, s in m["experiments"].items():
        if s.get("cpus") or ("cpus" not in s and s.get("jobs_done")):  # older manifests: the machine
            where.setdefault(s.get("cpus") or m["machine"]["cpu"], []).append(e)
    if len(where) <= 1:
        return next(iter(where), m["machine"]["cpu"])
    return "ran on " + "; ".join(f"{c.replace('; ', ' and ')} ({', '.join(es)})" for c, es in where.items())


def published_figure(pub: Path, e: str) -> str | None:
    """The first figure experiment ``e`` declares that the run published (an older run may
    predate a figure), or None."""
    exp = EXPERIMENTS.get(e)
    return next((n for n in (exp.figures if exp else []) if (pub / e / "figures" / n).exists()), None)


def figures(pub: Path, m: dict, readme_dir: Path, only=None) -> str:
    """Each finished experiment's key figure (the first it declares), linked from readme_dir;
    ``only``: these experiments alone."""
    rows = []
    for e, s in m["experiments"].items():
        exp = EXPERIMENTS.get(e)
        if not (s["complete"] and exp and exp.figures) or (only is not None and e not in only):
            continue
        name = published_figure(pub, e)
        if name is not None:
            rel = os.path.relpath(pub / e / "figures" / name, readme_dir)
            rows.append(f"**{exp.category.replace(chr(0x2007), '')}** ({exp.lecture})\n\n"
                        f"![{e} {name}]({rel})")
    return "\n\n".join(rows)


def costs(pub: Path) -> str:
    c = pd.read_csv(pub / "costs.csv")
    t = pd.DataFrame({"experiment": c["experiment"], "jobs done": [f"{d}/{n}" for d, n in zip(c["done"], c["jobs"])],
                      "CPU-hours": c["cpu_hours"], "wall hours": c["wall_hours"],
                      "peak RSS (GB)": (c["peak_rss_mb"] / 1024).round(2),
                      **work_columns(c),
                      **({"CPU": c["cpu"].fillna("")} if "cpu" in c else {})})
    note = ("; TFLOP are the fits' weight-matrix work, and fraction of peak their time at the "
            "machine's fp32 sgemm peak over their measured training-loop time (below 1: other "
            "work beside the run, or time outside the layers' arithmetic)"
            if work_columns(c) else "")
    return (t.to_markdown(index=False) + "\n\nA job two experiments share (E6's stacks, read by "
            "E8) is charged to the first in lecture order; peak RSS is over all the jobs an "
            f"experiment needs; wall hours are the jobs' own times, summed{note}.")


def work_columns(c: pd.DataFrame) -> dict:
    """TFLOP and fraction of peak, for a run whose fits recorded them (none before)."""
    if "fraction_of_peak" not in c or c["fraction_of_peak"].isna().all():
        return {}
    def shown(col: pd.Series, digits: int) -> pd.Series:  # blank where an experiment has none
        return col.round(digits).map(lambda x: "" if pd.isna(x) else f"{x:.{digits}f}")

    return {"TFLOP": shown(c["flop"] / 1e12, 1),
            "fraction of peak": shown(c["fraction_of_peak"], 2)}


def config_changes(m: dict, root: Path = ROOT) -> list[str]:
    """The config files that set what a run computes (config.yaml, its preset), when they
    changed in this checkout since the run's commit so that they compute something else: a
    run whose manifest hash is still the config's now is unchanged (a comment-only edit).
    The settings' defaults are code (aebench.settings), covered by the training-code check."""
    preset = m.get("preset")
    presets = [f"workflow/presets/{preset}.yaml"] if preset and preset != "default" else []
    changed = git(root, "diff", "--name-only", m["commit"], "--", "config.yaml", *presets).split()
    if changed and m.get("config_hash"):
        from .jobs import load_config
        from .provenance import config_hash

        if config_hash(load_config(root, presets).raw) == m["config_hash"]:
            return []
    return changed


def stale(m: dict) -> str:
    changed = config_changes(m)
    return (f" Its config has changed since (in {', '.join(changed)}): these verdicts are the "
            "older config's until the preset is run and published again." if changed else "")


def effect_cell(r: pd.Series, missing: str = "not recorded") -> tuple[str, float, float, float]:
    """A claims row's effect (:func:`aebench.claims.effect`) as a cell, ``missing`` where the
    row has none, and its three numbers."""
    if "effect" not in r or pd.isna(r.get("effect")):
        return missing, math.nan, math.nan, math.nan
    e, lo, hi = (float(r[k]) for k in ("effect", "effect_low", "effect_high"))
    iv = "" if math.isnan(lo) else f" [{lo:.3g}, {hi:.3g}]"
    return f"{e:.3g}{iv}", e, lo, hi


def both_judged(f: pd.DataFrame, q: pd.DataFrame) -> list[str]:
    """The claim ids (index of both claims tables) that both runs gave a verdict, in f's order."""
    return [i for i in f.index
            if f.verdict[i] in VERDICTS and i in q.index and q.verdict[i] in VERDICTS]


def agreement(full: pd.DataFrame, quick: pd.DataFrame) -> str:
    """Per claim, the full run's verdict and effect beside the quick preset's, with whether the
    effects have the same sign and whether their 90% intervals overlap; agreement counted over
    the claims both judge (a claim against a full-data anchor is n/a on a subset). Effects are
    in the metric's units, positive on the claim's side (aebench.claims.effect); the two runs'
    data sizes differ, so a shared sign is the comparison, not equal sizes."""
    f, q = full.set_index("id"), quick.set_index("id")
    rows = []
    for i in both_judged(f, q):
        (fc, fe, flo, fhi), (qc, qe, qlo, qhi) = effect_cell(f.loc[i]), effect_cell(q.loc[i])
        known = not (math.isnan(fe) or math.isnan(qe))
        overlap = not (math.isnan(flo) or math.isnan(qlo)) and flo <= qhi and qlo <= fhi
        rows.append({"claim": i, "full": f.verdict[i], "quick": q.verdict[i],
                     "same verdict": "yes" if f.verdict[i] == q.verdict[i] else "no",
                     "full effect": fc, "quick effect": qc,
                     "same sign": ("yes" if (fe > 0) == (qe > 0) else "no") if known else "",
                     "intervals overlap": ("yes" if overlap else "no") if known else ""})
    t = pd.DataFrame(rows, columns=["claim", "full", "quick", "same verdict", "full effect",
                                    "quick effect", "same sign", "intervals overlap"])
    n, same = len(t), int((t["same verdict"] == "yes").sum())
    signed = t[t["same sign"] != ""]
    text = (f"The quick preset gives the full run's verdict on {same} of the {n} claims both "
            "judge" + (f"; its effect has the full run's sign on "
                       f"{int((signed['same sign'] == 'yes').sum())} of the {len(signed)} claims "
                       "where both runs recorded one" if len(signed) else
                       " (the full run predates recorded effect sizes)")
            + ". Effect: by how much the estimate clears the claim's threshold, in the metric's "
            "units, positive on the claim's side, with its 90% interval. Each disagreement is a "
            "finding, not a reason to drop the claim.\n\n" + t.to_markdown(index=False))
    # claims the preset leaves to the full run (experiments.<e>.not_judged), with its reasons
    left = quick[quick["verdict"].astype(str).str.startswith(LEFT)]
    if len(left):
        text += (f"\n\nThe quick preset leaves {len(left)} claim(s) to the full run, with the "
                 "reason the preset gives:\n\n"
                 + "\n".join(f"- {r.id}: {r.reason}" for r in left.itertuples()))
    return text


def not_judged(every: pd.DataFrame, claims: pd.DataFrame) -> str:
    """The claims of ``every`` that ``claims`` (its judged rows) leaves out, counted by their
    verdict cell ("3 n/a (needs at least 3 seeds)"; e.g. fewer than 3 seeds, or an anchor for
    the full data on a subset); "" when every claim is judged."""
    skipped = every["verdict"][~every.index.isin(claims.index)].value_counts()
    return "; ".join(f"{n} {v}" for v, n in skipped.items())


def render(pub: Path, readme_dir: Path, quick: Path | None = None) -> str:
    m = json.loads((pub / "manifest.json").read_text())
    every = load_claims(pub, m)
    claims = judged(every)
    table = (claims_table(claims) if len(claims)
             else "No claim judged." if len(every) else "No experiment has finished yet.")
    if skipped := not_judged(every, claims):
        table += f"\n\nClaims not judged: {skipped}."
    parts = [note(m) + stale(m), table,
             "#### Key figures", figures(pub, m, readme_dir) or "None yet.",
             "#### What reproducing the lecture costs", costs(pub)]
    if quick is not None:
        qm = json.loads((quick / "manifest.json").read_text())
        parts += ["#### Quick preset against the full run", f"Quick: {note(qm)}{stale(qm)}",
                  agreement(load_claims(pub, m), load_claims(quick, qm))]
    return f"{START}\n" + "\n\n".join(parts) + f"\n{END}"


def key_figures(pub: Path, m: dict, readme_dir: Path) -> list[tuple[str, str]]:
    """README's few figures, side by side: (title, image link) for each of KEY_FIGURES the run
    published (the first figure its experiment declares that the run has)."""
    out = []
    for e in KEY_FIGURES:
        exp, s = EXPERIMENTS.get(e), m["experiments"].get(e) or {}
        name = published_figure(pub, e)
        if s.get("complete") and name:
            title = f"{e.upper()} {exp.category.replace(chr(0x2007), '').split(' ', 1)[-1]}"
            out.append((title, f"![{title}]({os.path.relpath(pub / e / 'figures' / name, readme_dir)})"))
    return out


def counts(claims: pd.DataFrame) -> str:
    """"34 PASS, 2 FAIL, 2 INCONCLUSIVE" for the judged claims (a verdict none has is left out)."""
    n = claims["verdict"].value_counts()
    return ", ".join(f"{int(n[v])} {v}" for v in VERDICTS if v in n) or "none judged"


def summary(pub: Path, readme_dir: Path, results_doc: Path, quick: Path | None = None) -> str:
    """README's short results block: the run's verdict counts, each claim that did not PASS
    with its verdict, a few key figures, and links to the run's report and the full page."""
    m = json.loads((pub / "manifest.json").read_text())
    every = load_claims(pub, m)
    claims = judged(every)
    rel = lambda p: os.path.relpath(p, readme_dir)  # noqa: E731
    state = "complete" if m["complete"] else f"in progress, {m['jobs_done']}/{m['jobs_total']} jobs"
    skipped = not_judged(every, claims)
    lines = [(f"**{counts(claims)}** of the {len(every)} claims" if len(claims) else
              f"**No verdict** on any of the {len(every)} claims")
             + f", in the run `{m['name']}` ({state}; {m.get('preset') or 'default'} preset, "
             f"seeds {', '.join(map(str, m['seeds']))}; {m['cpu_hours']} CPU-hours)."
             + (f" Not judged: {skipped}." if skipped else "")
             + (" Its seeds are development seeds (below 1000), not drawn confirmation seeds: "
                "it is not the protocol's confirmation run." if max(m["seeds"]) < 1000 else "")]
    rest = claims[claims["verdict"] != "PASS"]
    if len(rest):
        lines += ["", "Not PASS:", ""]
        lines += [f"- {r.verdict} `{r.id}`: {r.claim} ({r.reason})" for r in rest.itertuples()]
    if quick is not None:
        qm = json.loads((quick / "manifest.json").read_text())
        f, q = claims.set_index("id"), judged(load_claims(quick, qm)).set_index("id")
        both = both_judged(f, q)
        same = sum(f.verdict[i] == q.verdict[i] for i in both)
        lines += ["", f"The quick preset (run `{qm['name']}`, {_hours(qm.get('busy_hours') or 0.0)}) "
                  f"gives the same verdict on {same} of the {len(both)} claims both judge."]
    figs = key_figures(pub, m, readme_dir)
    if figs:
        lines += ["", "Key figures (" + "; ".join(t for t, _ in figs) + "):", "",
                  " ".join(link for _, link in figs)]
    report = pub / "report.html"
    links = ([f"the run's report, [{rel(report)}]({rel(report)}) (open it in a browser)"]
             if report.exists() else [])
    links.append(f"every claim with its numbers, the figures, costs and the quick run beside "
                 f"the full one: [{rel(results_doc)}]({rel(results_doc)})")
    lines += ["", "More: " + "; ".join(links) + "."]
    return f"{START}\n" + "\n".join(lines) + f"\n{END}"


def page(pub: Path, results_doc: Path, quick: Path | None = None) -> str:
    """docs/results.md, whole: a heading, where it comes from, and the full block."""
    return ("# Results, as measured\n\n"
            "Written by `python -m aebench.readme` from the published runs under "
            "`results/published/`, never typed: edit the code (aebench.runctl.readme), not "
            "this page. How a verdict is reached: [claims.md](claims.md).\n\n"
            "## The claims of the full run\n\n"
            + render(pub, results_doc.resolve().parent, quick).replace("\n#### ", "\n## ") + "\n")


def _hours(h: float) -> str:
    return f"{h * 60:.0f} min" if h < 1 else f"{h:.1f} h"


def presets(runs: list[Path]) -> str:
    """Each published run's measured time: its busy hours (Snakemake's sessions and jobs,
    pauses left out) on its machine and cores, beside its CPU-hours; a run in progress says so."""
    rows = []
    for d in runs:
        m = json.loads((d / "manifest.json").read_text())
        mach = m["machine"]
        state = "complete" if m["complete"] else f"{m['jobs_done']}/{m['jobs_total']} jobs so far"
        gpu = mach.get("gpu") or "no GPU"
        rows.append({"preset": m.get("preset", "?"), "run": f"`{m['name']}`", "state": state,
                     "machine": f"{m.get('cpus') or mach['cpu']}, {gpu}",
                     "cores": m.get("cores") or mach["cores"],
                     "time": _hours(m.get("busy_hours") or 0.0),
                     "CPU-hours": m["cpu_hours"]})
    return (f"{PRESETS_START}\n" + pd.DataFrame(rows).to_markdown(index=False)
            + "\n\nTime: how long Snakemake ran the preset, from the published run's records "
            "(a run paused between sessions counts only the time it ran; written by "
            f"`aebench.runctl.readme`).\n{PRESETS_END}")


def update(readme: Path, text: str, block: str, start: str = START, end: str = END) -> str:
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme}: no {start} ... {end} block to replace")
    return pattern.sub(lambda _: block, text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("readme", type=Path)
    ap.add_argument("published", type=Path, help="a published run: results/published/NAME")
    ap.add_argument("--quick", type=Path, help="a published quick-preset run to compare with")
    ap.add_argument("--smoke", type=Path, help="a published smoke-preset run (its time only)")
    ap.add_argument("--results", type=Path, help="the full results page, written whole "
                    f"(default: {RESULTS_DOC} beside README)")
    a = ap.parse_args(argv)
    runs = [d for d in (a.published, a.quick, a.smoke) if d is not None]
    for d in runs:
        if not (d / "manifest.json").exists():
            ap.error(f"{d}: no manifest.json; publish the run first (python -m aebench.publish)")
    doc = a.results or a.readme.parent / RESULTS_DOC
    text = update(a.readme, a.readme.read_text(),
                  summary(a.published, a.readme.resolve().parent, doc.resolve(), a.quick))
    text = update(a.readme, text, presets(runs), PRESETS_START, PRESETS_END)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(page(a.published, doc, a.quick))
    a.readme.write_text(text)


if __name__ == "__main__":
    main()
