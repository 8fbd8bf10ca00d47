"""The report's menu: every result sits under a named sub-heading (Snakemake shows "Other"
for a result without one) and every table has a name of its own (each experiment's file is
table.csv); the claims caption names every verdict the table can hold (issue 42). Read from
the parsed workflow, without running it."""

import os
from pathlib import Path

import pytest
from snakemake.io import get_flag_value, is_flagged

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workflow():
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with SnakemakeApi(OutputSettings()) as api:
            w = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=ROOT / "Snakefile",
                             config_settings=ConfigSettings())
            w.dag()
            yield w._workflow
    finally:
        os.chdir(cwd)


def reported(wf):
    """(rule, output name, its report flag) for every output marked for the report."""
    return [(rule.name, name, get_flag_value(f, "report"))
            for rule in wf.rules for name, f in rule.output._allitems() if name
            and is_flagged(f, "report")]


def test_every_report_entry_has_a_named_subcategory_and_labels(workflow):
    entries = reported(workflow)
    assert {r for r, _, _ in entries} == {"experiment", "restore_experiment", "gather"}
    for rule, name, flag in entries:
        assert flag.subcategory and flag.labels, (rule, name)


def test_each_experiments_table_has_its_own_name(workflow):
    from types import SimpleNamespace

    flag = next(f for r, n, f in reported(workflow) if (r, n) == ("experiment", "table"))
    enabled = workflow.globals["CFG"].enabled
    names = [flag.labels(SimpleNamespace(experiment=e))["table"] for e in enabled]
    assert len(set(names)) == len(enabled) == 10
    assert names[0] == "E1 PCA vs deep AE"


def test_the_claims_caption_names_every_verdict():
    text = (ROOT / "workflow" / "report" / "claims.rst").read_text()
    for verdict in ("PASS", "FAIL", "INCONCLUSIVE", "n/a"):
        assert verdict in text
