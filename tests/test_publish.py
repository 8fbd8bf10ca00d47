"""aebench.publish: a run's small files, its costs and progress; restore_from rebuilds the
claims table and the report from them on a machine that lost results/."""

import json
import os
import shutil
from datetime import datetime

import pandas as pd
import pytest

from _workflow import SMOKE, copy_workflow, snakemake
from aebench import publish, status


def publish_smoke(smoke_run, dest):
    cfg = status.load_config(smoke_run, ["workflow/presets/smoke.yaml"])
    return cfg, publish.publish(smoke_run, dest, "smoke-test", cfg, cores=2, preset="smoke")


@pytest.fixture(scope="module")
def published(smoke_run, tmp_path_factory):
    if not (smoke_run / "results/report.html").exists():
        snakemake(smoke_run, *SMOKE, "--report", "results/report.html")
    dest = tmp_path_factory.mktemp("pub") / "smoke-test"
    cfg, manifest = publish_smoke(smoke_run, dest)
    return cfg, manifest, dest


def test_a_finished_run_is_published_whole_and_small(published, smoke_run):
    cfg, m, dest = published
    assert m["complete"] and m["jobs_done"] == m["jobs_total"] and m["end"] is not None
    assert m["seeds"] == cfg.seeds and m["config_hash"] == publish.config_hash(cfg.raw)
    assert m["machine"]["cores"] >= 1 and m["cpu_hours"] > 0
    # at least its longest Snakemake session, at most the time since the first one began
    runs = publish.sessions(smoke_run)
    assert max(b - a for a, b in runs) / 3600 - 0.001 <= m["busy_hours"]
    assert m["busy_hours"] <= (publish._unstamp(m["published_at"]) - min(runs)[0]) / 3600 + 0.001
    for exp in cfg.enabled:
        assert m["experiments"][exp]["complete"]
        assert pd.read_csv(dest / exp / "metrics.csv").equals(pd.read_csv(smoke_run / "results" / exp / "metrics.csv"))
        assert sorted(p.name for p in (dest / exp / "figures").iterdir()) == sorted(
            p.name for p in (smoke_run / "results" / exp / "figures").iterdir()
            if not p.name.startswith("."))  # Snakemake's stamp stays behind
    assert (dest / "tables/claims.csv").read_text() == (smoke_run / "results/tables/claims.csv").read_text()
    assert (dest / "report.html").stat().st_size > 0
    # models and codes stay behind; each run's spec, metrics and history are published
    assert not list(dest.rglob("*.npz")) and not list(dest.rglob("*.pt"))
    assert (dest / "runs/ae30/seed0/history.csv").exists()
    jobs = pd.read_csv(dest / "jobs.csv")
    assert len(jobs) == m["jobs_total"] and (jobs["state"] == "done").all()
    assert jobs["wall_seconds"].notna().all() and (jobs["max_rss_mb"] > 0).all()
    fits = jobs[jobs["rule"] == "fit"]
    torch_fits = fits[fits["source"] == "attempts"]  # every fit goes through the ledger
    assert len(torch_fits) == len(fits) and (torch_fits["attempts"] == 1).all()
    costs = pd.read_csv(dest / "costs.csv").set_index("experiment")
    assert list(costs.index) == cfg.enabled
    # each job is charged to one experiment: the per-experiment CPU adds up to the whole
    assert costs["cpu_hours"].sum() == pytest.approx(jobs["cpu_seconds"].sum() / 3600, abs=0.01)
    assert "jobs done: " in (dest / "progress.md").read_text()


def test_busy_hours_count_side_by_side_work_once_and_skip_pauses(tmp_path):
    h = 3600.0
    # two jobs side by side, one later, and a session whose log outlives its last job
    assert publish.busy_hours([(0, 1 * h), (0.5 * h, 1.5 * h), (2 * h, 3 * h), (2.5 * h, 3.25 * h)]) \
        == pytest.approx(1.5 + 1.25)
    assert publish.busy_hours([]) == 0
    # Snakemake's sessions: from the local time in each log's name to its last write
    logs = tmp_path / ".snakemake/log"
    logs.mkdir(parents=True)
    for name, length in (("2026-11-25T102411.045746", 600), ("2026-11-26T080000.000001", 60)):
        f = logs / f"{name}.snakemake.log"
        f.write_text("...")
        start = datetime.strptime(name, "%Y-%m-%dT%H%M%S.%f").timestamp()
        os.utime(f, (start + length, start + length))
    (logs / "notes.txt").write_text("not a log")
    assert publish.busy_hours(publish.sessions(tmp_path)) == pytest.approx(660 / h, abs=1e-3)
    # a job resumed the next day counts its attempts, not the night between them
    d = tmp_path / publish.paths.attempts("ae30", "0")
    d.mkdir(parents=True)
    for k, (a, b) in enumerate([(0, 0.25 * h), (24 * h, 24.5 * h)]):
        (d / f"attempt{k}.json").write_text(json.dumps(
            {"start": a, "end": b, "wall_seconds": b - a, "cpu_seconds": 0, "max_rss_mb": 1}))
    # (a fit published from another machine, without its ledger here, is left to the old sessions)
    jobs = pd.DataFrame({"job": ["fit ae30 seed0", "e1", "fit ae2 seed0"], "model": ["ae30", None, "ae2"],
                         "source": ["attempts", "benchmark", "attempts"],
                         "start": [0, 10 * h, 0], "end": [24.5 * h, 11 * h, 99 * h]})
    assert publish.busy_hours(publish.job_spans(tmp_path, jobs)) == pytest.approx(0.25 + 0.5 + 1)


def test_an_unfinished_experiment_waits_and_the_record_says_so(smoke_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, symlinks=True)
    shutil.rmtree(run / "results/runs/pca2/seed1")  # E3 (and E10?) now lack a fit
    cfg, m = publish_smoke(run, tmp_path / "pub")
    unfinished = [e for e in cfg.enabled if "pca2" in cfg.experiment_models(e)]
    assert unfinished and not m["complete"] and m["jobs_done"] == m["jobs_total"] - 1
    for e in cfg.enabled:
        assert m["experiments"][e]["complete"] == (e not in unfinished)
        assert (tmp_path / "pub" / e / "metrics.csv").exists() == (e not in unfinished)
    assert "in progress" in (tmp_path / "pub/progress.md").read_text()


def test_restore_from_rebuilds_claims_and_report_without_training(published, smoke_run, tmp_path):
    cfg, m, dest = published
    work = copy_workflow(tmp_path / "work")  # a new machine: no results/
    restore = ["--config", f"restore_from={dest}"]
    dry = snakemake(work, *SMOKE, *restore, "-n").stdout
    assert "rule fit" not in dry and "rule prepare_data" not in dry
    assert "rule restore_experiment" in dry
    snakemake(work, *SMOKE, *restore)
    assert (work / "results/tables/claims.csv").read_text() == \
        (smoke_run / "results/tables/claims.csv").read_text()
    snakemake(work, *SMOKE, *restore, "--report", "report.html")
    html = (work / "report.html").read_text(errors="replace")
    for exp in cfg.enabled:
        for fig in (dest / exp / "figures").glob("*.png"):
            assert fig.name in html
    # publishing the restored run again (a run resumed on a new machine) keeps what the first
    # machine measured: restored experiments stay complete, their jobs' costs stay recorded
    again = tmp_path / "again"
    shutil.copytree(dest, again)
    cfg2 = status.load_config(work, ["workflow/presets/smoke.yaml"], [f"restore_from={dest}"])
    m2 = publish.publish(work, again, "smoke-test", cfg2, cores=2)
    assert m2["complete"] and m2["jobs_done"] == m["jobs_total"]
    assert all(m2["experiments"][e]["complete"] for e in cfg.enabled)
    before, after = (pd.read_csv(d / "jobs.csv").set_index("job") for d in (dest, again))
    fits = before.index[before["rule"] == "fit"]
    pd.testing.assert_frame_equal(after.loc[fits], before.loc[fits], check_dtype=False)


def test_restore_reruns_only_what_was_not_published(published, tmp_path):
    cfg, m, dest = published
    part = tmp_path / "part"
    shutil.copytree(dest, part)
    man = json.loads((part / "manifest.json").read_text())
    man["experiments"]["e1"]["complete"] = False
    (part / "manifest.json").write_text(json.dumps(man))
    work = copy_workflow(tmp_path / "work")
    dry = snakemake(work, *SMOKE, "--config", f"restore_from={part}", "-n").stdout
    fits = {line.split("model=")[1].split(",")[0] for line in dry.splitlines() if "model=" in line}
    assert fits == set(cfg.experiment_models("e1"))
    assert "wildcards: experiment=e1" in dry


def test_restore_from_a_run_made_with_another_config_fails_clearly(published, tmp_path):
    cfg, m, dest = published
    work = copy_workflow(tmp_path / "work")
    r = snakemake(work, *SMOKE, "--config", f"restore_from={dest}", "seeds=[0]", "-n", check=False)
    assert r.returncode != 0
    assert "another config (it differs in: seeds)" in r.stderr + r.stdout
    r = snakemake(work, *SMOKE, "--config", f"restore_from={tmp_path}", "-n", check=False)
    assert r.returncode != 0 and "written by python -m aebench.publish" in r.stderr + r.stdout


def test_readme_section_is_written_from_the_published_run(published, tmp_path):
    from aebench import readme

    cfg, m, dest = published
    r = tmp_path / "README.md"
    r.write_text(f"intro\n{readme.START}\nold\n{readme.END}\nmid\n{readme.PRESETS_START}\n"
                 f"stale\n{readme.PRESETS_END}\nrest\n")
    readme.main([str(r), str(dest), "--quick", str(dest), "--smoke", str(dest)])
    text = r.read_text()
    assert "old" not in text and "stale" not in text
    assert text.startswith("intro\n") and text.endswith("rest\n") and "\nmid\n" in text
    # the presets' times: one row per run given, each its own busy hours
    times = text.split(readme.PRESETS_START)[1].split(readme.PRESETS_END)[0]
    assert times.count("| smoke ") == 3 and f"`{m['name']}`" in times
    assert readme._hours(m["busy_hours"]) in times and m["preset"] == "smoke"
    assert f"Seeds {', '.join(map(str, cfg.seeds))}" in text and m["config_hash"] in text
    claims = pd.read_csv(dest / "tables/claims.csv")
    shown = claims[~claims["verdict"].str.startswith("n/a")]
    for cid in shown["id"]:
        assert f"| {cid} " in text
    for cid in claims.loc[claims["verdict"].str.startswith("n/a"), "id"]:
        assert f"| {cid} " not in text.split("#### Quick")[0]
    # every key figure is linked by a path that exists from README's directory
    links = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(links) == len(cfg.enabled) and all((tmp_path / p).exists() for p in links)
    assert "| e1 " in text.split("#### What reproducing")[1]
    judged = shown["verdict"].isin(["PASS", "FAIL", "INCONCLUSIVE"]).sum()
    assert f"on {judged} of the {judged} claims both judge" in text
    if len(shown) < len(claims):
        assert "Claims not judged: " in text


def test_readme_of_a_run_in_progress_judges_its_finished_experiments(smoke_run, tmp_path):
    from aebench import readme

    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, symlinks=True)
    shutil.rmtree(run / "results/tables")  # gather has not run
    shutil.rmtree(run / "results/runs/pca2/seed1")
    cfg, m = publish_smoke(run, tmp_path / "pub")
    block = readme.render(tmp_path / "pub", tmp_path)
    full = pd.read_csv(smoke_run / "results/tables/claims.csv").set_index("id")
    done = [e for e in cfg.enabled if m["experiments"][e]["complete"]]
    for cid, row in full.iterrows():
        if row["verdict"].startswith("n/a"):
            continue
        # the same verdict the finished run's gather gave, for finished experiments only
        exp = cid.split(".")[0].lower()
        assert (f"| {cid} " in block) == (exp in done)
        if exp in done:
            assert f"| {row['verdict']} " in block.split(f"| {cid} ")[1].split("\n")[0]
    assert "in progress since" in block
