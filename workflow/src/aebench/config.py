"""The config, checked and parsed once: the schema, then every model into a ModelSpec and
every experiment's settings into its Params dataclass.

The JSON schema has one source, the settings dataclasses: :class:`aebench.settings.Settings`
(the document, training and RBM settings), each experiment's ``Params``, and the names the
registries define (datasets, experiments); :func:`schema` builds it on every start, so it
cannot go stale. What a schema cannot catch is checked after it: an experiment naming a model
that does not exist, a param its kind does not take. Every problem is one message naming the
key, where it is, and the fix.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field

import yaml

from . import datasets, experiments
from .experiments import copy_name
from .kinds import KINDS, parse_model
from .schema import schema_of
from .settings import Settings
from .spec import ModelSpec


class ConfigError(ValueError):
    """One message; ``path`` is the config key it is about (for :func:`origin`)."""

    def __init__(self, message: str, path: tuple = ()):
        super().__init__(message)
        self.path = tuple(path)


def origin(path: tuple, sources: list[tuple[str, dict]]) -> str | None:
    """Which of ``sources`` (label, dict), later ones overriding earlier ones, set ``path``."""
    found = None
    for label, d in sources:
        node = d or {}
        for key in path:
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            found = label
    return found


def explain(e: ConfigError, sources: list[tuple[str, dict]]) -> str:
    """The error, plus where the offending key was set (config.yaml, a preset, --config)."""
    where = origin(e.path, sources) if e.path else None
    return f"{e} (set in {where})" if where else str(e)


def schema() -> dict:
    """The config's JSON schema, generated from :class:`Settings` and the registries."""
    s = {"$schema": "https://json-schema.org/draft/2020-12/schema",
         "description": "aebench configuration (config.yaml and the presets merged over it)",
         **schema_of(Settings)}
    props = s["properties"]
    props["image_dataset"]["enum"] = datasets.names("image")
    props["text_dataset"]["enum"] = datasets.names("text")
    sizes = props["datasets"].pop("additionalProperties")
    props["datasets"].update(additionalProperties=False,
                             properties={n: sizes for n in datasets.names()})
    props["models"]["additionalProperties"]["properties"]["dataset"]["enum"] = [
        "image", "text", *datasets.names()]
    exps = {}
    for name, exp in experiments.EXPERIMENTS.items():
        block = schema_of(exp.Params)
        block["properties"]["enabled"] = {"type": "boolean", "default": True}
        # claim id -> why this config does not judge it (aebench.claims; e.g. a preset's budget)
        block["properties"]["not_judged"] = {"type": "object",
                                             "additionalProperties": {"type": "string", "minLength": 1}}
        if exp.other_data_kind:
            # other datasets of its kind it also runs and is judged on (copies of its models)
            block["properties"][ALSO_ON] = {
                "type": "array", "uniqueItems": True,
                "items": {"enum": datasets.names(exp.other_data_kind)}}
        exps[name] = block
    props["experiments"].update(additionalProperties=False, properties=exps)
    return s


def _where(path) -> str:
    return ".".join(str(p) for p in path) or "the top level"


def _message(e) -> tuple[str, tuple]:
    """One line for one schema error: the key, where, and (for a typo) the nearest valid key;
    and the key's path in the config."""
    where = _where(e.absolute_path)
    path = tuple(e.absolute_path)
    if e.validator == "additionalProperties":
        allowed = list(e.schema.get("properties", {}))
        extra = [k for k in e.instance if k not in allowed]
        if extra:
            key = extra[0]
            near = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f"; valid keys: {', '.join(allowed)}"
            return f"unknown key '{key}' in {where}{hint}", (*path, key)
    if e.validator == "enum":
        near = difflib.get_close_matches(str(e.instance), [str(v) for v in e.validator_value], n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        return f"{where}: {e.instance!r} is not one of {e.validator_value}{hint}", path
    if "propertyNames" in e.schema_path:  # a name that becomes a directory (settings.NAME_PATTERN)
        return (f"{where}: the name {e.instance!r} is refused: it names a directory, so use letters, "
                "digits, '_', '.' and '-', starting with a letter or digit, without '..'"), (*path, e.instance)
    return f"{where}: {e.message}", path


def validate_schema(config: dict) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        message, path = _message(jsonschema.exceptions.best_match(errors))
        raise ConfigError(f"config: {message}", path)


# --------------------------------------------------------------------------- parsed config


@dataclass
class Config:
    raw: dict
    settings: Settings  # the document's own keys, typed (seeds, threads, training, ...)
    models: dict[str, ModelSpec]  # configured models and the ones experiments derive
    params: dict[str, object]  # experiment name -> its Params instance
    enabled: list[str] = field(default_factory=list)  # experiments that run, lecture order
    # experiment name -> the other datasets it also runs on (`experiments.<e>.also_on`)
    also_on: dict[str, list[str]] = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return list(self.settings.seeds)

    def model_seeds(self, model: str) -> list[int]:
        return self.seeds if self.models[model].seeded else [0]

    def experiment(self, name: str):
        return experiments.EXPERIMENTS[name]

    def experiment_models(self, name: str) -> list[str]:
        """Its models, then their copies on each ``also_on`` dataset (:func:`copy_name`)."""
        own = self.experiment(name).models(self.params[name])
        return own + [copy_name(m, d) for d in self.also_on.get(name, []) for m in own]

    def experiment_dataset(self, name: str) -> str:
        """Its own dataset (that of its configured models)."""
        return self.models[self.experiment_models(name)[0]].dataset

    def experiment_datasets(self, name: str) -> list[str]:
        """Its own dataset, then each it also runs on (``also_on``)."""
        return [self.experiment_dataset(name), *self.also_on.get(name, [])]

    def params_dict(self, name: str) -> dict:
        return asdict(self.params[name])


ALSO_ON = "also_on"  # experiments.<e>.also_on: the other datasets it runs and is judged on


def _copies(cfg: Config, name: str, other: list[str]) -> dict[str, ModelSpec]:
    """``experiments.<name>.also_on``: each of its models again, on each dataset of ``other``,
    from the same config entry (its preset's settings included): only the data differs."""
    where = ("experiments", name, ALSO_ON)
    own = cfg.experiment_dataset(name)
    if own in other:
        raise ConfigError(f"config: experiments.{name}.{ALSO_ON}: {own!r} is already the dataset "
                          f"{name} runs on; list only other ones", where)
    out = {}
    for m in cfg.experiment(name).models(cfg.params[name]):
        entry = cfg.raw["models"].get(m)
        if entry is None or cfg.models[m].needs:
            raise ConfigError(f"config: experiments.{name}.{ALSO_ON}: its model {m} is derived or "
                              "built on other runs, which are not copied; drop also_on", where)
        for d in other:
            try:
                out[copy_name(m, d)] = parse_model(copy_name(m, d), entry, d, cfg.settings.training)
            except ValueError as e:
                raise ConfigError(f"config: {e}", where) from None
    return out


def from_command_line(given):
    """``--config`` values as YAML reads them. Snakemake parses ``key=value`` with int, float,
    True/False and YAML's base loader, which keeps every scalar a string: ``seeds=[0]`` gives
    ['0'] and ``allow_download=false`` 'false'. Re-read each string leaf as YAML, so the
    command line means what the same text means in a config file."""
    if isinstance(given, dict):
        return {k: from_command_line(v) for k, v in given.items()}
    if isinstance(given, list):
        return [from_command_line(v) for v in given]
    if isinstance(given, str):
        try:
            return yaml.safe_load(given)
        except yaml.YAMLError:
            return given
    return given


def check_protocol(s: Settings) -> None:
    """Development and confirmation stay apart (issue 38). Confirmation seeds are only ever
    judged on test, and never beside development seeds: a val run on them would be tuning on
    them, and a mixed run's intervals would pool seeds some choices were made on. A val run
    copies nothing from a publication (those were judged on test)."""
    if s.judge_split == "val" and s.restore_from:
        raise ConfigError("config: restore_from copies a published run's results, which were "
                          "judged on test, into a val-judged run; drop restore_from for "
                          "judge_split: val", ("restore_from",))
    confirm = [x for x in s.seeds if x in s.confirmation_seeds]
    if confirm and s.judge_split == "val":
        raise ConfigError(f"config: seeds {confirm} are confirmation seeds, which are never judged "
                          "on validation (that would tune on them); use development seeds "
                          "for judge_split: val", ("seeds",))
    if confirm and len(confirm) < len(s.seeds):
        dev = [x for x in s.seeds if x not in s.confirmation_seeds]
        raise ConfigError(f"config: seeds mix confirmation seeds {confirm} with development seeds "
                          f"{dev}; set seeds to the confirmation seeds alone (a confirmation "
                          "run) or to development seeds alone", ("seeds",))


def load(config: dict) -> Config:
    """Validate and parse ``config`` (the merged dict Snakemake holds); ConfigError if wrong."""
    validate_schema(config)
    if config.get("device") == "cpu" and config.get("gpu") == 1:
        raise ConfigError("config: `gpu: 1` asks for a GPU per training job but `device: cpu` "
                          "would not use it; set `gpu: 0` (or auto) or `device: auto`")
    params = {}
    for name, exp in experiments.EXPERIMENTS.items():
        if name not in config["experiments"]:
            continue
        block = {k: v for k, v in config["experiments"][name].items()
                 if k not in ("enabled", "not_judged", ALSO_ON)}
        try:
            params[name] = exp.Params(**block)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"config: experiments.{name}: {e}", ("experiments", name)) from None
    # The experiments' own checks first: their messages name their keys (an E6 init, an E8
    # reference to it), which the models they derive from those keys could not.
    cfg = Config(config, Settings.parse(config), {}, params)
    check_protocol(cfg.settings)
    for name, p in params.items():
        try:
            experiments.EXPERIMENTS[name].check(p, cfg)
        except ValueError as e:
            raise ConfigError(f"config: experiments.{name}: {e}", ("experiments", name)) from None
    for name, entry in config["models"].items():
        try:
            cfg.models[name] = parse_model(name, entry, datasets.of_model(config, entry),
                                           cfg.settings.training)
        except ValueError as e:
            raise ConfigError(f"config: {e}", ("models", name)) from None
    # Models an experiment derives come typed from its parsed settings (E6's stacks and
    # classifiers, E10's judge), never through a config entry.
    for name, exp in experiments.EXPERIMENTS.items():
        if name in params:
            try:
                derived = exp.derived_models(params[name], config)
            except ValueError as e:
                raise ConfigError(f"config: experiments.{name}: {e}", ("experiments", name)) from None
            for m, spec in derived.items():
                if m in cfg.models:
                    raise ConfigError(f"config: models.{m}: the name is taken by a model "
                                      f"experiments.{name} derives; rename it")
                cfg.models[m] = spec
    for name, p in params.items():
        names = experiments.EXPERIMENTS[name].models(p)
        missing = [m for m in names if m not in cfg.models]
        if missing:
            near = difflib.get_close_matches(missing[0], list(cfg.models), n=1)
            hint = f"did you mean '{near[0]}'?" if near else f"defined: {sorted(config['models'])}"
            raise ConfigError(f"config: experiments.{name} names model(s) {missing} that are not "
                              f"defined under `models:` ({hint})", ("experiments", name))
        data = {cfg.models[m].dataset for m in names}
        if len(data) > 1:
            raise ConfigError(f"config: experiments.{name} mixes datasets {sorted(data)}; "
                              "all its models must use one dataset")
    for name in params:
        other = config["experiments"][name].get(ALSO_ON) or []
        if other:
            cfg.also_on[name] = list(other)
            for m, spec in _copies(cfg, name, other).items():
                if m in cfg.models:
                    raise ConfigError(f"config: models.{m}: the name is taken by the copy "
                                      f"experiments.{name}.{ALSO_ON} makes; rename it",
                                      ("models", m))
                cfg.models[m] = spec
    cfg.enabled = [n for n in experiments.EXPERIMENTS
                   if n in params and config["experiments"][n].get("enabled", True)]
    skipped = {n: config["experiments"][n].get("not_judged") for n in params}
    if any(skipped.values()):
        from . import claims

        known = claims.load(claims.files())
        for name, ids in skipped.items():
            try:
                claims.check_not_judged(name, ids or {}, known)
            except ValueError as e:
                raise ConfigError(f"config: experiments.{name}.{e}",
                                  ("experiments", name, "not_judged")) from None
    return cfg


__all__ = ["ALSO_ON", "Config", "ConfigError", "KINDS", "copy_name", "load", "schema",
           "validate_schema"]
