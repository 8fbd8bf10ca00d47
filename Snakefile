# aebench: every claim of the classic autoencoder lecture, re-run from raw data.
# Stages live in workflow/rules/*.smk; helpers in workflow/rules/common.smk.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/e1.smk"
include: "workflow/rules/e2.smk"
include: "workflow/rules/e3.smk"
include: "workflow/rules/e4.smk"
include: "workflow/rules/e5.smk"
include: "workflow/rules/e6.smk"
include: "workflow/rules/e7.smk"
include: "workflow/rules/e8.smk"
include: "workflow/rules/e9.smk"
include: "workflow/rules/e10.smk"
include: "workflow/rules/gather.smk"


rule all:
    input:
        all_targets(),
    default_target: True
