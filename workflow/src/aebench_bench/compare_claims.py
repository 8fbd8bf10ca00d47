"""Two runs' claims side by side: each claim's verdict and effect (its ``difference`` column, or
what the run measured where a claim has no difference) in run A and in run B, and whether the
verdict is the same. What docs/benchmark.md shows for ``precision: bf16`` against fp32.

    python -m aebench_bench.compare_claims A/results/tables/claims.csv B/results/tables/claims.csv \\
        --names fp32 bf16
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def compare(a: Path, b: Path, names=("A", "B")) -> pd.DataFrame:
    """One row per claim of either run (a claim only one has shows "-" for the other)."""
    def effect(df: pd.DataFrame) -> pd.Series:
        return df["difference"].fillna(df["ours"]).astype(str)

    ca, cb = (pd.read_csv(p).set_index("id") for p in (a, b))
    out = pd.DataFrame(index=ca.index.union(cb.index, sort=False))
    for name, c in zip(names, (ca, cb)):
        out[f"{name} verdict"] = c["verdict"]
        out[f"{name} effect"] = effect(c)
    out = out.fillna("-")
    out["same verdict"] = out[f"{names[0]} verdict"] == out[f"{names[1]} verdict"]
    return out.rename_axis("claim").reset_index()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m aebench_bench.compare_claims",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--names", nargs=2, default=("A", "B"))
    args = ap.parse_args(argv)
    for p in (args.a, args.b):
        if not p.is_file():
            ap.error(f"no claims table at {p}: give a run's results/tables/claims.csv")
    table = compare(args.a, args.b, tuple(args.names))
    print(table.to_markdown(index=False))
    same = int(table["same verdict"].sum())
    print(f"\n{same} of {len(table)} claims have the same verdict in {args.names[0]} and "
          f"{args.names[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
