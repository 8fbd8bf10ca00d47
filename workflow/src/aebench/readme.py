"""Write the pipeline's claims table into README.md (between the results markers).

    python -m aebench.readme README.md results/tables/claims.csv --note "how it was run"

The numbers are copied from the gather step's output, never typed; the note records the
preset, seeds and machine that produced them. Several runs (e.g. one per experiment, when
the full default does not fit one session) give one table each: repeat the claims file and
its ``--note`` in the same order. A run's claims for experiments it did not run are left out.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

from .claims import NOT_JUDGED

START, END = "<!-- results:start -->", "<!-- results:end -->"


COLUMNS = ["id", "claim", "anchor", "ours", "difference", "tolerance", "verdict", "reason"]


def render(runs: list[tuple[pd.DataFrame, str]]) -> str:
    """One note + table per run, keeping only the claims that run measured."""
    parts = []
    for claims, note in runs:
        measured = claims[~claims["verdict"].astype(str).str.startswith(NOT_JUDGED)]
        parts.append(f"{note}\n\n{measured[[c for c in COLUMNS if c in measured]].to_markdown(index=False)}")
    return f"{START}\n" + "\n\n".join(parts) + f"\n{END}"


def update(readme: Path, block: str) -> str:
    text = readme.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme}: no {START} ... {END} block to replace")
    return pattern.sub(lambda _: block, text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("readme", type=Path)
    ap.add_argument("claims", type=Path, nargs="+", help="claims.csv of one or more runs")
    ap.add_argument("--note", action="append", required=True,
                    help="how the numbers were produced: one per claims file, same order")
    a = ap.parse_args(argv)
    if len(a.note) != len(a.claims):
        ap.error(f"{len(a.claims)} claims file(s) but {len(a.note)} --note(s): give one note "
                 "per claims file, in the same order")
    runs = [(pd.read_csv(c), n) for c, n in zip(a.claims, a.note)]
    a.readme.write_text(update(a.readme, render(runs)))


if __name__ == "__main__":
    main()
