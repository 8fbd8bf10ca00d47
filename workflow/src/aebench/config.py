"""Config checks beyond the JSON schema: cross-references and each model's own params.

The schema (workflow/schemas/config.schema.yaml) catches misspelt keys and wrong types;
this catches what a schema cannot: an experiment naming a model that does not exist, or
a param the model's class does not take. Both run before any job starts.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .methods import check_model_config
from .pretrain import check_inits
from .variants import NoiseSpec

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    pass


def validate_schema(config: dict) -> None:
    """The same validation snakemake's ``validate`` does, for use outside a Snakefile."""
    import jsonschema

    schema = yaml.safe_load(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config),
                    key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = ".".join(str(p) for p in e.absolute_path) or "<top level>"
        raise ConfigError(f"config: {where}: {e.message}")


def experiment_models(exp: dict) -> list[str]:
    """Every model an experiment reads: `reference` and `models` (other keys that name
    models, such as e4's `scatter`, must be among these)."""
    if "models" not in exp:
        return []  # E6/E8 name inits (experiments.e6.inits), not models
    return list(dict.fromkeys([*([exp["reference"]] if "reference" in exp else []),
                               *exp["models"]]))


# Keys of an experiment's settings that name a subset of its models.
MODEL_SUBSET_KEYS = ("scatter", "binary")


def model_dataset(config: dict, model: str) -> str:
    """A model's dataset; the aliases `image` (the default) and `text` follow the config's
    image_dataset / text_dataset, so a preset can swap the data of every model at once."""
    name = config["models"][model].get("dataset", "image")
    if name == "image":
        return config.get("image_dataset", "mnist")
    if name == "text":
        return config.get("text_dataset", "20news")
    return name


def check(config: dict) -> None:
    if config.get("device") == "cpu" and config.get("gpu") == 1:
        raise ConfigError("config: `gpu: 1` asks for a GPU per training job but `device: cpu` "
                          "would not use it; set `gpu: 0` (or auto) or `device: auto`")
    for name, entry in config["models"].items():
        try:
            check_model_config(name, entry)
        except ValueError as e:
            raise ConfigError(f"config: {e}") from None
    check_pretraining(config["experiments"])
    for exp_name, exp in config["experiments"].items():
        if "models" not in exp:
            continue  # E6/E8: checked by check_pretraining
        names = experiment_models(exp)
        missing = [m for m in names if m not in config["models"]]
        if missing:
            raise ConfigError(f"config: experiments.{exp_name} names model(s) {missing} that "
                              f"are not defined under `models:` (defined: {sorted(config['models'])})")
        for key in MODEL_SUBSET_KEYS:
            stray = [m for m in exp.get(key, []) if m not in names]
            if stray:
                raise ConfigError(f"config: experiments.{exp_name}.{key} names {stray}, which "
                                  f"are not among its models {names}")
        for i, n in enumerate(exp.get("noise_eval", [])):
            try:
                NoiseSpec(**n)
            except (TypeError, ValueError) as e:
                raise ConfigError(f"config: experiments.{exp_name}.noise_eval[{i}]: {e}") from None
        datasets = {model_dataset(config, m) for m in names}
        if len(datasets) > 1:
            raise ConfigError(f"config: experiments.{exp_name} mixes datasets {sorted(datasets)}; "
                              "all its models must use one dataset")


def check_pretraining(experiments: dict) -> None:
    """E6's inits and label budgets, and E8's references to them."""
    e6, e8 = experiments.get("e6"), experiments.get("e8")
    if e6 is None:
        if e8 is not None:
            raise ConfigError("config: experiments.e8 reads E6's pre-training stacks; "
                              "it needs experiments.e6")
        return
    bad = [i for i in e6["inits"] if not i.isidentifier()]
    if bad:
        raise ConfigError(f"config: experiments.e6.inits: names {bad} must be letters, digits "
                          "and underscores (they become file names)")
    try:
        check_inits(e6["inits"])
    except ValueError as e:
        raise ConfigError(f"config: {e}") from None
    if e6["reference"] not in e6["inits"]:
        raise ConfigError(f"config: experiments.e6.reference {e6['reference']!r} is not one of "
                          f"its inits {sorted(e6['inits'])}")
    if e8 is not None:
        for key in ("inits", "filters"):
            stray = [i for i in e8[key] if i not in e6["inits"]]
            if stray:
                raise ConfigError(f"config: experiments.e8.{key} names {stray}, which are not "
                                  f"experiments.e6.inits ({sorted(e6['inits'])})")
