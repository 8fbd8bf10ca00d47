"""The jobs of a run, as Snakemake itself plans them: ``snakemake --dry-run --forceall`` on
the run's Snakefile and config, read job by job (its rule, wildcards, output, log, benchmark,
threads and input). Nothing here knows the DAG's shape: each experiment's jobs are the jobs
its step depends on, followed through the inputs Snakemake lists."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import config as aeconfig
from .. import paths

# The checkout this package belongs to: its Snakefile plans a run directory that has none.
CHECKOUT = Path(__file__).resolve().parents[4]
# Snakemake's rule -> what a job of it is called (its name in status and in jobs.csv, which
# publications of the same run on other machines match by name) and its trade (jobs.csv's
# `rule` column; what times it when no finished job of its model says, unless a fit's kind
# does). The restore rules never appear: the plan is read without restore_from (dry_run).
NAMES = {
    "prepare_data": ("data", lambda w: f"data {w['dataset']} seed{w['seed']}"),  # one a seed
    "fit": ("fit", lambda w: f"fit {w['model']} seed{w['seed']}"),
    "evaluate": ("evaluate", lambda w: f"eval {w['experiment']} {w['model']} seed{w['seed']}"),
    "experiment": ("experiment", lambda w: w["experiment"]),
    "gather": ("gather", lambda w: "gather"),
}
TARGETS = ("all",)  # rules with no output of their own


@dataclass
class Job:
    name: str  # "data digits seed0", "fit ae30 seed0", "eval e8 e6_dbn seed1", "e1", "gather"
    kind: str  # what estimates it when its model has no finished seed: the model's kind or the rule
    model: str | None
    output: str  # the job's first output, as Snakemake lists it (a fit's is its run directory)
    outputs: list[str] = field(default_factory=list)  # all of them: what later jobs name as input
    log: str | None = None
    bench: str | None = None
    threads: int = 1
    rule: str = ""  # data | fit | evaluate | experiment | gather (jobs.csv's column)
    seed: int | None = None
    wildcards: dict = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    state: str = "to do"  # done | running | interrupted | failed | to do
    seconds: float | None = None  # done: the benchmark's wall time
    progress: dict | None = None  # a fit's last per-epoch record (aebench.paths.progress)
    elapsed: float | None = None
    age: float | None = None  # seconds since the job last wrote its log or progress
    left: float | None = None  # estimated seconds still to run
    basis: str | None = None  # model | kind | median
    marked: bool = False  # its output exists and Snakemake marks it incomplete

    # the file a job writes last (Snakemake creates a directory output before the job runs)
    done_file = property(lambda self: f"{self.output}/run.json" if self.model else
                         f"{self.output}/values.json" if self.kind == "evaluate" else self.output)


def load_config(directory=".", configfiles=(), overrides=()) -> aeconfig.Config:
    """The config snakemake would build in ``directory``: its config.yaml, then each
    ``--configfile`` (found there or here), then ``--config key=value``, merged as Snakemake does."""
    from snakemake.utils import update_config

    config: dict = {}
    here = Path(directory)
    files = [here / "config.yaml"] if (here / "config.yaml").exists() else []
    files += [here / f if (here / f).exists() else Path(f) for f in configfiles]
    for f in files:
        update_config(config, yaml.safe_load(f.read_text()) or {})
    if overrides:
        from snakemake.cli import parse_config

        update_config(config, aeconfig.from_command_line(parse_config(list(overrides))))
    cfg = aeconfig.load(config)
    paths.judge(cfg.settings.judge_split)  # a val-judged run's files are under results/val/
    return cfg


def dry_run(directory, cfg: aeconfig.Config, cores: int | None = None) -> str:
    """Snakemake's plan of every job of the run in ``directory`` with ``cfg`` (its Snakefile,
    else this checkout's), done or not. ``restore_from`` is left out: a run resumed elsewhere
    is the same run, and the jobs it copies back keep their names and published records."""
    directory = Path(directory).resolve()
    snakefile = directory / "Snakefile" if (directory / "Snakefile").exists() else CHECKOUT / "Snakefile"
    raw = {k: v for k, v in cfg.raw.items() if not k.startswith("_")} | {"restore_from": None}
    # Where data and GPUs come from changes no job, and the checks of them before a run
    # (aebench.preflight) are about the run's machine and directory, not this empty one: a
    # relative data_mirror, downloads off or `device: cuda` on a login node would fail them.
    raw |= {"data_mirror": None, "allow_download": True, "device": "auto"}
    # Planned in an empty directory, so asking never writes into the run (nor meets its lock):
    # with --forceall what exists there does not matter. The parsed config is that
    # directory's config.yaml, which the Snakefile reads, so Snakemake plans with exactly it.
    with tempfile.TemporaryDirectory(prefix="aebench-plan-") as scratch:
        (Path(scratch) / "config.yaml").write_text(yaml.safe_dump(raw))
        r = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "--forceall", "--nocolor",
                            "--snakefile", str(snakefile), "--directory", scratch,
                            "--cores", str(cores or 1024)], capture_output=True, text=True)
    if r.returncode != 0:
        raise aeconfig.ConfigError(f"snakemake --dry-run of {snakefile} failed, so the run's jobs "
                                   f"are unknown:\n{(r.stderr or r.stdout)[-2000:]}")
    return r.stdout + "\n" + r.stderr


def parse_dry_run(text: str) -> list[dict]:
    """Each job block of a dry run ("rule NAME:" and its indented "key: value" lines)."""
    blocks, block = [], None
    for line in text.splitlines():
        if line.startswith(("rule ", "localrule ")) and line.endswith(":"):
            block = {"rule": line.split(None, 1)[1][:-1]}
            blocks.append(block)
        elif block is not None and line.startswith("    ") and ": " in line:
            key, value = line.strip().split(": ", 1)
            block[key] = value
        else:
            block = None
    return blocks


def dag(directory, cfg: aeconfig.Config, cores: int | None = None
        ) -> tuple[dict[str, Job], dict[str, list[str]]]:
    """Every job of the run by name, and each enabled experiment's jobs (the data, the fits
    and evaluations its step depends on, and the step), as Snakemake plans them."""
    return from_blocks(parse_dry_run(dry_run(directory, cfg, cores)), cfg)


def from_blocks(blocks: list[dict], cfg: aeconfig.Config
                ) -> tuple[dict[str, Job], dict[str, list[str]]]:
    jobs: dict[str, Job] = {}
    for b in blocks:
        if b["rule"] in TARGETS:
            continue
        if b["rule"] not in NAMES:
            raise aeconfig.ConfigError(f"snakemake plans a job of rule {b['rule']}, which "
                                       "aebench.runctl.jobs.NAMES does not name: add it there")
        wc = dict(kv.split("=", 1) for kv in b.get("wildcards", "").split(", ") if "=" in kv)
        rule, name = NAMES[b["rule"]][0], NAMES[b["rule"]][1](wc)
        model = seed = None
        if rule == "fit":
            model, seed = wc["model"], int(wc["seed"])
        outputs = b["output"].split(", ")
        jobs[name] = Job(name=name, kind=cfg.models[model].kind if model else rule, model=model,
                         output=outputs[0], outputs=outputs, log=b.get("log"), bench=b.get("benchmark"),
                         threads=int(b.get("threads", 1)), rule=rule, seed=seed, wildcards=wc,
                         inputs=b.get("input", "").split(", ") if b.get("input") else [])
    producer = {o: j.name for j in jobs.values() for o in j.outputs}
    order = {r: i for i, r in enumerate(("data", "fit", "evaluate", "experiment", "gather"))}
    models = {m: i for i, m in enumerate(cfg.models)}
    key = (lambda n: (order[jobs[n].rule], models.get(jobs[n].model, -1), jobs[n].seed or 0, n))
    jobs = {n: jobs[n] for n in sorted(jobs, key=key)}

    def needs(name: str, seen: set) -> set:
        for i in jobs[name].inputs:
            if i in producer and producer[i] not in seen:
                seen.add(producer[i])
                needs(producer[i], seen)
        return seen

    per_exp = {e: sorted(needs(e, {e}), key=key) for e in cfg.enabled if e in jobs}
    return jobs, per_exp
