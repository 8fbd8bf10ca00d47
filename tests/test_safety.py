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
    assert "--to" in capsys.readouterr().err or "is the run" in capsys.readouterr().err
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
