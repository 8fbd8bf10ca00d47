"""Rule evaluate: one experiment's measurements of one fitted run (aebench.experiments)."""

from pathlib import Path

from aebench import experiments, paths
from aebench.runctl.runlog import rule_log
from aebench.train import resolve_device

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0], threads=sm.threads) as log:
    name, model, seed = sm.wildcards.experiment, sm.wildcards.model, int(sm.wildcards.seed)
    exp = experiments.EXPERIMENTS[name]
    out = Path(sm.output[0])
    ctx = experiments.Context(name, Path(sm.input.data), {model: {seed: Path(sm.input.run)}},
                              exp.Params(**sm.params.params), out / "figures",
                              str(resolve_device(sm.params.device)), log,
                              judge_split=paths.JUDGE_SPLIT)
    ev = exp.evaluate(ctx, model, seed)
    ev.save(out)
    log(f"{name} {model} seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in ev.values.items()))
