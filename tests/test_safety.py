"""Issue 41, "nothing silently wrong": publish, restore and resume refuse what they cannot vouch
for (hostile names and paths, foreign fits, another config, symlinks, truncated manifests),
each with one message naming the cause and the fix. Small fake runs: no fit is trained."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from aebench import config as aeconfig
from aebench.runctl import publish, restore
from aebench.runctl.jobs import load_config

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "workflow" / "presets" / "smoke.yaml"


def fake_run(root: Path, spec_change: dict | None = None) -> tuple[Path, aeconfig.Config]:
    """A run directory holding the smoke config and one finished fit (pca30 seed 0) whose
    run.json holds the spec this config gives (updated with ``spec_change``)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "config.yaml", root / "config.yaml")
    cfg = load_config(root, [str(SMOKE)])
    run = root / "results/runs/pca30/seed0"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"spec": {**cfg.models["pca30"].to_dict(),
                                                       **(spec_change or {})}}))
    return root, cfg


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- model names


@pytest.mark.parametrize("name", ["../../escape", "a b", "$(touch x)", "/abs", ".hidden", "x..y"])
def test_a_model_name_that_is_no_plain_directory_name_is_refused(name):
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["models"][name] = raw["models"][next(iter(raw["models"]))]
    with pytest.raises(aeconfig.ConfigError, match="names a directory") as e:
        aeconfig.load(raw)
    assert e.value.path == ("models", name)


def test_wildcard_constraints_match_a_dotted_name_literally():
    """one_of (common.smk) escapes each name: 'a.b' must not match 'aXb'."""
    import re

    text = (ROOT / "workflow/rules/common.smk").read_text()
    src = text[text.index("def one_of"):text.index("wildcard_constraints")]
    scope = {"re": re}
    exec(src, scope)
    pattern = scope["one_of"](["a.b", "c"])
    assert re.fullmatch(pattern, "a.b") and not re.fullmatch(pattern, "aXb")


# --------------------------------------------------------------------------- publish


def test_publish_refuses_fits_made_with_another_config(tmp_path):
    root, cfg = fake_run(tmp_path / "run", {"params": {"n_components": 3}})
    with pytest.raises(publish.PublishError, match=r"another spec .*fit pca30 seed0.*--configfile"):
        publish.publish(root, root / "results/published/x", "x", cfg, cores=2)
    assert not (root / "results/published/x").exists()


@pytest.mark.parametrize("name", ["../x", "a b", "$(touch pwned)", "/tmp/abs", ".."])
def test_publish_refuses_a_hostile_name_before_anything(tmp_path, monkeypatch, capsys, name):
    root, _ = fake_run(tmp_path / "run")
    monkeypatch.chdir(root)
    assert publish.main([name, "--configfile", str(SMOKE)]) == 2
    assert "is refused" in capsys.readouterr().err
    assert not (root / "results/published").exists() and not (root / "pwned").exists()


@pytest.mark.parametrize("to", ["elsewhere/x", ".", "results", "results/published", "results/runs/x",
                                "results/published/../../escape"])
def test_publish_to_must_be_a_folder_of_its_own_under_results_published(tmp_path, monkeypatch, capsys, to):
    root, _ = fake_run(tmp_path / "run")
    monkeypatch.chdir(root)
    assert publish.main(["x", "--configfile", str(SMOKE), "--to", to]) == 2
    err = capsys.readouterr().err
    assert "--to" in err or "is the run" in err
    assert (root / "results/runs/pca30/seed0/run.json").exists()  # the run is untouched
    assert not (root / "elsewhere").exists() and not (tmp_path / "escape").exists()


def test_publish_writes_preregistration_hashes_and_refuses_another_configs_publication(tmp_path, monkeypatch):
    root, cfg = fake_run(tmp_path / "run")
    monkeypatch.chdir(root)
    assert publish.main(["x", "--configfile", str(SMOKE), "--cores", "2"]) == 0
    dest = root / "results/published/x"
    m = json.loads((dest / "manifest.json").read_text())
    claims = sorted((ROOT / "workflow/claims").glob("*.yaml"))
    assert claims and m["sha256"]["claims"] == {f"workflow/claims/{p.name}": sha256(p) for p in claims}
    assert m["sha256"]["config"] == {"config.yaml": sha256(root / "config.yaml"), str(SMOKE): sha256(SMOKE)}
    assert not list(dest.glob(".*.part"))  # written through temporary files, all renamed
    # the same run and config again: updated in place
    assert publish.main(["x", "--configfile", str(SMOKE), "--cores", "2"]) == 0
    # a copy of it published as another run: refused (its finished jobs are not that run's)
    shutil.copytree(dest, root / "results/published/y")
    with pytest.raises(publish.PublishError, match="publication of another run \\('x'\\)"):
        publish.publish(root, root / "results/published/y", "y", cfg, cores=2)
    # another config (the default one) over it: refused, the publication kept as it was
    (dest / "stale.txt").write_text("from the old publication")
    before = (dest / "manifest.json").read_text()
    shutil.rmtree(root / "results/runs")  # (its fit was made with the smoke config)
    other = load_config(root)
    with pytest.raises(publish.PublishError, match="another config .*--force"):
        publish.publish(root, dest, "x", other, cores=2)
    assert (dest / "manifest.json").read_text() == before
    # --force: replaced wholly, nothing of the old one left
    m2 = publish.publish(root, dest, "x", other, cores=2, force=True)
    assert not (dest / "stale.txt").exists() and m2["jobs_done"] == 0
    assert m2["config_hash"] != m["config_hash"]


def test_a_truncated_manifest_is_an_error_naming_the_file(tmp_path):
    root, cfg = fake_run(tmp_path / "run")
    dest = root / "results/published/x"
    publish.publish(root, dest, "x", cfg, cores=2)
    text = (dest / "manifest.json").read_text()
    (dest / "manifest.json").write_text(text[: len(text) // 2])
    with pytest.raises(publish.PublishError, match=r"manifest.json is unreadable .*--force"):
        publish.publish(root, dest, "x", cfg, cores=2)
    with pytest.raises(aeconfig.ConfigError, match=r"manifest.json is not readable JSON"):
        restore.restorable(dest, cfg)


def test_publish_refuses_a_symlink_it_would_copy(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures/a.png").symlink_to(secret)
    with pytest.raises(publish.PublishError, match="symbolic link"):
        publish._copy(tmp_path / "figures", tmp_path / "out/figures")
    assert not (tmp_path / "out/figures/a.png").exists()


# --------------------------------------------------------------------------- restore


def _publication(tmp_path) -> tuple[Path, aeconfig.Config]:
    root, cfg = fake_run(tmp_path / "run")
    dest = tmp_path / "pub dir $(touch pwned)"  # a space and a command substitution
    publish.publish(root, dest, "x", cfg, cores=2)
    return dest, cfg


def test_restore_from_a_wrong_place_or_shape_is_one_message(tmp_path):
    dest, cfg = _publication(tmp_path)
    assert restore.restorable(dest, cfg) == []  # the name's odd characters are only characters
    with pytest.raises(aeconfig.ConfigError, match="is not a directory"):
        restore.restorable(tmp_path / "nowhere", cfg)
    (dest / "manifest.json").write_text(json.dumps({"config_hash": 3, "experiments": []}))
    with pytest.raises(aeconfig.ConfigError, match="not a manifest of python -m aebench.publish"):
        restore.restorable(dest, cfg)


def test_restore_from_a_publication_holding_a_symlink_is_refused(tmp_path):
    dest, cfg = _publication(tmp_path)
    (tmp_path / "secret").write_text("private")
    (dest / "leak.png").symlink_to(tmp_path / "secret")
    with pytest.raises(aeconfig.ConfigError, match="symbolic links"):
        restore.restorable(dest, cfg)


def test_restore_copies_in_python_whatever_the_path_holds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "a b; $(touch pwned)" / "figures"
    src.mkdir(parents=True)
    (src / "f.png").write_bytes(b"png")
    (tmp_path / "m.csv").write_text("x\n")
    restore.copy_back([(src, tmp_path / "out/figures"), (tmp_path / "m.csv", tmp_path / "out/m.csv")],
                      tmp_path / "log/restore.log")
    assert (tmp_path / "out/figures/f.png").read_bytes() == b"png" and not (tmp_path / "pwned").exists()
    assert "restored" in (tmp_path / "log/restore.log").read_text()
    (src / "g.png").symlink_to(tmp_path / "m.csv")
    with pytest.raises(ValueError, match="symbolic link"):
        restore.copy_back([(src, tmp_path / "out2/figures")], tmp_path / "log/restore2.log")


def test_the_restore_rule_copies_a_hostile_path_without_a_shell(tmp_path):
    """restore_from with a space and a command substitution: the rule copies the files and
    runs nothing (it was a shell rule with the paths unquoted)."""
    from _workflow import SMOKE as SMOKE_FLAGS
    from _workflow import copy_workflow, snakemake
    from aebench.runctl.provenance import config_hash

    work = copy_workflow(tmp_path / "work")
    cfg = load_config(work, ["workflow/presets/smoke.yaml"])
    pub = tmp_path / "pub $(touch pwned)"
    (pub / "e1/figures").mkdir(parents=True)
    (pub / "manifest.json").write_text(json.dumps({"config_hash": config_hash(cfg.raw),
                                                   "experiments": {"e1": {"complete": True}}}))
    for f, text in {"metrics.csv": "model,seed,metric,value\n", "table.csv": "a\n", "table.md": "| a |\n",
                    "figures/x.png": "png"}.items():
        (pub / "e1" / f).write_text(text)
    snakemake(work, "results/e1/metrics.csv", *SMOKE_FLAGS, "--config", f"restore_from={pub}")
    for f in ("metrics.csv", "table.csv", "table.md", "figures/x.png"):
        assert (work / "results/e1" / f).read_text() == (pub / "e1" / f).read_text()
    assert not list(tmp_path.rglob("pwned")) and not (Path.cwd() / "pwned").exists()
    assert not list((work / "results/runs").glob("*")) if (work / "results/runs").exists() else True


def test_restore_changed_code_is_a_checked_boolean_that_changes_no_config_hash():
    from aebench.runctl.provenance import config_hash

    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    with pytest.raises(aeconfig.ConfigError, match="restore_changed_code"):
        aeconfig.load({**raw, "restore_changed_code": "yes"})
    assert config_hash(aeconfig.load({**raw, "restore_changed_code": True}).raw) == \
        config_hash(aeconfig.load(raw).raw)


def test_restore_refuses_training_code_changed_since_unless_told(tmp_path):
    dest, cfg = _publication(tmp_path)
    m = json.loads((dest / "manifest.json").read_text())
    m["training_code_changed_since"] = ["workflow/src/aebench/train.py"]
    (dest / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(aeconfig.ConfigError, match=r"changed since .*train\.py.*restore_changed_code: true"):
        restore.restorable(dest, cfg)
    warned = []
    assert restore.restorable(dest, cfg, changed_code_ok=True, warn=warned.append) == []
    assert len(warned) == 1 and "train.py" in warned[0]


# --------------------------------------------------------------------------- checkpoints


def _saved_checkpoint(tmp_path, monkeypatch, version: dict, lines: list):
    from aebench import checkpoint_key

    monkeypatch.setattr(checkpoint_key, "code_version", lambda: dict(version))
    data = tmp_path / "d.npz"
    data.write_bytes(b"data")
    return checkpoint_key.for_run(tmp_path / "ck", {"name": "ae"}, 0, data, {}, device="cpu",
                                  threads=1, log=lines.append)


@pytest.mark.parametrize("change, said", [({"code": "1111"}, "other training code (0000, now 1111)"),
                                          ({"torch": "9.9"}, "another torch version (2.0, now 9.9)")])
def test_a_checkpoint_from_other_code_or_another_torch_is_discarded(tmp_path, monkeypatch, change, said):
    lines = []
    first = {"code": "0000", "torch": "2.0"}
    _saved_checkpoint(tmp_path, monkeypatch, first, lines).stage("fit").save({"epoch": 3})
    again = _saved_checkpoint(tmp_path, monkeypatch, first, lines)
    assert again.has_saved() and again.stage("fit").load() == {"epoch": 3}  # same code: resumed
    later = _saved_checkpoint(tmp_path, monkeypatch, {**first, **change}, lines)
    assert not later.has_saved() and later.stage("fit").load() is None
    assert any("discarding" in s and said in s for s in lines), lines


def test_the_code_version_covers_the_training_code_and_torch():
    import torch

    from aebench import checkpoint_key

    names = {p.relative_to(checkpoint_key.PACKAGE.parents[1]).as_posix() for p in checkpoint_key.training_files()}
    assert {"src/aebench/train.py", "src/aebench/checkpoint.py", "scripts/fit.py"} <= names
    assert not any(n.startswith(("src/aebench/runctl/", "src/aebench/experiments/")) for n in names)
    assert checkpoint_key.code_version()["torch"] == torch.__version__


def test_sigint_saves_and_stops_like_sigterm(tmp_path):
    """Ctrl-C inside a training loop: the loop's next check saves, then stops."""
    import os
    import signal
    import time

    from aebench.checkpoint import Checkpointer, Interrupted

    lines = []
    ck = Checkpointer(tmp_path / "ck", "key", log=lines.append).stage("fit")
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted, match="stopped by SIGINT at epoch 2"):
        with ck.on_sigterm(), ck.deferring():
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.monotonic() + 5
            while not ck.stop_requested and time.monotonic() < deadline:
                time.sleep(0.001)
            ck.stop({"epoch": 2}, "epoch 2")
    assert signal.getsignal(signal.SIGINT) == previous  # put back
    assert Checkpointer(tmp_path / "ck", "key", log=lines.append).stage("fit").load() == {"epoch": 2}


def test_a_resumed_run_counts_the_training_seconds_of_its_earlier_attempts(tmp_path, monkeypatch):
    from aebench import checkpoint as ckmod

    # attempt 1: created, saved 30 s later; attempt 2: created, saved 12.5 s later; two more created
    clock = iter([100.0, 130.0, 500.0, 512.5, 900.0, 901.0])
    monkeypatch.setattr(ckmod.time, "monotonic", lambda: next(clock))
    first = ckmod.Checkpointer(tmp_path / "ck", "key", log=lambda s: None)
    assert first.earlier_seconds == 0.0
    first.stage("fit").save({"epoch": 1})
    second = ckmod.Checkpointer(tmp_path / "ck", "key", log=lambda s: None)
    assert second.earlier_seconds == 30.0
    second.stage("fit").save({"epoch": 2})  # 12.5 s into attempt 2
    assert ckmod.Checkpointer(tmp_path / "ck", "key", log=lambda s: None).earlier_seconds == 42.5
    # another run's checkpoints (another key) bring no seconds
    assert ckmod.Checkpointer(tmp_path / "ck", "other", log=lambda s: None).earlier_seconds == 0.0


def test_fit_run_adds_the_earlier_attempts_seconds(tmp_path, monkeypatch):
    from aebench.checkpoint import Checkpointer
    from aebench.datasets import save_prepared
    from aebench.datasets.digits import prepare_digits
    from aebench.kinds import parse_model
    from aebench.runs import fit_run

    data = tmp_path / "digits.npz"
    save_prepared(data, prepare_digits()[0], 1 / 16, {})
    spec = parse_model("m", {"kind": "autoencoder", "params": {"hidden": [8], "code_dim": 2},
                             "train": {"epochs": 1, "batch_size": 256}}, "digits", {})
    monkeypatch.setattr(Checkpointer, "earlier_seconds", property(lambda self: 1000.0))
    m = fit_run(spec, data, 0, tmp_path / "run", device="cpu", checkpoint_dir=tmp_path / "ck",
                log=lambda s: None)
    assert 1000.0 <= m["train_seconds"] < 1100.0


# --------------------------------------------------------------------------- data files


@pytest.fixture
def prepared(tmp_path):
    """A prepared digits file and its manifest, as the data step writes them."""
    from aebench import datasets as data
    from aebench.datasets import digits

    p, src = digits.prepare_digits()
    path = tmp_path / "digits.npz"
    data.save_prepared(path, p, 1 / 16, src)
    (tmp_path / "digits.json").write_text(json.dumps(data.manifest(p, path, src)))
    return path


def _flip(path: Path, at: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_a_flipped_byte_in_a_prepared_file_names_the_file_and_the_fix(prepared):
    from aebench import datasets as data

    data.load_prepared(prepared)  # whole: read
    _flip(prepared, prepared.stat().st_size // 2)
    with pytest.raises(data.DataError, match=r"digits\.npz: its sha256 is not the one digits\.json "
                                             r"recorded.*delete .*digits\.npz and .*digits\.json"):
        data.load_prepared(prepared)


def test_a_corrupt_prepared_file_without_manifest_is_one_message(prepared):
    from aebench import datasets as data

    prepared.with_suffix(".json").unlink()
    prepared.write_bytes(prepared.read_bytes()[:1000])  # truncated: no zip directory
    with pytest.raises(data.DataError, match=r"digits\.npz: cannot be read \(BadZipFile.*run again"):
        data.load_prepared(prepared)


def test_a_gzip_corruption_that_zlib_reports_is_a_data_error(tmp_path):
    import gzip

    from aebench import datasets as data
    from aebench.datasets import idx

    f = tmp_path / "x-idx1-ubyte.gz"
    f.write_bytes(gzip.compress((0x0801).to_bytes(4, "big") + (4000).to_bytes(4, "big") + bytes(range(250)) * 16))
    _flip(f, 20)  # inside the deflate stream: zlib.error, not OSError
    with pytest.raises(data.DataError, match=r"x-idx1-ubyte\.gz: cannot be read .*corrupt: delete it"):
        idx._read_idx(f)


def test_a_corrupt_cached_mnist_file_is_reported_corrupt_not_missing(tmp_path, mnist_copy):
    from aebench import datasets as data

    data.prepare("mnist", tmp_path / "raw", mnist_copy, allow_download=False)  # cached
    cached = tmp_path / "raw/MNIST/raw/t10k-labels-idx1-ubyte.gz"
    _flip(cached, 100)
    shutil.rmtree(mnist_copy)  # no mirror to replace it from
    with pytest.raises(data.DataError, match=r"t10k-labels-idx1-ubyte\.gz corrupt \(md5 .*delete it") as e:
        data.prepare("mnist", tmp_path / "raw", None, allow_download=False)
    assert "missing" not in str(e.value)


# --------------------------------------------------------------------------- end to end


def _results(work: Path) -> dict[str, str]:
    """The claims table and every metrics file, their timings (train_seconds) left out: what
    an interrupted run must reproduce byte for byte."""
    import pandas as pd

    out = {"tables/claims.csv": (work / "results/tables/claims.csv").read_text()}
    for f in sorted((work / "results").glob("e*/metrics.csv")):
        df = pd.read_csv(f)
        out[str(f.relative_to(work))] = df[df["metric"] != "train_seconds"].to_csv(index=False)
    for f in sorted((work / "results/runs").glob("*/seed*/metrics.json")):
        m = json.loads(f.read_text())
        m.pop("train_seconds", None)
        out[str(f.relative_to(work))] = json.dumps(m, sort_keys=True)
    return out


@pytest.mark.slow
def test_a_run_killed_mid_fit_and_resumed_gives_the_same_results(smoke_run, tmp_path):
    """SIGKILL the fits mid-epoch and Snakemake with them, truncate a checkpoint file, unlock,
    --rerun-incomplete: the claims table and every metrics file equal an uninterrupted run's."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from _workflow import SMOKE, copy_workflow, snakemake

    work = copy_workflow(tmp_path / "work")
    env = {**os.environ, "AEBENCH_CHECKPOINT_SECONDS": "0"}  # a checkpoint every epoch
    p = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", *SMOKE], cwd=work, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoints = work / "results/checkpoints"
    deadline = time.monotonic() + 900
    while not list(checkpoints.glob("*/seed*/*.pt")) and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)  # Snakemake and every job it started, without warning
    p.wait()
    left = list(checkpoints.glob("*/seed*/*.pt"))
    assert left, "no fit was caught mid-training"
    left[0].write_bytes(left[0].read_bytes()[: left[0].stat().st_size // 2])  # a half-written file
    snakemake(work, *SMOKE, "--unlock")
    snakemake(work, *SMOKE, "--rerun-incomplete", timeout=1800)
    assert _results(work) == _results(smoke_run)
