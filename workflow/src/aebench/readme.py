"""Write the pipeline's claims table into README.md (between the results markers).

    python -m aebench.readme results/tables/claims.csv README.md --note "how it was run"

The numbers are copied from the gather step's output, never typed; the note records the
preset, seeds and machine that produced them.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd

START, END = "<!-- results:start -->", "<!-- results:end -->"


def render(claims: pd.DataFrame, note: str) -> str:
    cols = ["id", "claim", "anchor", "ours", "tolerance", "verdict"]
    return f"{START}\n{note}\n\n{claims[cols].to_markdown(index=False)}\n{END}"


def update(readme: Path, block: str) -> str:
    text = readme.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme}: no {START} ... {END} block to replace")
    return pattern.sub(lambda _: block, text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("claims", type=Path)
    ap.add_argument("readme", type=Path)
    ap.add_argument("--note", required=True, help="how the numbers were produced")
    a = ap.parse_args(argv)
    a.readme.write_text(update(a.readme, render(pd.read_csv(a.claims), a.note)))


if __name__ == "__main__":
    main()
