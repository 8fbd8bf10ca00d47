import copy
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config

from aebench import config as aeconfig
from aebench.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted((ROOT / "workflow" / "presets").glob("*.yaml"))


def base():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.mark.parametrize("preset", [None, *PRESETS], ids=lambda p: p.stem if p else "default")
def test_default_and_presets_are_valid(preset):
    cfg = base()
    if preset is not None:
        update_config(cfg, yaml.safe_load(preset.read_text()))
    aeconfig.validate_schema(cfg)
    aeconfig.check(cfg)


def test_misspelt_key_is_named():
    cfg = base()
    cfg["seedz"] = [1]
    with pytest.raises(aeconfig.ConfigError, match="seedz"):
        aeconfig.validate_schema(cfg)
    cfg = base()
    cfg["training"]["epoch"] = 3
    with pytest.raises(aeconfig.ConfigError, match=r"training.*'epoch'"):
        aeconfig.validate_schema(cfg)


def test_wrong_type_is_named():
    cfg = base()
    cfg["training"]["lr"] = "fast"
    with pytest.raises(aeconfig.ConfigError, match=r"training\.lr: 'fast' is not of type 'number'"):
        aeconfig.validate_schema(cfg)


def test_cross_references_and_model_params():
    cfg = base()
    cfg["experiments"]["e1"]["models"] = ["pca30", "ae31"]
    with pytest.raises(aeconfig.ConfigError, match=r"experiments\.e1 .*\['ae31'\]"):
        aeconfig.check(cfg)
    cfg = base()
    cfg["models"]["ae30"]["params"]["hiden"] = [10]
    with pytest.raises(aeconfig.ConfigError, match=r"models\.ae30: .*'hiden'"):
        aeconfig.check(cfg)
    cfg = base()
    cfg["models"]["ae30"]["kind"] = "autoencodr"
    with pytest.raises(aeconfig.ConfigError, match=r"models\.ae30\.kind: unknown kind 'autoencodr'"):
        aeconfig.check(cfg)


def test_schema_training_keys_match_train_config():
    schema = yaml.safe_load(aeconfig.SCHEMA.read_text())
    assert set(schema["$defs"]["training"]["properties"]) == {f.name for f in fields(TrainConfig)}


def test_snakemake_rejects_a_misspelt_key_before_running(tmp_path):
    """The user's view: one clear message, nothing run."""
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1",
                        "--config", "seedz=[1]"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "seedz" in out and "Additional properties are not allowed" in out
    assert "Job stats" not in out


def test_experiment_model_subsets_must_be_its_models():
    cfg = base()
    cfg["experiments"]["e5"]["binary"] = ["hash512"]
    with pytest.raises(aeconfig.ConfigError, match=r"experiments\.e5\.binary names \['hash512'\]"):
        aeconfig.check(cfg)
