# aebench: every claim of the classic autoencoder lecture, re-run from raw data.
# Stages live in workflow/rules/*.smk; helpers in workflow/rules/common.smk; experiments,
# model kinds and datasets are modules of the package in workflow/src/aebench.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/experiment.smk"
include: "workflow/rules/gather.smk"


rule all:
    input:
        all_targets(),
    default_target: True
