"""Rule experiment: run one experiment (aebench.experiments) on its runs and tabulate it."""

from pathlib import Path

from aebench import experiments, paths
from aebench.gather import summarize, wide_table, write_table
from aebench.runctl.runlog import rule_log
from aebench.train import resolve_device

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0], threads=sm.threads) as log:
    name = sm.wildcards.experiment
    exp = experiments.EXPERIMENTS[name]
    runs = {m: {int(s): Path(d) for s, d in seeds.items()} for m, seeds in sm.params.runs.items()}
    data = {int(s): Path(f) for s, f in sm.params.data.items()}  # each seed's own data
    ctx = experiments.Context(name, data, runs, exp.Params(**sm.params.params),
                              Path(sm.output.figures), str(resolve_device(sm.params.device)), log,
                              reads=() if exp.evaluates else exp.reads,
                              judge_split=paths.JUDGE_SPLIT)
    ctx.figures_dir.mkdir(parents=True, exist_ok=True)
    long = experiments.run(name, ctx, sm.output.metrics)
    write_table(wide_table(summarize(long)), sm.output.table, sm.output.table_md)
    log(f"{name}: {len(long)} metric values written")
