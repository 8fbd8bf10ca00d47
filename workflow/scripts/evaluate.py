"""Experiment rules: run one registered experiment (aebench.experiments) and tabulate it."""

from pathlib import Path

from aebench import experiments
from aebench.gather import summarize, wide_table, write_table
from aebench.runlog import rule_log
from aebench.train import resolve_device

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0], threads=sm.threads) as log:
    figures = {k: Path(v) for k, v in sm.output.items() if k not in ("metrics", "table", "table_md")}  # figures and extra files
    dirs = {m: {int(s): Path(d) for s, d in seeds.items()} for m, seeds in sm.params.model_dirs.items()}
    params = {**sm.params.cfg, "device": str(resolve_device(sm.params.device))}
    extra = {k: Path(v) for k, v in sm.input.items() if k not in ("data", "models")}
    ctx = experiments.Context(sm.params.experiment, Path(sm.input.data), dirs, params, figures, log,
                              inputs=extra)
    long = experiments.run(sm.params.experiment, ctx, sm.output.metrics)
    write_table(wide_table(summarize(long)), sm.output.table, sm.output.table_md)
    log(f"{sm.params.experiment}: {len(long)} metric values written")
