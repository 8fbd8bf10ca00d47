"""`python -m aebench.status`: where a run stands, read from its logs, outputs and benchmarks."""

import base64
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aebench import status
from aebench.status import Job

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


def epoch_log(name: str, epochs: int, of: int, start="10:00:00", secs=0.5, prefix="") -> str:
    h, m, s = map(int, start.split(":"))
    t0 = h * 3600 + m * 60 + s
    stamp = lambda k: time.strftime("%H:%M:%S", time.gmtime(t0 + k))  # noqa: E731
    lines = [f"{stamp(0)} host vm, 1 thread(s)", prefix and f"{stamp(0)} {prefix}"]
    lines += [f"{stamp(10 * k)} [{name}] epoch {k:4d}/{of}  train {0.3 / k:.5f}  val {0.31 / k:.5f}"
              f"  *  {secs}s" for k in range(1, epochs + 1)]
    return "\n".join(x for x in lines if x) + "\n"


@pytest.fixture
def fake_run(tmp_path):
    """The smoke config's run, cut off: a lock, a few finished fits, one running, one stopped
    mid pre-training, one failed, one finished by its script but marked incomplete."""
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    write(tmp_path / ".snakemake/locks/0.input.lock", "results/data/digits.npz")
    write(tmp_path / "results/data/digits.npz")
    write(tmp_path / "results/benchmarks/data/digits.tsv", "s\tmax_rss\n2.0\t1\n")
    done_run(tmp_path, "pca30", 0, 1.0)
    done_run(tmp_path, "pca30", 1, 3.0)
    done_run(tmp_path, "ae30", 0, 20.0)
    # ae30 seed 1: started 10:00:00, epoch 3 logged at 10:00:30, log written 10 s ago
    write(tmp_path / "results/logs/runs/ae30/seed1.log", epoch_log("ae30 seed 1", 3, 30), NOW - 10)
    # ae2 seed 0: stopped an hour ago in its RBM stack's second layer (logs cross midnight)
    write(tmp_path / "results/logs/runs/ae2/seed0.log",
          epoch_log("rbm layer 2", 4, 10, start="23:59:50", secs=3.1,
                    prefix="layer 2/3: 64 -> 32, on the codes of 1 frozen layer(s)")
          .replace("train 0", "train recon 0").replace("val 0", "val recon 0"), NOW - 3600)
    write(tmp_path / "results/logs/runs/ae30_relu/seed0.log",
          epoch_log("ae30_relu seed 0", 2, 30) + "Traceback (most recent call last):\n  ...\n"
          "RuntimeError: boom\n", NOW - 5)
    # ae30_scratch seed 1: stopped by SIGTERM 5 s ago (checkpoint saved), lock still held
    write(tmp_path / "results/logs/runs/ae30_scratch/seed1.log", epoch_log("ae30_scratch seed 1", 2, 30)
          + "Traceback (most recent call last):\n  ...\naebench.checkpoint.Interrupted: stopped by "
          "SIGTERM at [ae30_scratch seed 1] epoch 3, minibatch 9; checkpoint saved\n", NOW - 5)
    done_run(tmp_path, "ae30_scratch", 0, 5.0)
    write(tmp_path / "results/logs/runs/ae30_scratch/seed0.log", epoch_log("ae30_scratch seed 0", 30, 30),
          NOW - 900)
    mark(tmp_path, "results/runs/ae30_scratch/seed0", NOW - 900)
    mark(tmp_path, "results/runs/ae30_relu/seed1", NOW - 20)  # just started: no log yet
    return tmp_path


def mark(root: Path, output: str, mtime: float) -> None:
    """Snakemake's marker of a started job (.snakemake/incomplete/<output in urlsafe base64>)."""
    key = base64.urlsafe_b64encode(output.encode()).decode()
    write(root / ".snakemake/incomplete" / key, "{}", mtime)


def test_log_parsing_reads_epoch_losses_phase_and_span(tmp_path):
    log = write(tmp_path / "a.log", epoch_log("rbm layer 2", 4, 10, start="23:59:50", secs=3.1,
                                              prefix="layer 2/3: 64 -> 32, on the codes of 1 frozen layer(s)")
                .replace("train 0", "train recon 0").replace("val 0", "val recon 0"))
    info = status.read_log(log)
    assert info["progress"] == {"phase": "rbm layer 2/3", "epoch": 4, "max": 10, "train": "0.07500",
                                "val": "0.07750", "secs": 3.1}
    assert info["span"] == 40 and not info["failed"]  # 23:59:50 .. 00:00:30
    # a traceback that ends in the checkpoint saved on SIGTERM is a stop, not a failure
    stopped = write(tmp_path / "c.log", epoch_log("ae30 seed 0", 2, 30) +
                    "Traceback (most recent call last):\n  ...\naebench.checkpoint.Interrupted: "
                    "stopped by SIGTERM at [ae30 seed 0] epoch 3, minibatch 52; checkpoint saved\n")
    info = status.read_log(stopped)
    assert info["stopped"] and not info["failed"] and info["progress"]["epoch"] == 2
    assert not status.read_log(write(tmp_path / "d.log", stopped.read_text().replace(
        "aebench.checkpoint.Interrupted", "RuntimeError")))["stopped"]
    line = "23:19:12 [ae30 seed 0] epoch    3/300  train 0.10234  val 0.10411  *  5.2s\n"
    info = status.read_log(write(tmp_path / "b.log", line))
    assert info["progress"] == {"phase": "ae30 seed 0", "epoch": 3, "max": 300, "train": "0.10234",
                                "val": "0.10411", "secs": 5.2}


def test_benchmark_file_reading(tmp_path):
    head = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    row = "13.48\t0:00:13\t490.19\t1\t1\t1\t1\t1\t81\t11.47\n"
    b = status.read_bench(write(tmp_path / "a.tsv", head + row, mtime=1000.0))
    assert b == {"wall_seconds": 13.48, "cpu_seconds": 11.47, "max_rss_mb": 490.19, "end": 1000.0}
    # a value Snakemake could not measure is NaN, the wall time still counts
    b = status.read_bench(write(tmp_path / "b.tsv", head + "2.0\t0:00:02\t-\t-\t-\t-\t-\t-\t-\t-\n"))
    assert b["wall_seconds"] == 2.0 and b["cpu_seconds"] != b["cpu_seconds"]
    # a job cut off before Snakemake wrote its row, or no file at all: nothing
    assert status.read_bench(write(tmp_path / "c.tsv", head)) == {}
    assert status.read_bench(tmp_path / "missing.tsv") == {}


def test_plan_counts_every_job_of_each_experiment():
    cfg = status.load_config(ROOT, [str(SMOKE)])
    jobs, per_exp = status.plan(cfg)
    assert list(per_exp) == cfg.enabled
    # data + 4 models x 2 seeds + the experiment
    assert per_exp["e1"] == ["data digits", "fit pca30 seed0", "fit pca30 seed1", "fit ae30 seed0",
                             "fit ae30 seed1", "fit ae30_scratch seed0", "fit ae30_scratch seed1",
                             "fit ae30_relu seed0", "fit ae30_relu seed1", "e1"]
    # E6: data + 4 stacks and 4 x 3 classifiers, 2 seeds each + e6; E8 reads the stacks and
    # evaluates each (rule evaluate)
    assert len(per_exp["e6"]) == 1 + (4 + 12) * 2 + 1 and len(per_exp["e8"]) == 1 + 4 * 2 * 2 + 1
    assert "eval e8 e6_dbn seed1" in per_exp["e8"] and jobs["eval e8 e6_dbn seed1"].kind == "evaluate"
    assert not [j for j in per_exp["e6"] if j.startswith("eval")]
    # E10's judge is fitted once (seed 0); E4 works on the text data
    assert [j for j in per_exp["e10"] if "judge" in j] == ["fit e10_judge seed0"]
    assert per_exp["e4"][0] == "data toytext"
    # each job once over all, plus gather
    assert set(jobs) == {j for names in per_exp.values() for j in names} | {"gather"}
    assert jobs["fit ae30 seed0"].threads == 1 and jobs["fit ae30 seed0"].kind == "autoencoder"
    # --config as snakemake parses it
    _, per_exp = status.plan(status.load_config(ROOT, [str(SMOKE)], ["text_dataset=20news"]))
    assert per_exp["e4"][0] == "data 20news"


def test_status_of_a_cut_off_run(fake_run):
    cfg = status.load_config(fake_run, [str(SMOKE)])
    jobs, per_exp = status.plan(cfg)
    assert status.survey(fake_run, jobs, now=NOW)  # the lock is held
    state = {n: j.state for n, j in jobs.items() if j.state != "to do"}
    assert state == {"data digits": "done", "fit pca30 seed0": "done", "fit pca30 seed1": "done",
                     "fit ae30 seed0": "done", "fit ae30 seed1": "running", "fit ae2 seed0": "interrupted",
                     "fit ae30_relu seed0": "failed", "fit ae30_scratch seed0": "interrupted",
                     "fit ae30_scratch seed1": "interrupted", "fit ae30_relu seed1": "running"}
    assert jobs["fit ae30_relu seed1"].elapsed == 20 and jobs["fit ae30_scratch seed0"].marked
    run = jobs["fit ae30 seed1"]
    assert run.progress["epoch"] == 3 and run.progress["max"] == 30 and run.progress["val"] == "0.10333"
    assert run.elapsed == 30 + 10 and run.age == 10  # started 30 s before its last line, 10 s ago
    stopped = jobs["fit ae2 seed0"]
    assert stopped.progress["phase"] == "rbm layer 2/3" and stopped.elapsed == 40 and stopped.age == 3600

    est = status.estimate(jobs, cores=2)
    assert (run.left, run.basis) == (27 * 0.5, "model")  # 20 s - 40 s elapsed < 27 epochs x 0.5 s
    assert (stopped.left, stopped.basis) == (20.0, "kind")  # starts over: the one finished autoencoder
    assert (jobs["fit pca2 seed0"].left, jobs["fit pca2 seed0"].basis) == (2.0, "kind")  # median of 1, 3
    assert (jobs["e1"].left, jobs["e1"].basis) == (2.5, "median")  # of 2, 1, 3, 20
    assert jobs["fit ae30_scratch seed1"].left == 20.0
    started = jobs["fit ae30_relu seed1"]
    assert (started.left, started.basis) == (0, "kind")  # 20 s (the kind's median) - 20 s elapsed
    todo = [j for j in jobs.values() if j.state != "done"]
    assert est["jobs"] == len(todo) == len(jobs) - 4 and est["unknown"] == 0 and est["finished"] == 4
    assert est["seconds"] == pytest.approx(sum(j.left for j in todo) / 2)  # one thread per smoke job

    text = status.report(jobs, per_exp, True, est, fake_run)
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.startswith("e")}
    assert rows["e1"] == ["4/10", "40%", "2", "2", "1", "1"]
    assert rows["e3"] == ["1/6", "16%", "0", "1", "0", "4"]
    running = next(line for line in text.splitlines() if line.startswith("fit ae30 seed1 "))
    assert running.split()[3:] == ["running", "train", "3/30", "0.10000", "0.10333", "0:00:40", "10s"]
    assert "rbm layer 2/3" in text and "(no log yet)" in text and "(an estimate)" in text

    # once Snakemake is gone (no lock), nothing runs any more
    shutil.rmtree(fake_run / ".snakemake" / "locks")
    assert not status.survey(fake_run, jobs, now=NOW)
    assert jobs["fit ae30 seed1"].state == jobs["fit ae30_relu seed1"].state == "interrupted"
    assert jobs["fit ae30 seed1"].elapsed == 30
    text = status.report(jobs, per_exp, False, status.estimate(jobs, 2))
    assert "resume with --rerun-incomplete" in text


def test_estimate_spreads_core_seconds_and_keeps_the_longest_job():
    def job(name, model, kind, threads, state="to do", seconds=None):
        return Job(name, kind, model, "", (), threads, state=state, seconds=seconds)

    jobs = [job("a0", "a", "k", 4, "done", 100.0), job("b0", "b", "k", 1, "done", 10.0),
            job("a1", "a", "k", 4), job("c0", "c", "k", 1), job("x", None, "other", 1)]
    jobs = {j.name: j for j in jobs}
    est = status.estimate(jobs, cores=4)
    assert [(jobs[n].left, jobs[n].basis) for n in ("a1", "c0", "x")] == [
        (100.0, "model"), (55.0, "kind"), (55.0, "median")]
    assert est["seconds"] == (100 * 4 + 55 + 55) / 4
    assert status.estimate(jobs, cores=64)["seconds"] == 100.0  # never below the longest job
    assert status.estimate({"n": job("n", "n", "k", 1)}, cores=1)["unknown"] == 1  # nothing finished


def test_jobs_a_publication_finished_are_not_left_to_do(fake_run, capsys, monkeypatch):
    """A run resumed on a new machine with restore_from: what the publication records as done
    (copied back, or no longer needed) counts as done, times the estimate, and is not to run."""
    import pandas as pd

    cfg = status.load_config(fake_run, [str(SMOKE)])
    jobs, _ = status.plan(cfg)
    status.survey(fake_run, jobs, now=NOW)
    before = status.estimate(jobs, cores=2)
    pub = fake_run / "published"
    pub.mkdir()
    pd.DataFrame([{"job": "fit ae30 seed1", "state": "done", "wall_seconds": 600.0},
                  {"job": "fit ae2 seed0", "state": "done", "wall_seconds": 40.0},
                  {"job": "fit pca30 seed0", "state": "done", "wall_seconds": 99.0},  # done here too
                  {"job": "e3", "state": "to do", "wall_seconds": None},
                  {"job": "no such job", "state": "done", "wall_seconds": 1.0}]
                 ).to_csv(pub / "jobs.csv", index=False)
    assert sorted(status.adopt(jobs, pub)) == ["fit ae2 seed0", "fit ae30 seed1"]
    assert jobs["fit ae30 seed1"].seconds == 600.0 and jobs["fit pca30 seed0"].seconds == 1.0
    assert jobs["e3"].state == "to do"
    after = status.estimate(jobs, cores=2)
    assert after["jobs"] == before["jobs"] - 2 and after["finished"] == before["finished"] + 2
    assert (jobs["fit ae2 seed1"].left, jobs["fit ae2 seed1"].basis) == (40.0, "model")  # its published seed
    assert status.adopt(jobs, fake_run / "nowhere") == []

    # the CLI reads restore_from from the config it is given
    monkeypatch.chdir(fake_run)
    (fake_run / "restore.yaml").write_text("restore_from: published\n")
    assert status.main(["--configfile", str(SMOKE), "restore.yaml", "--cores", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 job(s) done as published in" in out
    assert next(line for line in out.splitlines() if line.startswith("e1 ")).split()[1] == "5/10"  # 4 + ae30 seed1


def test_cli_prints_the_tables(fake_run, capsys, monkeypatch):
    monkeypatch.chdir(fake_run)
    assert status.main(["--configfile", str(SMOKE), "--cores", "2"]) == 0
    out = capsys.readouterr().out
    assert "e6 " in out and "fit ae2 seed0" in out and "2 core(s)" in out
    assert status.main(["--configfile", "missing.yaml"]) == 2


def test_status_of_a_real_interrupted_run(tmp_path):
    """Snakemake on one fit whose training would run for ever, killed hard mid-epoch: the
    lock and Snakemake's incomplete marker stay behind, the log stops growing."""
    from _workflow import copy_workflow

    work = copy_workflow(tmp_path / "run")
    write(work / "long.yaml", "models:\n  ae30_relu: {train: {epochs: 100000, patience: 100000}}\n")
    configs = ["workflow/presets/smoke.yaml", "long.yaml"]
    log = work / "results/logs/runs/ae30_relu/seed0.log"
    with open(tmp_path / "snakemake.out", "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1",
                                 "results/runs/ae30_relu/seed0", "--configfile", *configs], cwd=work,
                                start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 240
        while not (log.exists() and log.read_text().count("] epoch ") >= 3):
            assert proc.poll() is None and time.time() < deadline, \
                "the fit never reached epoch 3:\n" + (tmp_path / "snakemake.out").read_text()[-3000:]
            time.sleep(0.5)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job, at once
        except ProcessLookupError:
            pass
        proc.wait()

    jobs, per_exp = status.plan(status.load_config(work, configs))
    assert status.survey(work, jobs)  # a hard kill leaves the lock
    fit = jobs["fit ae30_relu seed0"]
    assert fit.state == "running" and fit.progress["max"] == 100000 and fit.progress["epoch"] >= 3
    assert fit.output in status.incomplete_outputs(work)
    assert jobs["data digits"].state == "done" and jobs["data digits"].seconds > 0
    status.survey(work, jobs, now=time.time() + 3600)  # an hour later: the log went stale
    assert fit.state == "interrupted" and fit.age > 3000 and 0 <= fit.elapsed < 600
    est = status.estimate(jobs, cores=1)
    # from the one finished job: the text data by its kind (data), every other job by the median
    assert est["finished"] == 1 and est["unknown"] == 0
    assert est["bases"] == {"model": 0, "kind": 1, "median": est["jobs"] - 1}
    out = subprocess.run([sys.executable, "-m", "aebench.status", "--configfile", *configs], cwd=work,
                         capture_output=True, text=True, check=True).stdout
    e1 = next(line for line in out.splitlines() if line.startswith("e1 "))
    assert e1.split()[1:4] == ["1/10", "10%", "1"] and "fit ae30_relu seed0" in out
