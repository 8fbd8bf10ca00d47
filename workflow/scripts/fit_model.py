"""Rules fit_baseline / train_autoencoder: fit one model with one seed (aebench.fitting)."""

from pathlib import Path

from aebench.fitting import fit_model
from aebench.runlog import rule_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0], threads=sm.threads) as log:
    fit_model(sm.wildcards.model, sm.params.entry, sm.input.data, int(sm.wildcards.seed),
              Path(sm.output.metrics).parent, device=sm.params.device, threads=sm.threads,
              train_defaults=sm.params.training, log=log)
