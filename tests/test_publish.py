"""aebench.runctl.publish: a run's small files, its costs and progress; restore_from rebuilds the
claims table and the report from them on a machine that lost results/."""

import json
import os
import re
import shutil
from datetime import datetime

import pandas as pd
import pytest

from _workflow import SMOKE, copy_workflow, snakemake
from aebench import paths
from aebench.runctl import jobs, ledger, provenance, publish, restore
from aebench.runctl.costs import busy_hours, job_spans, sessions, unstamp
from aebench.runctl.jobs import load_config


def publish_smoke(smoke_run, dest):
    cfg = load_config(smoke_run, ["workflow/presets/smoke.yaml"])
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
    assert m["seeds"] == cfg.seeds and m["config_hash"] == provenance.config_hash(cfg.raw)
    assert m["machine"]["cores"] >= 1 and m["cpu_hours"] > 0
    # at least its longest Snakemake session, at most the time since the first one began
    runs = sessions(smoke_run)
    assert max(b - a for a, b in runs) / 3600 - 0.001 <= m["busy_hours"]
    assert m["busy_hours"] <= (unstamp(m["published_at"]) - min(runs)[0]) / 3600 + 0.001
    for exp in cfg.enabled:
        assert m["experiments"][exp]["complete"]
        assert pd.read_csv(dest / exp / "metrics.csv").equals(pd.read_csv(smoke_run / "results" / exp / "metrics.csv"))
        assert sorted(p.name for p in (dest / exp / "figures").iterdir()) == sorted(
            p.name for p in (smoke_run / "results" / exp / "figures").iterdir()
            if not p.name.startswith("."))  # Snakemake's stamp stays behind
    assert (dest / "tables/claims.csv").read_text() == (smoke_run / "results/tables/claims.csv").read_text()
    assert (dest / "report.html").stat().st_size > 0
    # models and codes stay behind; each run's spec, metrics and history are published, and
    # for E1 (which reads only small files) the few test reconstructions it shows
    # and for those that evaluate each run in its own step (E5, E7, E8, E9) the evaluations
    from aebench.experiments import EXPERIMENTS

    evaluating = {e for e in cfg.enabled if EXPERIMENTS[e].evaluates}
    assert evaluating == {"e5", "e7", "e8", "e9"}
    assert {p.name for p in dest.rglob("*.npz")} == {"preview.npz", "arrays.npz"}
    assert not list(dest.rglob("*.pt"))
    assert {p.parent.parent.name for p in dest.rglob("preview.npz")} == set(cfg.experiment_models("e1"))
    assert {(p.parts[-4], p.parts[-3]) for p in dest.rglob("arrays.npz")} == {
        (e, mm) for e in evaluating for mm in cfg.experiment_models(e)}
    assert all(p.stat().st_size < 400_000 for p in dest.rglob("*.npz"))
    assert (dest / "runs/ae30/seed0/history.csv").exists()
    jobs = pd.read_csv(dest / "jobs.csv")
    assert len(jobs) == m["jobs_total"] and (jobs["state"] == "done").all()
    # the CPU every job ran on (floats are reproducible on one kind of CPU only)
    here = ledger.cpu_model()
    assert set(jobs["cpu"]) == {here} and m["cpus"] == here
    assert all(m["experiments"][e]["cpus"] == here for e in cfg.enabled)
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
    assert busy_hours([(0, 1 * h), (0.5 * h, 1.5 * h), (2 * h, 3 * h), (2.5 * h, 3.25 * h)]) \
        == pytest.approx(1.5 + 1.25)
    assert busy_hours([]) == 0
    # Snakemake's sessions: from the local time in each log's name to its last write
    logs = tmp_path / ".snakemake/log"
    logs.mkdir(parents=True)
    for name, length in (("2026-11-25T102411.045746", 600), ("2026-11-26T080000.000001", 60)):
        f = logs / f"{name}.snakemake.log"
        f.write_text("...")
        start = datetime.strptime(name, "%Y-%m-%dT%H%M%S.%f").timestamp()
        os.utime(f, (start + length, start + length))
    (logs / "notes.txt").write_text("not a log")
    assert busy_hours(sessions(tmp_path)) == pytest.approx(660 / h, abs=1e-3)
    # a job resumed the next day counts its attempts, not the night between them
    d = tmp_path / paths.attempts("ae30", "0")
    d.mkdir(parents=True)
    for k, (a, b) in enumerate([(0, 0.25 * h), (24 * h, 24.5 * h)]):
        (d / f"attempt{k}.json").write_text(json.dumps(
            {"start": a, "end": b, "wall_seconds": b - a, "cpu_seconds": 0, "max_rss_mb": 1}))
    # (a fit published from another machine, without its ledger here, is left to the old sessions)
    jobs = pd.DataFrame({"job": ["fit ae30 seed0", "e1", "fit ae2 seed0"], "model": ["ae30", None, "ae2"],
                         "source": ["attempts", "benchmark", "attempts"],
                         "start": [0, 10 * h, 0], "end": [24.5 * h, 11 * h, 99 * h]})
    assert busy_hours(job_spans(tmp_path, jobs)) == pytest.approx(0.25 + 0.5 + 1)


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
    # (one published before jobs named their CPU: the manifest's machine stands for them)
    again = tmp_path / "again"
    shutil.copytree(dest, again)
    pd.read_csv(dest / "jobs.csv").drop(columns="cpu").to_csv(again / "jobs.csv", index=False)
    man = json.loads((again / "manifest.json").read_text())
    man["machine"]["cpu"] = "Old CPU"
    (again / "manifest.json").write_text(json.dumps(man))
    cfg2 = load_config(work, ["workflow/presets/smoke.yaml"], [f"restore_from={dest}"])
    m2 = publish.publish(work, again, "smoke-test", cfg2, cores=2)
    assert m2["complete"] and m2["jobs_done"] == m["jobs_total"]
    assert all(m2["experiments"][e]["complete"] for e in cfg.enabled)
    before, after = (pd.read_csv(d / "jobs.csv").set_index("job") for d in (dest, again))
    fits = before.index[before["rule"] == "fit"]
    pd.testing.assert_frame_equal(after.loc[fits].drop(columns="cpu"), before.loc[fits].drop(columns="cpu"),
                                  check_dtype=False)
    # the jobs that ran here (gather) name this machine's CPU
    here = ledger.cpu_model()
    assert (after.drop(index="gather")["cpu"] == "Old CPU").all() and after.loc["gather", "cpu"] == here
    assert m2["cpus"] == "; ".join(sorted({"Old CPU", here}))


def test_restore_reruns_only_what_was_not_published(published, tmp_path):
    cfg, m, dest = published
    part = tmp_path / "part"
    shutil.copytree(dest, part)
    man = json.loads((part / "manifest.json").read_text())
    man["experiments"]["e3"]["complete"] = False  # E3 reads its models' codes: all retrain
    (part / "manifest.json").write_text(json.dumps(man))
    work = copy_workflow(tmp_path / "work")
    dry = snakemake(work, *SMOKE, "--config", f"restore_from={part}", "-n").stdout
    fits = {line.split("model=")[1].split(",")[0] for line in dry.splitlines() if "model=" in line}
    assert fits == set(cfg.experiment_models("e3"))
    assert "wildcards: experiment=e3" in dry and "rule restore_fit" not in dry


def _dry_fits(dry: str) -> tuple[set, set]:
    """(fits to train as (model, seed), fits to copy back as "model/seedK") in a dry run."""
    train = {(line.split("model=")[1].split(",")[0], int(line.split("seed=")[1]))
             for line in dry.splitlines() if "wildcards: model=" in line}
    copy = {line.split("fit=")[1].strip() for line in dry.splitlines() if "wildcards: fit=" in line}
    return train, copy


def test_restore_keeps_the_finished_fits_of_an_unfinished_experiment(published, smoke_run, tmp_path):
    """A run longer than one machine's life: E6 was cut short (one classifier never finished)
    and the next machine lost results/. E6 reads only its classifiers' metrics, so the finished
    ones are copied back and only the missing one trains, with its stack."""
    from aebench.experiments.e6_pretraining import classifier_model, stack_model

    cfg, m, dest = published
    p6 = cfg.params["e6"]
    init, budget = next(i for i in p6.inits if i != "random"), p6.budgets[0]
    missing = classifier_model(init, budget)
    classifiers = {(c, s) for c in cfg.experiment_models("e6") for s in cfg.model_seeds(c)}

    def cut(name, unfinished):
        part = tmp_path / name
        shutil.copytree(dest, part)
        man = json.loads((part / "manifest.json").read_text())
        for e in unfinished:
            man["experiments"][e]["complete"] = False
        (part / "manifest.json").write_text(json.dumps(man))
        shutil.rmtree(part / "runs" / missing / "seed1")
        return part

    work = copy_workflow(tmp_path / "work")
    part = cut("e6", ["e6"])
    train, copy = _dry_fits(snakemake(work, *SMOKE, "--config", f"restore_from={part}", "-n").stdout)
    assert train == {(missing, 1), (stack_model(init), 1)}
    assert copy == {f"{c}/seed{s}" for c, s in classifiers - {(missing, 1)}}

    # E8 measures each stack in its own step: with E8 unfinished too, its published
    # evaluations are copied back, and only a stack whose evaluation is missing trains again
    part8 = cut("e6e8", ["e6", "e8"])
    other = next(i for i in p6.inits if i not in ("random", init))
    shutil.rmtree(part8 / "evals/e8" / stack_model(other) / "seed0")
    train, copy = _dry_fits(snakemake(work, *SMOKE, "--config", f"restore_from={part8}", "-n").stdout)
    assert train == {(missing, 1), (stack_model(init), 1), (stack_model(other), 0)}
    assert copy == {f"{c}/seed{s}" for c, s in classifiers - {(missing, 1)}}

    # E1 reads metrics and the test reconstructions its fits keep (preview.npz): with E5 done,
    # nothing reads its models, and every fit is copied back
    part1 = cut("e1", ["e1"])
    train, copy = _dry_fits(snakemake(work, *SMOKE, "--config", f"restore_from={part1}", "-n").stdout)
    assert train == set()
    assert copy >= {f"{m}/seed{s}" for m in cfg.experiment_models("e1") for s in cfg.model_seeds(m)}

    # run them: the classifier trained again on this machine, beside the copied ones, gives E6
    # the numbers of the run that was never interrupted; E1 its numbers and its figure
    snakemake(work, "results/e6/metrics.csv", *SMOKE, "--config", f"restore_from={part}")
    pd.testing.assert_frame_equal(pd.read_csv(work / "results/e6/metrics.csv"),
                                  pd.read_csv(smoke_run / "results/e6/metrics.csv"))
    work1 = copy_workflow(tmp_path / "work1")
    snakemake(work1, "results/e1/metrics.csv", *SMOKE, "--config", f"restore_from={part1}")
    pd.testing.assert_frame_equal(pd.read_csv(work1 / "results/e1/metrics.csv"),
                                  pd.read_csv(smoke_run / "results/e1/metrics.csv"))
    import matplotlib.image as mpimg

    fig = "results/e1/figures/reconstructions.png"
    assert (mpimg.imread(work1 / fig) == mpimg.imread(smoke_run / fig)).all()


def test_restore_keeps_the_finished_evaluations_of_an_unfinished_experiment(published, smoke_run, tmp_path):
    """E5 measures each run in its own step (rule evaluate): a resumed run copies the published
    evaluations back and trains and evaluates only the run whose evaluation was not published."""
    cfg, m, dest = published
    part = tmp_path / "part"
    shutil.copytree(dest, part)
    man = json.loads((part / "manifest.json").read_text())
    man["experiments"]["e5"]["complete"] = False
    (part / "manifest.json").write_text(json.dumps(man))
    model = cfg.params["e5"].binary[0]
    shutil.rmtree(part / "evals/e5" / model / "seed1")
    work = copy_workflow(tmp_path / "work")
    dry = snakemake(work, *SMOKE, "--config", f"restore_from={part}", "-n").stdout
    train, copy = _dry_fits(dry)
    assert train == {(model, 1)}
    evaluated = [line for line in dry.splitlines() if "wildcards: experiment=e5, model=" in line]
    assert evaluated == [f"    wildcards: experiment=e5, model={model}, seed=1"]
    copied = {line.split("evaluation=")[1].strip() for line in dry.splitlines() if "evaluation=" in line}
    assert copied == {f"e5/{mm}/seed{s}" for mm in cfg.experiment_models("e5")
                      for s in cfg.model_seeds(mm)} - {f"e5/{model}/seed1"}
    snakemake(work, "results/e5/metrics.csv", *SMOKE, "--config", f"restore_from={part}")
    pd.testing.assert_frame_equal(pd.read_csv(work / "results/e5/metrics.csv"),
                                  pd.read_csv(smoke_run / "results/e5/metrics.csv"))


def test_an_experiment_that_reads_only_small_files_gets_only_them(tmp_path):
    """What `reads` declares is all such an experiment sees: no model, only the named arrays
    of codes.npz, from the preview a publication keeps once codes.npz is gone."""
    import numpy as np

    from aebench.experiments import EXPERIMENTS, PREVIEW, Context

    assert EXPERIMENTS["e6"].reads == () and EXPERIMENTS["e5"].reads is None
    run = tmp_path / "run"
    run.mkdir()
    np.savez(run / "codes.npz", z_test=np.zeros((5, 2)), recon_test_head=np.ones((3, 4)))
    ctx = Context("e1", tmp_path / "d.npz", {"m": {0: run}}, None, tmp_path, reads=("recon_test_head",))
    with pytest.raises(RuntimeError, match="declares `reads`"):
        ctx.load("m", 0)
    assert list(ctx.codes("m", 0)) == ["recon_test_head"]
    assert restore.write_preview(run, run / PREVIEW, ["recon_test_head"])
    (run / "codes.npz").unlink()
    np.testing.assert_array_equal(ctx.codes("m", 0)["recon_test_head"], np.ones((3, 4)))
    assert not restore.write_preview(run, run / "again.npz", ["recon_test_head"])


def test_restore_from_a_run_made_with_another_config_fails_clearly(published, tmp_path):
    cfg, m, dest = published
    work = copy_workflow(tmp_path / "work")
    r = snakemake(work, *SMOKE, "--config", f"restore_from={dest}", "seeds=[0]", "-n", check=False)
    assert r.returncode != 0
    assert "another config (it differs in: seeds)" in r.stderr + r.stdout
    r = snakemake(work, *SMOKE, "--config", f"restore_from={tmp_path}", "-n", check=False)
    assert r.returncode != 0 and "written by python -m aebench.publish" in r.stderr + r.stdout


def test_readme_section_is_written_from_the_published_run(published, tmp_path):
    """README gets the short answer (verdict counts, the claims that did not PASS, links) and
    the presets' times; docs/results.md, written whole, the full claims table, figures, costs
    and the quick run against the full one."""
    from aebench.runctl import readme

    cfg, m, dest = published
    r = tmp_path / "README.md"
    r.write_text(f"intro\n{readme.START}\nOLD-SECTION\n{readme.END}\nmid\n{readme.PRESETS_START}\n"
                 f"STALE-TIMES\n{readme.PRESETS_END}\nrest\n")
    readme.main([str(r), str(dest), "--quick", str(dest), "--smoke", str(dest)])
    text = r.read_text()
    doc = (tmp_path / readme.RESULTS_DOC).read_text()
    # (placeholders no generated text contains: the p-value legend says "it holds")
    assert "OLD-SECTION" not in text and "STALE-TIMES" not in text
    assert text.startswith("intro\n") and text.endswith("rest\n") and "\nmid\n" in text
    # the presets' times: one row per run given, each its own busy hours
    times = text.split(readme.PRESETS_START)[1].split(readme.PRESETS_END)[0]
    assert times.count("| smoke ") == 3 and f"`{m['name']}`" in times
    assert readme._hours(m["busy_hours"]) in times and m["preset"] == "smoke"
    assert f"Seeds {', '.join(map(str, cfg.seeds))}" in doc and m["config_hash"] in doc
    claims = pd.read_csv(dest / "tables/claims.csv")
    shown = claims[~claims["verdict"].str.startswith("n/a")]
    for cid in shown["id"]:
        assert f"| {cid} " in doc
    for cid in claims.loc[claims["verdict"].str.startswith("n/a"), "id"]:
        assert f"| {cid} " not in doc.split("## Quick")[0]
    # README's answer: the counts, each claim that did not PASS, links that resolve
    answer = text.split(readme.START)[1].split(readme.END)[0]
    assert "| id " not in answer
    assert (f"**{readme.counts(shown)}** of the {len(claims)} claims" if len(shown)
            else f"**No verdict** on any of the {len(claims)} claims") in answer
    for row in shown[shown["verdict"] != "PASS"].itertuples():
        assert f"{row.verdict} `{row.id}`" in answer
    assert "](docs/results.md)" in answer
    assert f"]({os.path.relpath(dest / 'report.html', tmp_path)})" in answer
    # every key figure is linked by a path that exists from the page's directory
    links = [line.split("](")[1].rstrip(")") for line in doc.splitlines() if line.startswith("![")]
    assert len(links) == len(cfg.enabled) and all((tmp_path / "docs" / p).exists() for p in links)
    assert all((tmp_path / p).exists() for p in re.findall(r"\]\(([^)]+)\)", answer))
    assert "| e1 " in doc.split("## What reproducing")[1]
    judged = shown["verdict"].isin(["PASS", "FAIL", "INCONCLUSIVE"]).sum()
    assert f"on {judged} of the {judged} claims both judge" in doc
    if len(shown) < len(claims):
        assert "Claims not judged: " in doc


def test_readme_of_a_run_in_progress_judges_its_finished_experiments(smoke_run, tmp_path):
    from aebench.runctl import readme

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


def test_data_prepared_again_is_checked_against_the_first(published, smoke_run, tmp_path):
    """A run resumed on another machine prepares its data again: the manifest says whether
    they are byte for byte those the first fits were trained on."""
    from aebench.runctl import readme

    cfg, m, dest = published
    assert m["data_checks"] == {} and {d.split("/")[0] for d in m["data_first"]} == set(m["full_data"])
    again = tmp_path / "again"
    shutil.copytree(dest, again)
    man = json.loads((again / "manifest.json").read_text())
    first, other = sorted(man["data_first"])[:2]
    for d in (first, other):
        man["data_first"][d]["cpu"] = "Old CPU"
    man["data_first"][other]["sha256"] = "0" * 64  # as if the old machine's data differed
    (again / "manifest.json").write_text(json.dumps(man))
    m2 = publish.publish(smoke_run, again, "smoke-test", cfg, cores=2)
    assert m2["data_checks"][first]["same"] and not m2["data_checks"][other]["same"]
    assert set(m2["data_checks"]) == {first, other}  # the others were first published here
    note = readme.note(m2)
    assert f"byte-identical to the first: {first} " in note and f"DIFFER from the first: {other}." in note


def test_readme_says_when_a_runs_config_has_changed_since_its_commit():
    """A published run whose config (config.yaml, its preset) changed since its commit is
    flagged as the older config's: its verdicts are not the current preset's. An edit that
    leaves the config's hash as the manifest has it (comments only) is no change."""
    from aebench.runctl import readme

    root = readme.ROOT
    last = provenance.git(root, "log", "-n1", "--format=%H", "--", "config.yaml")
    if not last:
        pytest.skip("not a git checkout with history")
    before = provenance.git(root, "rev-parse", f"{last}^")
    m = {"commit": before, "preset": "quick"}
    assert "config.yaml" in readme.config_changes(m)
    assert "config.yaml" in readme.stale(m) and "run and published again" in readme.stale(m)
    # at HEAD only what this checkout changes on top of it counts (nothing, in a clean clone)
    files = ["config.yaml", "workflow/presets/quick.yaml"]
    dirty = provenance.git(root, "diff", "--name-only", "HEAD", "--", *files).split()
    head = {"commit": provenance.git(root, "rev-parse", "HEAD"), "preset": "quick"}
    assert readme.config_changes(head) == dirty
    assert (readme.stale(head) == "") == (not dirty)
    # the same old commit, but a manifest whose hash is the config's now: comments only
    now = provenance.config_hash(jobs.load_config(root, ["workflow/presets/quick.yaml"]).raw)
    assert readme.config_changes({**m, "config_hash": now}) == []
    assert "config.yaml" in readme.config_changes({**m, "config_hash": "0" * 16})


def test_readme_agreement_lists_the_claims_quick_leaves_to_the_full_run():
    import pandas as pd

    from aebench.runctl import readme

    full = pd.DataFrame({"id": ["a", "b", "c"], "verdict": ["PASS", "PASS", "FAIL"], "reason": ""})
    quick = pd.DataFrame({"id": ["a", "b", "c"], "reason": ["", "needs 40 epochs", ""],
                          "verdict": ["PASS", "n/a (left to the full run)", "PASS"]})
    text = readme.agreement(full, quick)
    assert "verdict on 1 of the 2 claims both judge" in text
    assert "leaves 1 claim(s) to the full run" in text and "- b: needs 40 epochs" in text
    assert "leaves" not in readme.agreement(full, full.assign(reason=""))


def test_readme_agreement_compares_effects_by_sign_and_overlap():
    import pandas as pd

    from aebench.runctl import readme

    full = pd.DataFrame({"id": ["a", "b", "c"], "verdict": ["PASS", "PASS", "INCONCLUSIVE"],
                         "effect": [0.5, 0.2, -0.1], "effect_low": [0.4, 0.1, -0.3],
                         "effect_high": [0.6, 0.3, 0.1], "reason": ""})
    quick = full.assign(verdict=["PASS", "INCONCLUSIVE", "INCONCLUSIVE"],
                        effect=[0.3, -0.05, 0.05], effect_low=[0.2, -0.2, -0.1],
                        effect_high=[0.35, 0.15, 0.2])
    text = readme.agreement(full, quick)
    assert "verdict on 2 of the 3 claims both judge" in text
    assert "sign on 1 of the 3 claims" in text
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert rows["a"].rstrip(" |").endswith("no")        # [0.4, 0.6] and [0.2, 0.35]: apart
    assert rows["b"].rstrip(" |").endswith("yes")       # opposite signs, intervals overlap
    # a run published before effects were recorded: verdicts compared, effects not
    text = readme.agreement(full.drop(columns=["effect", "effect_low", "effect_high"]), quick)
    assert "predates recorded effect sizes" in text and "not recorded" in text


def test_claim_effect_is_the_margin_on_the_claims_side():
    from aebench import claims, verdicts

    up = verdicts.at_least({0: 1.0, 1: 1.2, 2: 1.4}, 1.0)
    down = verdicts.at_most({0: 1.0, 1: 1.2, 2: 1.4}, 1.0)
    e, lo, hi = claims.effect([up])
    assert e == pytest.approx(0.2) and lo == pytest.approx(up.ci_low - 1) and hi > e > lo
    e2, lo2, hi2 = claims.effect([down])
    assert e2 == pytest.approx(-0.2) and lo2 == pytest.approx(1 - up.ci_high)
    assert claims.effect([up, down])[0] == pytest.approx(-0.2)   # the weaker check decides
    band = verdicts.within_rel({0: 9.0, 1: 10.0, 2: 11.0}, 10.0, 0.5)   # band [5, 15]
    assert claims.effect([band])[0] == pytest.approx(5.0)


def test_only_the_sessions_this_runs_jobs_ran_in_count():
    from aebench.runctl.costs import overlapping

    h = 3600.0
    jobs = [(2 * h, 3 * h), (2.5 * h, 4 * h)]
    val_run, dry_run, this_run, report = (0, 1.5 * h), (1.6 * h, 1.7 * h), (1.9 * h, 4.1 * h), (4.2 * h, 4.3 * h)
    kept = overlapping([val_run, dry_run, this_run, report], jobs)
    assert kept == [this_run]
    assert busy_hours(kept + jobs) == pytest.approx(2.2)
