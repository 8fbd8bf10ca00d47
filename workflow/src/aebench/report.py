"""The report's front page: did the lecture hold up? The claims table with coloured verdicts
and the experiments in lecture order, as HTML for the workflow description (workflow.rst).

Read with the csv module (no pandas): the Snakefile builds it on every start, so that
``snakemake --report`` after a run finds it; before the first gather it says so.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

COLOURS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "INCONCLUSIVE": "#9a6700"}
SHOWN = ["id", "claim", "ours", "difference", "tolerance", "verdict", "reason"]


def _verdict(v: str) -> str:
    colour = COLOURS.get(v, "#6e7781")  # grey: not judged in this run
    return f'<b style="color:{colour}">{html.escape(v)}</b>'


def claims_table(path: Path) -> str:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    counts = {}
    for r in rows:
        key = r["verdict"] if r["verdict"] in COLOURS else "not judged"
        counts[key] = counts.get(key, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    head = "".join(f"<th>{c}</th>" for c in SHOWN)
    body = "".join(
        "<tr>" + "".join(f"<td>{_verdict(r[c]) if c == 'verdict' else html.escape(r.get(c) or '')}</td>"
                         for c in SHOWN) + "</tr>"
        for r in rows)
    return (f"<p><b>Claims:</b> {html.escape(summary)} (PASS: holds with 95% confidence; FAIL: "
            f"its opposite does; INCONCLUSIVE: neither, with the reason)</p>"
            f'<table class="table table-sm"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def front_page(claims_csv: str | Path, experiments: list[tuple[str, str]]) -> str:
    """``experiments``: (report category, lecture slides) in lecture order."""
    items = "".join(f"<li><b>{html.escape(c)}</b> ({html.escape(s)})</li>" for c, s in experiments)
    claims = (claims_table(Path(claims_csv)) if Path(claims_csv).is_file()
              else "<p>No claims table yet: it appears here once the run's gather step is done.</p>")
    return f"{claims}<p><b>Experiments, in lecture order:</b></p><ul>{items}</ul>"
