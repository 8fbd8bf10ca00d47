"""aebench.runctl.ledger: a job's cost is the sum of its attempts, also when one was killed."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from aebench.runctl import ledger


def test_attempts_sum_and_fresh_start_drops_old_records(tmp_path):
    d = tmp_path / "job"
    with ledger.attempt(d, fresh=True):
        sum(range(10**6))
    with pytest.raises(KeyboardInterrupt):
        with ledger.attempt(d, fresh=False):
            raise KeyboardInterrupt
    recs = [json.loads(p.read_text()) for p in sorted(d.glob("attempt*.json"))]
    assert [r["status"] for r in recs] == ["done", "interrupted"]
    t = ledger.total(d)
    assert t["attempts"] == 2
    assert t["wall_seconds"] == pytest.approx(sum(r["wall_seconds"] for r in recs))
    assert t["cpu_seconds"] > 0 and t["max_rss_mb"] > 0
    with ledger.attempt(d, fresh=True):
        pass
    assert ledger.total(d)["attempts"] == 1


def test_an_attempt_killed_without_warning_leaves_its_record(tmp_path):
    d = tmp_path / "job"
    code = ("import time, sys; from aebench.runctl import ledger\n"
            f"with ledger.attempt({str(d)!r}, fresh=True, interval=0.1):\n"
            "    t = time.monotonic()\n"
            "    while time.monotonic() - t < 60: pass\n")
    started = time.monotonic()
    p = subprocess.Popen([sys.executable, "-c", code], env={**os.environ})
    # killed once its periodic record shows 1.5 s of work: the child's start-up (imports) is
    # slow on a loaded machine, so a fixed sleep could kill it before its first record
    record, wall = d / "attempt0.json", 0.0
    while wall < 1.5 and time.monotonic() - started < 50:
        time.sleep(0.05)
        try:
            wall = json.loads(record.read_text())["wall_seconds"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
    p.send_signal(signal.SIGKILL)
    p.wait()
    rec = json.loads(record.read_text())
    assert rec["status"] == "running"  # never finished, but its time so far is kept
    assert 1.5 <= rec["wall_seconds"] <= time.monotonic() - started and rec["cpu_seconds"] > 0.3


def test_a_final_record_that_cannot_be_written_fails_no_finished_job(tmp_path, monkeypatch, capsys):
    """Disk full at the end: the finished job stands (its checkpoint is already cleared, and a
    failed job's output is deleted), the last periodic record stays, and the log says so."""
    import pathlib

    d = tmp_path / "job"
    real = pathlib.Path.write_text
    finished = []

    def full_disk(self, *a, **k):
        if finished:
            raise OSError(28, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    with ledger.attempt(d, fresh=True):
        finished.append(True)
    assert json.loads((d / "attempt0.json").read_text())["status"] == "running"
    assert "No space left on device" in capsys.readouterr().err
