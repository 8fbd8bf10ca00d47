"""Where everything lives under results/: the one path vocabulary of the rules and the package.

Rules call these with wildcard placeholders (``paths.run("{model}", "{seed}")``); the
package calls them with values. Checkpoints sit outside every job's declared outputs, so a
re-run after an interruption finds them (Snakemake removes a failed job's outputs).
"""

from __future__ import annotations

import os

# Which split a run judges (config `judge_split`): "test", or "val" for a development run.
# A val-judged run keeps all it writes under results/val/, so its runs, evaluations and claims
# table neither share a cache with a test run's nor can be mistaken for one. The workflow sets
# this variable (common.smk), so its jobs' scripts agree with it; judge() sets it in-process.
JUDGE_SPLIT_ENV = "AEBENCH_JUDGE_SPLIT"


def _root(split: str) -> str:
    if split not in ("test", "val"):
        raise ValueError(f"{JUDGE_SPLIT_ENV}={split!r}: judge_split is 'test' or 'val'")
    return "results" if split == "test" else "results/val"


JUDGE_SPLIT = os.environ.get(JUDGE_SPLIT_ENV, "test")
RESULTS = _root(JUDGE_SPLIT)


def judge(split: str) -> None:
    """Point every path at the results of a run judged on ``split`` (and its jobs, through
    the environment they inherit)."""
    global JUDGE_SPLIT, RESULTS, CLAIMS, CLAIMS_MD, SUMMARY, LEARNING_CURVES
    RESULTS = _root(split)
    JUDGE_SPLIT = split
    os.environ[JUDGE_SPLIT_ENV] = split
    CLAIMS, CLAIMS_MD, SUMMARY, LEARNING_CURVES = _tables()


def data(dataset: str, seed) -> str:
    """One dataset as the run seed ``seed`` sees it: its own subsets and validation split."""
    return f"{RESULTS}/data/{dataset}/seed{seed}.npz"


def manifest(dataset: str, seed) -> str:
    return f"{RESULTS}/data/{dataset}/seed{seed}.json"


def raw_root() -> str:
    """The original files, shared by test- and val-judged runs (they are the same files)."""
    return "results/data/raw"


def run(model: str, seed) -> str:
    """One fitted model with one seed: run.json, metrics.json, history.csv, the model file
    and, for encoders, codes.npz."""
    return f"{RESULTS}/runs/{model}/seed{seed}"


def checkpoint(model: str, seed) -> str:
    """A fit's checkpoints while it trains (aebench.checkpoint): resumed from when the job is
    run again after an interruption, removed once the run directory is written."""
    return f"{RESULTS}/checkpoints/{model}/seed{seed}"


def attempts(model: str, seed) -> str:
    """Time and memory of each attempt at a fit (aebench.runctl.ledger): a job resumed from its
    checkpoint costs the sum of its attempts, while its benchmark file holds the last one."""
    return f"{RESULTS}/benchmarks/attempts/{model}/seed{seed}"


def progress(model: str, seed) -> str:
    """A fit's per-epoch progress while it trains: one JSON object a line (time, stage,
    stage_index, stages, epoch, epochs, seconds and the epoch's losses), appended by every
    training loop and read by ``aebench.runctl.survey``. Outside the job's outputs, like checkpoints."""
    return f"{RESULTS}/progress/{model}/seed{seed}.jsonl"


def peak() -> str:
    """The machine's cached fp32 sgemm peak, one JSON file per CPU (or GPU) model and thread
    count (aebench.peak): measured before a run's first job (onstart), read by its fits. No
    job's output: deleting it re-runs no fit."""
    return f"{RESULTS}/benchmarks/peak"


def experiment(exp: str) -> str:
    return f"{RESULTS}/{exp}"


def metrics(exp: str) -> str:
    return f"{experiment(exp)}/metrics.csv"


def table(exp: str, ext: str = "csv") -> str:
    return f"{experiment(exp)}/table.{ext}"


def figures(exp: str) -> str:
    return f"{experiment(exp)}/figures"


def log(*parts: str) -> str:
    return f"{RESULTS}/logs/{'/'.join(parts)}.log"


def benchmark(*parts: str) -> str:
    return f"{RESULTS}/benchmarks/{'/'.join(parts)}.tsv"


def _tables() -> tuple[str, str, str, str]:
    return (f"{RESULTS}/tables/claims.csv", f"{RESULTS}/tables/claims.md",
            f"{RESULTS}/tables/summary.csv", f"{RESULTS}/figures/learning_curves.png")


CLAIMS, CLAIMS_MD, SUMMARY, LEARNING_CURVES = _tables()


def evaluation(exp: str, model: str, seed) -> str:
    """One experiment's measurements of one run (rule evaluate): values.json, arrays.npz."""
    return f"{RESULTS}/evals/{exp}/{model}/seed{seed}"
