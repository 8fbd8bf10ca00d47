"""A fit's work in the published costs: jobs.csv's FLOP and fraction-of-peak columns (from
each fit's cost.json, NaN without one), costs.csv's per experiment, a jobs.csv from before
them carried over, and README's cost table showing them only for a run that has them."""

import json
import math

import pandas as pd
import pytest

from aebench.flops import COST_FILE
from aebench.runctl import costs, readme
from aebench.runctl.jobs import Job

BENCH = "s\th:m:s\tmax_rss\tcpu_time\n10.0\t0:00:10\t100\t20.0\n"


def fit_job(root, model, cost=None):
    out = f"results/runs/{model}/seed0"
    (root / out).mkdir(parents=True)
    if cost is not None:
        (root / out / COST_FILE).write_text(json.dumps(cost))
    bench = f"results/benchmarks/fit/{model}-0.tsv"
    (root / bench).parent.mkdir(parents=True, exist_ok=True)
    (root / bench).write_text(BENCH)
    return Job(name=f"fit {model} seed0", kind="autoencoder", model=model, output=out,
               bench=bench, rule="fit", state="done")


@pytest.fixture
def jobs_df(tmp_path):
    # a at half its peak for 100 s of loops, b at a quarter for 300 s: time-weighted 0.3125
    a = {"flop": 5e12, "gflops": 50.0, "peak_gflops": 100.0, "fraction_of_peak": 0.5}
    b = {"flop": 3e12, "gflops": 10.0, "peak_gflops": 40.0, "fraction_of_peak": 0.25}
    jobs = {j.name: j for j in (fit_job(tmp_path, "a", a), fit_job(tmp_path, "b", b),
                                fit_job(tmp_path, "pca"))}
    return costs.job_costs(tmp_path, jobs)


def test_jobs_csv_has_each_fits_work_and_nan_without_a_cost_json(jobs_df):
    row = jobs_df.set_index("model")
    assert row.loc["a", "flop"] == 5e12 and row.loc["b", "fraction_of_peak"] == 0.25
    assert row.loc["pca", costs.WORK].isna().all()
    assert row.loc["a", "wall_seconds"] == 10.0  # the other columns as before


def test_an_experiments_fraction_of_peak_weighs_its_fits_by_their_time(jobs_df):
    assert costs.fraction_of_peak(jobs_df) == pytest.approx((50 + 75) / (100 + 300))
    c = costs.experiment_costs(jobs_df, {"e1": ["fit a seed0", "fit pca seed0"],
                                         "e2": ["fit b seed0", "fit a seed0"],
                                         "e3": ["fit pca seed0"]}).set_index("experiment")
    assert c.loc["e1", "flop"] == 5e12 and c.loc["e1", "fraction_of_peak"] == 0.5
    assert c.loc["e2", "flop"] == 3e12  # a is charged to e1, the first to need it
    assert math.isnan(c.loc["e3", "flop"]) and math.isnan(c.loc["e3", "fraction_of_peak"])


def test_a_jobs_csv_from_before_fits_recorded_their_work_is_carried_over(jobs_df, tmp_path):
    old = jobs_df.drop(columns=costs.WORK).assign(start=None, end=None)
    old.to_csv(tmp_path / "jobs.csv", index=False)
    now = jobs_df.assign(state="to do")
    carried = costs.carry_over(now, tmp_path / "jobs.csv").set_index("model")
    assert (carried["state"] == "done").all() and carried[costs.WORK].isna().all().all()


def test_readme_shows_the_fraction_of_peak_only_for_a_run_that_has_it(jobs_df, tmp_path):
    c = costs.experiment_costs(jobs_df, {"e1": ["fit a seed0"], "e3": ["fit pca seed0"]})
    c.to_csv(tmp_path / "costs.csv", index=False)
    table = readme.costs(tmp_path)
    rows = {r.split("|")[1].strip(): [x.strip() for x in r.split("|")[1:-1]]
            for r in table.splitlines() if r.startswith("| e")}
    head = [x.strip() for x in table.splitlines()[0].split("|")[1:-1]]
    cell = {e: dict(zip(head, r)) for e, r in rows.items()}
    assert (cell["e1"]["TFLOP"], cell["e1"]["fraction of peak"]) == ("5", "0.5")
    assert (cell["e3"]["TFLOP"], cell["e3"]["fraction of peak"]) == ("", "")
    c.drop(columns=["flop", "fraction_of_peak"]).to_csv(tmp_path / "costs.csv", index=False)
    assert "fraction of peak" not in readme.costs(tmp_path)  # published before this change
    c.assign(flop=float("nan"), fraction_of_peak=float("nan")).to_csv(tmp_path / "costs.csv",
                                                                       index=False)
    assert "TFLOP" not in readme.costs(tmp_path)
