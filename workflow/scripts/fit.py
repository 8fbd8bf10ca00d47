"""Rule fit: fit one model (any kind) with one seed into its run directory (aebench.runs)."""

from pathlib import Path

from aebench import paths
from aebench.runctl import ledger
from aebench.runctl.runlog import rule_log
from aebench.runs import fit_run
from aebench.spec import ModelSpec

sm = snakemake  # noqa: F821 (injected by Snakemake)
model, seed = sm.wildcards.model, sm.wildcards.seed
ckpt = Path(paths.checkpoint(model, seed))
# Each attempt's time and memory, summed when the run is published (aebench.runctl.ledger); with no
# checkpoint to resume, this is a fresh run and earlier records go.
with (ledger.attempt(paths.attempts(model, seed), fresh=not (ckpt.exists() and any(ckpt.iterdir()))),
      rule_log(sm.log[0], threads=sm.threads) as log):
    # Checkpoints go outside the output directory (Snakemake deletes it when the job fails), so
    # a job stopped by SIGTERM (a SLURM time limit, preemption) resumes when it is run again.
    # Not a rule param: adding one would make Snakemake re-run every finished fit.
    # The per-epoch progress record (what `aebench status` reads) goes outside it too, and is
    # no output: a running job's progress is read while Snakemake still owns its outputs.
    fit_run(ModelSpec.from_dict(sm.params.spec), sm.input.data, int(seed), sm.output[0],
            {m: Path(d) for m, d in sm.params.deps.items()}, device=sm.params.device,
            threads=sm.threads, log=log,
            checkpoint_dir=ckpt, progress_path=paths.progress(model, seed),
            peak_cache=paths.peak(), judge_split=paths.JUDGE_SPLIT)
