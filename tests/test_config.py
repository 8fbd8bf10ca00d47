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
    parsed = aeconfig.load(cfg)
    assert parsed.enabled and all(m in parsed.models for e in parsed.enabled
                                  for m in parsed.experiment_models(e))


def test_misspelt_key_is_named_with_the_nearest_valid_one():
    cfg = base()
    cfg["seedz"] = [1]
    with pytest.raises(aeconfig.ConfigError, match=r"unknown key 'seedz' .*did you mean 'seeds'\?"):
        aeconfig.validate_schema(cfg)
    cfg = base()
    cfg["training"]["epoch"] = 3
    with pytest.raises(aeconfig.ConfigError, match=r"'epoch' in training; did you mean 'epochs'\?"):
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
        aeconfig.load(cfg)
    cfg = base()
    cfg["models"]["ae30"]["params"]["hiden"] = [10]
    with pytest.raises(aeconfig.ConfigError, match=r"models\.ae30: .*'hiden'"):
        aeconfig.load(cfg)
    cfg = base()
    cfg["models"]["ae30"]["kind"] = "autoencodr"
    with pytest.raises(aeconfig.ConfigError, match=r"models\.ae30\.kind: unknown kind 'autoencodr'"):
        aeconfig.load(cfg)


def test_schema_training_keys_match_train_config():
    schema = aeconfig.schema()
    assert set(schema["properties"]["training"]["properties"]) == {f.name for f in fields(TrainConfig)}


def test_snakemake_rejects_a_misspelt_key_before_running(tmp_path):
    """The user's view: one clear message, nothing run."""
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1",
                        "--config", "seedz=[1]"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "unknown key 'seedz'" in out and "did you mean 'seeds'?" in out
    assert "Job stats" not in out


def test_experiment_model_subsets_must_be_its_models():
    cfg = base()
    cfg["experiments"]["e5"]["binary"] = ["hash512"]
    with pytest.raises(aeconfig.ConfigError, match=r"experiments\.e5: binary names \['hash512'\]"):
        aeconfig.load(cfg)


def test_a_claim_left_unjudged_must_be_one_of_its_experiments_claims():
    """experiments.<e>.not_judged names claims by id: a misspelt id, or another experiment's,
    stops the run at parse time with the nearest id, and a reason must be given."""
    cfg = base()
    cfg["experiments"]["e4"]["not_judged"] = {"E4.ae10_vs_lsa10": "budget"}
    aeconfig.load(cfg)
    cfg["experiments"]["e4"]["not_judged"] = {"E4.ae10_vs_lsa1": "budget"}
    with pytest.raises(aeconfig.ConfigError, match=r"experiments\.e4\.not_judged names 'E4\.ae10_vs_lsa1'.*"
                                                   r"did you mean 'E4\.ae10_vs_lsa10'\?"):
        aeconfig.load(cfg)
    cfg["experiments"]["e4"]["not_judged"] = {"E1.pretraining": "budget"}
    with pytest.raises(aeconfig.ConfigError, match=r"not a claim of e4"):
        aeconfig.load(cfg)
    cfg["experiments"]["e4"]["not_judged"] = {"E4.ae10_vs_lsa10": ""}
    with pytest.raises(aeconfig.ConfigError, match=r"experiments\.e4\.not_judged"):
        aeconfig.load(cfg)


def test_experiment_settings_are_checked_by_a_schema_made_from_their_dataclass():
    """Each experiment's block of the schema is generated from its Params dataclass: a typo,
    a wrong type and an out-of-range value are caught before any job, and the E6 RBM settings
    take exactly RBMConfig's fields (they used to drift apart)."""
    from aebench.spec import RBMConfig

    cfg = base()
    cfg["experiments"]["e3"]["knn_kk"] = 5
    with pytest.raises(aeconfig.ConfigError, match=r"'knn_kk' in experiments\.e3; did you mean 'knn_k'"):
        aeconfig.validate_schema(cfg)
    cfg = base()
    cfg["experiments"]["e3"]["knn_k"] = 0
    with pytest.raises(aeconfig.ConfigError, match=r"experiments\.e3\.knn_k: 0 is less than the minimum"):
        aeconfig.validate_schema(cfg)
    cfg = base()
    cfg["experiments"]["e10"]["grid_n"] = "big"
    with pytest.raises(aeconfig.ConfigError, match=r"experiments\.e10\.grid_n: 'big' is not of type"):
        aeconfig.validate_schema(cfg)
    rbm = aeconfig.schema()["properties"]["experiments"]["properties"]["e6"]["properties"]["rbm"]
    assert set(rbm["properties"]) == {f.name for f in fields(RBMConfig)}


def test_wrong_value_lists_the_allowed_ones():
    cfg = base()
    cfg["device"] = "tpu"
    with pytest.raises(aeconfig.ConfigError, match=r"device: 'tpu' is not one of \['auto', 'cpu', 'cuda'\]"):
        aeconfig.validate_schema(cfg)


def test_dataset_names_come_from_the_dataset_registry():
    from aebench.datasets import DATASETS

    s = aeconfig.schema()["properties"]
    assert set(s["datasets"]["properties"]) == set(DATASETS)
    assert set(s["image_dataset"]["enum"]) == {n for n, d in DATASETS.items() if d.kind == "image"}


def test_derived_model_names_may_not_shadow_configured_ones():
    cfg = base()
    cfg["models"]["e10_judge"] = {"kind": "pca", "params": {"n_components": 2}}
    with pytest.raises(aeconfig.ConfigError, match="models.e10_judge: the name is taken"):
        aeconfig.load(cfg)


def test_an_autoencoders_rbm_pretraining_does_not_read_e6s_rbm_settings():
    """It used to borrow a fake experiments.e6 block; now its RBMConfig is its own."""
    cfg = base()
    cfg["experiments"]["e6"]["rbm"]["lr"] = 0.5
    ae30 = aeconfig.load(cfg).models["ae30"]
    assert ae30.init.rbm.lr == cfg["models"]["ae30"]["params"]["pretrain"]["params"]["lr"]
    assert ae30.init.rbm.linear_top  # its code layer is linear


def test_a_config_error_says_where_the_key_was_set(tmp_path):
    """One message: the key, the nearest valid one, and the file or flag that set it."""
    preset = tmp_path / "typo.yaml"
    preset.write_text("training:\n  epoch: 3\n")
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile",
                        "workflow/presets/quick.yaml", str(preset)], cwd=ROOT, capture_output=True,
                       text=True)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert f"unknown key 'epoch' in training; did you mean 'epochs'? (set in {preset})" in out
    assert len(out.strip().splitlines()) <= 6, out


def test_an_unknown_model_named_by_an_experiment_gets_the_nearest_name():
    cfg = base()
    cfg["experiments"]["e1"]["models"] = ["pca30", "ae31"]
    with pytest.raises(aeconfig.ConfigError, match=r"\['ae31'\] .*did you mean 'ae30'\?") as e:
        aeconfig.load(cfg)
    assert aeconfig.origin(e.value.path, [("config.yaml", base()), ("mine.yaml", cfg)]) == "mine.yaml"


def test_command_line_values_mean_what_they_mean_in_a_config_file():
    """Snakemake's --config parser leaves `seeds=[0]` as ['0'] and `allow_download=false`
    as 'false'; the workflow re-reads them as YAML, as a config file would."""
    from snakemake.cli import parse_config

    from aebench.config import from_command_line

    given = parse_config(["seeds=[0, 2]", "allow_download=false", "data_mirror=../shared/data",
                          "restore_from=null", "training={epochs: 3}"])
    assert given["seeds"] == ["0", "2"] and given["allow_download"] == "false"  # the pitfall
    assert from_command_line(given) == {"seeds": [0, 2], "allow_download": False,
                                        "data_mirror": "../shared/data", "restore_from": None,
                                        "training": {"epochs": 3}}


def test_the_schema_has_one_source_the_settings_dataclasses():
    """No hand-written schema half to go stale (E10's used to require keys it had dropped):
    the document's keys are Settings' fields, each experiment's block its Params' fields,
    and a key a dataclass drops is rejected at once."""
    from aebench.settings import Settings

    s = aeconfig.schema()
    assert set(s["properties"]) == {f.name for f in fields(Settings)}
    e10 = s["properties"]["experiments"]["properties"]["e10"]
    params = {f.name for f in fields(aeconfig.experiments.EXPERIMENTS["e10"].Params)}
    assert set(e10["properties"]) == params | {"enabled", "not_judged"}
    assert set(e10.get("required", [])) <= params
    cfg = base()
    cfg["experiments"]["e10"]["confidence"] = 0.9
    with pytest.raises(aeconfig.ConfigError, match=r"unknown key 'confidence' in experiments\.e10"):
        aeconfig.validate_schema(cfg)


def test_a_split_size_and_the_gpu_count_are_checked():
    cfg = base()
    cfg["datasets"]["mnist"]["n_train"] = "many"
    with pytest.raises(aeconfig.ConfigError, match=r"datasets\.mnist\.n_train: 'many' is not of type"):
        aeconfig.validate_schema(cfg)
    cfg = base()
    cfg["gpu"] = 2
    with pytest.raises(aeconfig.ConfigError, match=r"gpu: 2 is greater than the maximum of 1"):
        aeconfig.validate_schema(cfg)
    cfg = base()
    cfg["datasets"]["mnsit"] = {"n_val": 10}
    with pytest.raises(aeconfig.ConfigError, match=r"'mnsit' in datasets; did you mean 'mnist'"):
        aeconfig.validate_schema(cfg)


# ------------------------------------------------------------ E4 on another text dataset

def _e4_also_on(value, preset=None):
    cfg = base()
    if preset is not None:
        update_config(cfg, yaml.safe_load((ROOT / "workflow" / "presets" / preset).read_text()))
    cfg["experiments"]["e4"]["also_on"] = value
    return cfg


def test_e4_also_on_20news_headers_copies_every_e4_model_alike():
    """`experiments.e4.also_on: [20news_headers]`: each E4 model again, from the same entry
    (the preset's budgets included), on 20news with headers kept (config.yaml's default);
    `also_on: []` has none."""
    assert aeconfig.load(_quick()).also_on == {"e4": ["20news_headers"]}
    plain = aeconfig.load(_e4_also_on([], "quick.yaml"))
    assert plain.also_on == {} and plain.experiment_datasets("e4") == ["20news"]
    assert not [m for m in plain.models if "20news_headers" in m]
    cfg = aeconfig.load(_e4_also_on(["20news_headers"], "quick.yaml"))
    own = plain.experiment_models("e4")
    assert cfg.experiment_models("e4") == own + [f"{m}.20news_headers" for m in own]
    assert cfg.experiment_datasets("e4") == ["20news", "20news_headers"]
    for m in own:
        a, b = plain.models[m].to_dict(), cfg.models[f"{m}.20news_headers"].to_dict()
        assert b.pop("dataset") == "20news_headers" and b.pop("name") == f"{m}.20news_headers"
        assert {k: v for k, v in a.items() if k not in ("dataset", "name")} == b
    assert cfg.models["text_ae10.20news_headers"].train.epochs == 10  # the quick preset's
    # on by default: E4 is judged in both settings (issue 40); smoke, without 20news, sets []
    assert base()["experiments"]["e4"]["also_on"] == ["20news_headers"]


def _quick():
    cfg = base()
    update_config(cfg, yaml.safe_load((ROOT / "workflow" / "presets" / "quick.yaml").read_text()))
    return cfg


def test_e4_also_on_rejects_a_misspelt_or_wrong_dataset_with_one_message():
    with pytest.raises(aeconfig.ConfigError) as e:
        aeconfig.load(_e4_also_on(["20news_header"]))
    msg = str(e.value)
    assert "experiments.e4.also_on" in msg and "did you mean '20news_headers'?" in msg
    assert len(msg.splitlines()) == 1 and e.value.path[:3] == ("experiments", "e4", "also_on")
    with pytest.raises(aeconfig.ConfigError, match=r"also_on.*'mnist' is not one of"):
        aeconfig.load(_e4_also_on(["mnist"]))  # an image dataset: E4 is on text
    with pytest.raises(aeconfig.ConfigError, match="already the dataset e4 runs on"):
        aeconfig.load(_e4_also_on(["20news"]))
    with pytest.raises(aeconfig.ConfigError, match="also_on.*is not of type 'array'"):
        aeconfig.load(_e4_also_on("20news_headers"))
    cfg = base()
    cfg["experiments"]["e1"]["also_on"] = ["fashion_mnist"]  # offered by E4 only
    with pytest.raises(aeconfig.ConfigError, match="unknown key 'also_on' in experiments.e1"):
        aeconfig.load(cfg)
