"""Config checks beyond the JSON schema: cross-references and each model's own params.

The schema (workflow/schemas/config.schema.yaml) catches misspelt keys and wrong types;
this catches what a schema cannot: an experiment naming a model that does not exist, or
a param the model's class does not take. Both run before any job starts.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .methods import check_model_config
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
    for exp_name, exp in config["experiments"].items():
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
