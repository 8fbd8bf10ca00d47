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
STYLE = 'style="font-size: 0.8em; line-height: 1.2"'


def _verdict(v: str) -> str:
    colour = COLOURS.get(v, "#6e7781")  # grey: not judged in this run
    return f'<b style="color:{colour}">{html.escape(v)}</b>'


def claims_table(path: Path) -> str:
    """A compact table (the Claims category holds the full one): the claim's wording on hover,
    the verdict, and the judged quantity (the paired difference, or the value); for a claims
    table with them (issue 38), its p, Holm verdict and replication."""
    from ..claim_stats import LEGEND, p_text, replication_text

    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows, stats = list(reader), "p_value" in (reader.fieldnames or [])
    counts = {}
    for r in rows:
        key = r["verdict"] if r["verdict"] in COLOURS else "not judged"
        counts[key] = counts.get(key, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    body = "\n".join(  # one row a line: docutils refuses lines over 10,000 characters
        f'<tr><td><span title="{html.escape(r["claim"])}">{html.escape(r["id"])}</span></td>'
        f"<td>{_verdict(r['verdict'])}</td>"
        f"<td>{html.escape(r.get('difference') or r.get('ours') or '')}</td>"
        + (f"<td>{html.escape(p_text(r['p_value']))}</td>"
           f"<td>{_verdict(r['holm']) if r['holm'] else ''}</td>"
           f"<td>{html.escape(replication_text(r['replication']))}</td>" if stats else "")
        + "</tr>"
        for r in rows)
    return (f"<p><b>Did the lecture hold up? Claims: {html.escape(summary)}</b> (PASS: holds "
            f"with 95% confidence; FAIL: its opposite does; INCONCLUSIVE: neither). Hover over "
            f"a claim for its wording; the Claims entry has the full table.</p>\n"
            # scrolls inside the page: the landing page centres its content vertically, so a
            # taller table would push the summary above the first screen
            f'<div style="max-height: 60vh; overflow-y: auto"><table {STYLE}><thead><tr>'
            f"<th>claim</th><th>verdict</th><th>paired difference [90% CI], or value</th>"
            + ("<th>p</th><th>Holm</th><th>replication</th>" if stats else "")
            + f"</tr></thead><tbody>\n{body}\n</tbody></table></div>"
            + (f"<p {STYLE}>{html.escape(LEGEND)}</p>" if stats else ""))


def front_page(claims_csv: str | Path, experiments: list[tuple[str, str]]) -> str:
    """``experiments``: (report category, lecture slides) in lecture order."""
    items = " · ".join(f"{html.escape(c)} ({html.escape(s)})" for c, s in experiments)
    claims = (claims_table(Path(claims_csv)) if Path(claims_csv).is_file()
              else "<p>No claims table yet: it appears here once the run's gather step is done.</p>")
    return f"{claims}\n<p {STYLE}><b>Experiments, in lecture order:</b> {items}</p>"
