"""Rule fit: fit one model (any kind) with one seed into its run directory (aebench.runs)."""

from pathlib import Path

from aebench.runlog import rule_log
from aebench.runs import fit_run
from aebench.spec import ModelSpec

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0], threads=sm.threads) as log:
    fit_run(ModelSpec.from_dict(sm.params.spec), sm.input.data, int(sm.wildcards.seed), sm.output[0],
            {m: Path(d) for m, d in sm.params.deps.items()}, device=sm.params.device,
            threads=sm.threads, log=log)
