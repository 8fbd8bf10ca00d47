"""`python -m aebench.status` (aebench.runctl): where a run stands. Its jobs are those Snakemake
plans; how far each got is read from its outputs, logs, progress records and benchmarks."""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aebench import paths
from aebench.runctl import jobs as runjobs
from aebench.runctl import status, survey
from aebench.kinds import KINDS
from aebench.runctl.jobs import Job

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "workflow" / "presets" / "smoke.yaml"
NOW = 1_900_000_000.0


def write(path: Path, text: str = "", mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def done_run(root: Path, model: str, seed: int, seconds: float) -> None:
    write(root / f"results/runs/{model}/seed{seed}/run.json", "{}")
    write(root / f"results/benchmarks/runs/{model}/seed{seed}.tsv",
          f"s\th:m:s\tmax_rss\n{seconds}\t0:00:00\t100.0\n")


def job_log(lines: int, start="10:00:00", step=10, tail="") -> str:
    """A job log (aebench.runctl.runlog): stamped lines ``step`` seconds apart from ``start``."""
    h, m, s = map(int, start.split(":"))
    t0 = h * 3600 + m * 60 + s
    return "".join(f"{time.strftime('%H:%M:%S', time.gmtime(t0 + step * k))} line {k}\n"
                   for k in range(lines + 1)) + tail


def records(stage: str, epochs: int, of: int, secs=0.5, index=1, stages=1, names=("train_loss", "val_loss"),
            t0=NOW - 100) -> list[dict]:
    """A fit's per-epoch progress records, as the contract of aebench.paths.progress has them."""
    return [{"time": t0 + k, "stage": stage, "stage_index": index, "stages": stages, "epoch": k,
             "epochs": of, "seconds": secs, names[0]: 0.3 / k, names[1]: 0.31 / k}
            for k in range(1, epochs + 1)]


def write_progress(root: Path, model: str, seed: int, recs: list[dict], mtime=None, tail="") -> Path:
    return write(root / paths.progress(model, seed), "".join(json.dumps(r) + "\n" for r in recs) + tail,
                 mtime)


@pytest.fixture
def fake_run(tmp_path):
    """The smoke config's run, cut off: a lock, a few finished fits, one running, one stopped
    mid pre-training, one failed, one finished by its script but marked incomplete."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    write(tmp_path / ".snakemake/locks/0.input.lock", "results/data/digits/seed0.npz")
    for seed in (0, 1):  # each seed its own split of the data
        write(tmp_path / f"results/data/digits/seed{seed}.npz")
        write(tmp_path / f"results/benchmarks/data/digits/seed{seed}.tsv", "s\tmax_rss\n2.0\t1\n")
    done_run(tmp_path, "pca30", 0, 1.0)
    done_run(tmp_path, "pca30", 1, 3.0)
    done_run(tmp_path, "ae30", 0, 20.0)
    # ae30 seed 1: started 10:00:00, epoch 3 logged at 10:00:30, log written 10 s ago
    write(tmp_path / "results/logs/runs/ae30/seed1.log", job_log(3), NOW - 10)
    write_progress(tmp_path, "ae30", 1, records("train", 3, 30), NOW - 10)
    # ae2 seed 0: stopped an hour ago in its RBM stack's second layer (logs cross midnight)
    write(tmp_path / "results/logs/runs/ae2/seed0.log", job_log(4, start="23:59:50"), NOW - 3600)
    write_progress(tmp_path, "ae2", 0, records("rbm layer 1/3", 10, 10, 3.1, 1, 4, ("train_recon", "val_recon"))
                   + records("rbm layer 2/3", 4, 10, 3.1, 2, 4, ("train_recon", "val_recon")), NOW - 3600)
    write(tmp_path / "results/logs/runs/ae30_relu/seed0.log",
          job_log(2) + "Traceback (most recent call last):\n  ...\nRuntimeError: boom\n", NOW - 5)
    write_progress(tmp_path, "ae30_relu", 0, records("train", 2, 30), NOW - 5)
    # ae30_scratch seed 1: stopped by SIGTERM 5 s ago (checkpoint saved), lock still held
    write(tmp_path / "results/logs/runs/ae30_scratch/seed1.log", job_log(2)
          + "Traceback (most recent call last):\n  ...\naebench.checkpoint.Interrupted: stopped by "
          "SIGTERM at [ae30_scratch seed 1] epoch 3, minibatch 9; checkpoint saved\n", NOW - 5)
    write_progress(tmp_path, "ae30_scratch", 1, records("train", 2, 30), NOW - 5)
    done_run(tmp_path, "ae30_scratch", 0, 5.0)
    write(tmp_path / "results/logs/runs/ae30_scratch/seed0.log", job_log(30), NOW - 900)
    write_progress(tmp_path, "ae30_scratch", 0, records("train", 30, 30), NOW - 900)
    mark(tmp_path, "results/runs/ae30_scratch/seed0", NOW - 900)
    mark(tmp_path, "results/runs/ae30_relu/seed1", NOW - 20)  # just started: no log yet
    return tmp_path


def mark(root: Path, output: str, mtime: float) -> None:
    """Snakemake's marker of a started job (.snakemake/incomplete/<output in urlsafe base64>)."""
    key = base64.urlsafe_b64encode(output.encode()).decode()
    write(root / ".snakemake/incomplete" / key, "{}", mtime)


def test_progress_records_and_logs_are_read(tmp_path):
    # the last whole record of a fit, whatever its losses are called (the RBM's own names)
    recs = records("rbm layer 2/3", 4, 10, 3.1, 2, 4, ("train_recon", "val_recon"))
    f = write_progress(tmp_path, "ae2", 0, recs, tail='{"time": 1, "stage": "rbm la')  # killed mid-write
    p = survey.read_progress(f)
    assert (p["stage"], p["stage_index"], p["stages"], p["epoch"], p["epochs"], p["seconds"]) == \
        ("rbm layer 2/3", 2, 4, 4, 10, 3.1)
    assert p["losses"] == {"train_recon": 0.3 / 4, "val_recon": 0.31 / 4}
    assert status.stage(p) == "rbm layer 2/3 [2/4]" and status.losses(p) == "train_recon 0.075 val_recon 0.0775"
    assert survey.read_progress(tmp_path / "none.jsonl") is None
    assert survey.read_progress(write(tmp_path / "junk.jsonl", "not json\n{}\n")) is None
    # a log's stamped lines span 23:59:50 .. 00:00:30 (midnight wraps counted)
    info = survey.read_log(write(tmp_path / "a.log", job_log(4, start="23:59:50")))
    assert info == {"span": 40, "failed": False, "stopped": False}
    # a traceback that ends in the checkpoint saved on SIGTERM is a stop, not a failure
    stopped = write(tmp_path / "c.log", job_log(2) + "Traceback (most recent call last):\n  ...\n"
                    "aebench.checkpoint.Interrupted: stopped by SIGTERM at [ae30 seed 0] epoch 3, "
                    "minibatch 52; checkpoint saved\n")
    info = survey.read_log(stopped)
    assert info["stopped"] and not info["failed"]
    info = survey.read_log(write(tmp_path / "d.log", stopped.read_text().replace(
        "aebench.checkpoint.Interrupted", "RuntimeError")))
    assert info["failed"] and not info["stopped"]


def test_benchmark_file_reading(tmp_path):
    head = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    row = "13.48\t0:00:13\t490.19\t1\t1\t1\t1\t1\t81\t11.47\n"
    b = survey.read_bench(write(tmp_path / "a.tsv", head + row, mtime=1000.0))
    assert b == {"wall_seconds": 13.48, "cpu_seconds": 11.47, "max_rss_mb": 490.19, "end": 1000.0}
    # a value Snakemake could not measure is NaN, the wall time still counts
    b = survey.read_bench(write(tmp_path / "b.tsv", head + "2.0\t0:00:02\t-\t-\t-\t-\t-\t-\t-\t-\n"))
    assert b["wall_seconds"] == 2.0 and b["cpu_seconds"] != b["cpu_seconds"]
    # a job cut off before Snakemake wrote its row, or no file at all: nothing
    assert survey.read_bench(write(tmp_path / "c.tsv", head)) == {}
    assert survey.read_bench(tmp_path / "missing.tsv") == {}


def test_the_jobs_are_those_snakemake_plans(tmp_path):
    cfg = runjobs.load_config(ROOT, [str(SMOKE)])
    text = runjobs.dry_run(tmp_path, cfg)
    jobs, per_exp = runjobs.from_blocks(runjobs.parse_dry_run(text), cfg)
    # as many as Snakemake's own count (its "Job stats", less the target rule all)
    total = next(int(line.split()[1]) for line in text.splitlines() if line.startswith("total "))
    assert len(jobs) == total - 1
    assert list(per_exp) == cfg.enabled
    # data (each seed its own) + 4 models x 2 seeds + the experiment
    assert per_exp["e1"] == ["data digits seed0", "data digits seed1", "fit pca30 seed0", "fit pca30 seed1", "fit ae30 seed0",
                             "fit ae30 seed1", "fit ae30_scratch seed0", "fit ae30_scratch seed1",
                             "fit ae30_relu seed0", "fit ae30_relu seed1", "e1"]
    # E6: data + 4 stacks and 4 x 3 classifiers, and 2 anchor nets' stacks and classifiers, 2
    # seeds each + e6; E8 reads the stacks and evaluates each (rule evaluate)
    assert len(per_exp["e6"]) == 2 + (4 + 12 + 2 * 2) * 2 + 1
    assert len(per_exp["e8"]) == 2 + 4 * 2 * 2 + 1
    assert "eval e8 e6_dbn seed1" in per_exp["e8"] and jobs["eval e8 e6_dbn seed1"].kind == "evaluate"
    assert not [j for j in per_exp["e6"] if j.startswith("eval")]
    # E10's judge is fitted once (seed 0); E4 works on the text data
    assert [j for j in per_exp["e10"] if "judge" in j] == ["fit e10_judge seed0"]
    assert per_exp["e4"][0] == "data toytext seed0"
    # each job once over all, plus gather
    assert set(jobs) == {j for names in per_exp.values() for j in names} | {"gather"}
    fit = jobs["fit ae30 seed0"]
    assert (fit.threads, fit.kind, fit.rule, fit.output, fit.log, fit.bench) == (
        1, "autoencoder", "fit", paths.run("ae30", 0), paths.log("runs", "ae30", "seed0"),
        paths.benchmark("runs", "ae30", "seed0"))
    # --config as snakemake parses it; the run directory is left untouched
    _, per_exp = runjobs.dag(tmp_path, runjobs.load_config(ROOT, [str(SMOKE)], ["text_dataset=20news"]))
    assert per_exp["e4"][0] == "data 20news seed0" and not any(tmp_path.iterdir())
    # a rule status has no name for fails with the fix
    with pytest.raises(runjobs.aeconfig.ConfigError, match="NAMES does not name: add it"):
        runjobs.from_blocks([{"rule": "new_rule", "output": "x"}], cfg)


def test_status_of_a_cut_off_run(fake_run):
    cfg = status.load_config(fake_run, [str(SMOKE)])
    jobs, per_exp = status.dag(fake_run, cfg)
    assert survey.survey(fake_run, jobs, now=NOW)  # the lock is held
    state = {n: j.state for n, j in jobs.items() if j.state != "to do"}
    assert state == {"data digits seed0": "done", "data digits seed1": "done", "fit pca30 seed0": "done", "fit pca30 seed1": "done",
                     "fit ae30 seed0": "done", "fit ae30 seed1": "running", "fit ae2 seed0": "interrupted",
                     "fit ae30_relu seed0": "failed", "fit ae30_scratch seed0": "interrupted",
                     "fit ae30_scratch seed1": "interrupted", "fit ae30_relu seed1": "running"}
    assert jobs["fit ae30_relu seed1"].elapsed == 20 and jobs["fit ae30_scratch seed0"].marked
    run = jobs["fit ae30 seed1"]
    assert run.progress["epoch"] == 3 and run.progress["epochs"] == 30
    assert run.progress["losses"]["val_loss"] == pytest.approx(0.10333, abs=1e-5)
    assert run.elapsed == 30 + 10 and run.age == 10  # started 30 s before its last line, 10 s ago
    stopped = jobs["fit ae2 seed0"]
    assert stopped.progress["stage"] == "rbm layer 2/3" and stopped.progress["stage_index"] == 2
    assert stopped.elapsed == 40 and stopped.age == 3600
    assert jobs["fit ae30_scratch seed0"].progress["epoch"] == 30  # its last record

    est = survey.estimate(jobs, cores=2)
    assert (run.left, run.basis) == (27 * 0.5, "model")  # 20 s - 40 s elapsed < 27 epochs x 0.5 s
    assert (stopped.left, stopped.basis) == (20.0, "kind")  # starts over: the one finished autoencoder
    assert (jobs["fit pca2 seed0"].left, jobs["fit pca2 seed0"].basis) == (2.0, "kind")  # median of 1, 3
    assert (jobs["e1"].left, jobs["e1"].basis) == (2.0, "median")  # of 2, 2 (data, two seeds), 1, 3, 20
    assert jobs["fit ae30_scratch seed1"].left == 20.0
    started = jobs["fit ae30_relu seed1"]
    assert (started.left, started.basis) == (0, "kind")  # 20 s (the kind's median) - 20 s elapsed
    todo = [j for j in jobs.values() if j.state != "done"]
    assert est["jobs"] == len(todo) == len(jobs) - 5 and est["unknown"] == 0 and est["finished"] == 5
    assert est["seconds"] == pytest.approx(sum(j.left for j in todo) / 2)  # one thread per smoke job

    text = status.report(jobs, per_exp, True, est, fake_run)
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.startswith("e")}
    assert rows["e1"] == ["5/11", "45%", "2", "2", "1", "1"]
    assert rows["e3"] == ["2/7", "28%", "0", "1", "0", "4"]
    running = next(line for line in text.splitlines() if line.startswith("fit ae30 seed1 "))
    assert running.split()[3:] == ["running", "train", "3/30", "0:00:40", "10s", "train_loss", "0.1",
                                   "val_loss", "0.10333"]
    assert "rbm layer 2/3 [2/4]" in text and "train_recon 0.075" in text and "(no log yet)" in text and "(an estimate)" in text

    # once Snakemake is gone (no lock), nothing runs any more
    shutil.rmtree(fake_run / ".snakemake" / "locks")
    assert not survey.survey(fake_run, jobs, now=NOW)
    assert jobs["fit ae30 seed1"].state == jobs["fit ae30_relu seed1"].state == "interrupted"
    assert jobs["fit ae30 seed1"].elapsed == 30
    text = status.report(jobs, per_exp, False, survey.estimate(jobs, 2))
    assert "resume with --rerun-incomplete" in text


def test_estimate_spreads_core_seconds_and_keeps_the_longest_job():
    def job(name, model, kind, threads, state="to do", seconds=None):
        return Job(name, kind, model, "", threads=threads, state=state, seconds=seconds)

    jobs = [job("a0", "a", "k", 4, "done", 100.0), job("b0", "b", "k", 1, "done", 10.0),
            job("a1", "a", "k", 4), job("c0", "c", "k", 1), job("x", None, "other", 1)]
    jobs = {j.name: j for j in jobs}
    est = survey.estimate(jobs, cores=4)
    assert [(jobs[n].left, jobs[n].basis) for n in ("a1", "c0", "x")] == [
        (100.0, "model"), (55.0, "kind"), (55.0, "median")]
    assert est["seconds"] == (100 * 4 + 55 + 55) / 4
    assert survey.estimate(jobs, cores=64)["seconds"] == 100.0  # never below the longest job
    assert survey.estimate({"n": job("n", "n", "k", 1)}, cores=1)["unknown"] == 1  # nothing finished


def test_jobs_a_publication_finished_are_not_left_to_do(fake_run, capsys, monkeypatch):
    """A run resumed on a new machine with restore_from: what the publication records as done
    (copied back, or no longer needed) counts as done, times the estimate, and is not to run."""
    import pandas as pd

    cfg = status.load_config(fake_run, [str(SMOKE)])
    jobs, _ = status.dag(fake_run, cfg)
    survey.survey(fake_run, jobs, now=NOW)
    before = survey.estimate(jobs, cores=2)
    pub = fake_run / "published"
    pub.mkdir()
    pd.DataFrame([{"job": "fit ae30 seed1", "state": "done", "wall_seconds": 600.0},
                  {"job": "fit ae2 seed0", "state": "done", "wall_seconds": 40.0},
                  {"job": "fit pca30 seed0", "state": "done", "wall_seconds": 99.0},  # done here too
                  {"job": "e3", "state": "to do", "wall_seconds": None},
                  {"job": "no such job", "state": "done", "wall_seconds": 1.0}]
                 ).to_csv(pub / "jobs.csv", index=False)
    assert sorted(survey.adopt(jobs, pub)) == ["fit ae2 seed0", "fit ae30 seed1"]
    assert jobs["fit ae30 seed1"].seconds == 600.0 and jobs["fit pca30 seed0"].seconds == 1.0
    assert jobs["e3"].state == "to do"
    after = survey.estimate(jobs, cores=2)
    assert after["jobs"] == before["jobs"] - 2 and after["finished"] == before["finished"] + 2
    assert (jobs["fit ae2 seed1"].left, jobs["fit ae2 seed1"].basis) == (40.0, "model")  # its published seed
    assert survey.adopt(jobs, fake_run / "nowhere") == []

    # the CLI reads restore_from from the config it is given
    monkeypatch.chdir(fake_run)
    (fake_run / "restore.yaml").write_text("restore_from: published\n")
    assert status.main(["--configfile", str(SMOKE), "restore.yaml", "--cores", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 job(s) done as published in" in out
    assert next(line for line in out.splitlines() if line.startswith("e1 ")).split()[1] == "6/11"  # 5 (data of two seeds) + ae30 seed1


def test_cli_prints_the_tables(fake_run, capsys, monkeypatch):
    monkeypatch.chdir(fake_run)
    assert status.main(["--configfile", str(SMOKE), "--cores", "2"]) == 0
    out = capsys.readouterr().out
    assert "e6 " in out and "fit ae2 seed0" in out and "2 core(s)" in out
    assert status.main(["--configfile", "missing.yaml"]) == 2


def test_status_of_a_real_interrupted_run(tmp_path):
    """Snakemake on one fit whose training would run for ever, killed hard mid-epoch: the
    lock and Snakemake's incomplete marker stay behind, the fit's progress record stops
    growing. (Needs the training loops' progress writer, aebench.paths.progress.)"""
    from _workflow import copy_workflow

    work = copy_workflow(tmp_path / "run")
    write(work / "long.yaml", "models:\n  ae30_relu: {train: {epochs: 100000, patience: 100000}}\n")
    configs = ["workflow/presets/smoke.yaml", "long.yaml"]
    record = work / paths.progress("ae30_relu", 0)
    with open(tmp_path / "snakemake.out", "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1",
                                 "results/runs/ae30_relu/seed0", "--configfile", *configs], cwd=work,
                                start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 240
        while not (record.exists() and record.read_text().count("\n") >= 3):
            assert proc.poll() is None and time.time() < deadline, \
                "the fit never recorded epoch 3:\n" + (tmp_path / "snakemake.out").read_text()[-3000:]
            time.sleep(0.5)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job, at once
        except ProcessLookupError:
            pass
        proc.wait()

    jobs, per_exp = status.dag(work, status.load_config(work, configs))
    assert survey.survey(work, jobs)  # a hard kill leaves the lock
    fit = jobs["fit ae30_relu seed0"]
    assert fit.state == "running" and fit.progress["epochs"] == 100000 and fit.progress["epoch"] >= 3
    assert fit.output in survey.incomplete_outputs(work)
    assert jobs["data digits seed0"].state == "done" and jobs["data digits seed0"].seconds > 0
    survey.survey(work, jobs, now=time.time() + 3600)  # an hour later: the job went stale
    assert fit.state == "interrupted" and fit.age > 3000 and 0 <= fit.elapsed < 600
    est = survey.estimate(jobs, cores=1)
    # from the one finished job: the other data jobs (digits seed 1, toytext's two seeds) by
    # their kind (data), every other job by the median
    assert est["finished"] == 1 and est["unknown"] == 0
    assert est["bases"] == {"model": 0, "kind": 3, "median": est["jobs"] - 3}
    out = subprocess.run([sys.executable, "-m", "aebench.status", "--configfile", *configs], cwd=work,
                         capture_output=True, text=True, check=True).stdout
    e1 = next(line for line in out.splitlines() if line.startswith("e1 "))
    assert e1.split()[1:4] == ["1/11", "9%", "1"] and "fit ae30_relu seed0" in out  # data of two seeds


def test_status_lists_snakemakes_jobs_and_every_fits_progress(smoke_run, tmp_path):
    """On the smoke run: status's jobs are exactly those Snakemake runs in a fresh copy, all
    done, and every fit that trains with torch left its per-epoch record, through every stage
    (each RBM layer of a stack or a text autoencoder's pre-training included). The progress
    part needs the training loops' writer (aebench.paths.progress)."""
    from _workflow import SMOKE, copy_workflow, snakemake

    fresh = copy_workflow(tmp_path / "fresh")
    planned = runjobs.parse_dry_run(snakemake(fresh, *SMOKE, "--dry-run", "--nocolor").stdout)
    outputs = {b["output"].split(", ")[0] for b in planned if "output" in b}
    cfg = status.load_config(smoke_run, ["workflow/presets/smoke.yaml"])
    jobs, per_exp = status.dag(smoke_run, cfg)
    assert {j.output for j in jobs.values()} == outputs and len(jobs) == len(outputs)
    assert not survey.survey(smoke_run, jobs)
    assert {j.state for j in jobs.values()} == {"done"}

    fits = [j for j in jobs.values() if j.model and KINDS[j.kind].torch_based]
    assert {j.kind for j in fits} >= {"autoencoder", "stack", "classifier"}
    for j in fits:
        if not (smoke_run / j.output / "history.csv").read_text().splitlines()[1:]:
            # a stack of random layers (E6's control) trains no epoch: nothing to show
            assert j.progress is None, f"{j.name} trained no epoch but shows progress"
            continue
        assert j.progress is not None, f"{j.name} left no progress record"
        recs = [json.loads(line) for line in (smoke_run / paths.progress(j.model, j.seed)).read_text().splitlines()]
        stages = {r["stage_index"]: r["stage"] for r in recs}
        assert sorted(stages) == list(range(1, recs[-1]["stages"] + 1)), f"{j.name}: stages {stages}"
        assert all(isinstance(v, float) for r in recs for k, v in r.items() if k not in survey.RECORD_KEYS)
        if ((cfg.models[j.model].to_dict().get("init") or {}).get("kind")) == "rbm":
            layers = [s for s in stages.values() if "rbm" in s.lower()]
            assert len(layers) == recs[-1]["stages"] - 1 or j.kind == "stack", f"{j.name}: {stages}"
            assert layers, f"{j.name}: no RBM layer in {stages}"


def test_before_any_job_finished_time_left_is_unknown_not_zero(tmp_path, capsys, monkeypatch):
    """A fresh checkout: nothing finished, so nothing times the jobs; the estimate used to
    read "about 0:00:00", as if the run were done (issue 42)."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    monkeypatch.chdir(tmp_path)
    assert status.main(["--configfile", str(SMOKE), "--cores", "2"]) == 0
    out = capsys.readouterr().out
    assert "time left: unknown until a job finishes" in out
    assert "0:00:00" not in out
    # once one job has finished, the estimate is back
    jobs = {"a": Job("a", "k", "m", "", threads=1, state="done", seconds=30.0),
            "b": Job("b", "k", "m", "", threads=1)}
    assert status.time_left(survey.estimate(jobs, cores=1))[0] == \
        "time left: about 0:00:30 on 1 core(s) (an estimate)"


def test_status_plans_a_run_whose_checks_concern_another_machine(fake_run, capsys, monkeypatch):
    """Status plans the jobs in an empty scratch directory: a relative mirror, downloads off
    or `device: cuda` (a login node without a GPU) must not fail that plan (aebench.preflight
    checks them for the run itself)."""
    monkeypatch.chdir(fake_run)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    (fake_run / "mirror").mkdir()
    assert status.main(["--configfile", str(SMOKE), "--cores", "2", "--config", "data_mirror=mirror",
                        "allow_download=false", "device=cuda"]) == 0
    assert "fit ae2 seed0" in capsys.readouterr().out
