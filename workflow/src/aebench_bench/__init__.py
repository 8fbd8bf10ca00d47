"""Benchmarks: what the pipeline costs, measured side by side and printed with its targets.

    python -m aebench_bench --mirror ../shared/data            # everything (about 30 min on 2 cores)
    python -m aebench_bench --parts throughput --epochs 3      # one part

Parts: ``throughput`` (our training core vs a bare PyTorch loop vs pythae), ``pipeline`` (the
quick preset from prepared data, per-rule time and peak memory, no-op re-run, what a config
change re-runs), ``retrieval`` (peak memory of the 10k x 60k ranking), ``published`` (a
published run's FLOP, its time at the sgemm peak and its measured time). Each part returns
:class:`Row` s: a figure, its target and whether it holds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    part: str
    measure: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no target, reported only

    def cells(self) -> list[str]:
        verdict = "" if self.ok is None else ("PASS" if self.ok else "FAIL")
        return [self.part, self.measure, f"{self.value:.4g} {self.unit}".strip(), self.target, verdict]


def markdown(rows: list[Row]) -> str:
    head = ["part", "measure", "value", "target", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines) + "\n"
