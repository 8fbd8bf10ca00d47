import sys
from pathlib import Path

from snakemake.utils import validate

# The importable package behind every script (installed by `pip install -e .`; the path
# also makes a plain checkout work).
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "src"))

from aebench import compute
from aebench import config as aeconfig
from aebench.methods import TORCH_KINDS

validate(config, schema="../schemas/config.schema.yaml")
try:
    aeconfig.check(config)
except aeconfig.ConfigError as e:
    raise WorkflowError(str(e)) from None


wildcard_constraints:
    seed=r"\d+",
    dataset=r"[A-Za-z0-9_]+",


SEEDS = config["seeds"]

# GPUs per training job (0 or 1), requested as Snakemake's `gpu` resource.
TRAIN_GPUS = compute.training_gpus(config["device"], config["gpu"])
# A local run gives each training job a GPU of its own unless the user allows sharing
# (`--resources gpu=N`): without a cap Snakemake would start all of them on one device.
if TRAIN_GPUS and workflow.local_exec and "gpu" not in workflow.global_resources:
    workflow.register_resource("gpu", max(compute.local_gpu_count(), 1))


def training_resources():
    """Resources of every rule that trains a torch model (the SLURM plugin reads gpu*)."""
    res = {"gpu": TRAIN_GPUS}
    if TRAIN_GPUS and config["gpu_model"]:
        res["gpu_model"] = config["gpu_model"]
    return res

CLAIMS = str(Path(workflow.basedir) / "workflow" / "claims.yaml")


def enabled_experiments():
    return [e for e, c in config["experiments"].items() if c.get("enabled", True)]


def model_kind(model):
    return config["models"][model]["kind"]


def model_group(model):
    return "autoencoders" if model_kind(model) in TORCH_KINDS else "baselines"


def model_dir(model, seed):
    return f"results/models/{model_group(model)}/{model}/seed{seed}"


def data_file(dataset):
    return f"results/data/{dataset}.npz"


def model_data(wildcards):
    return data_file(aeconfig.model_dataset(config, wildcards.model))


def training_priority(wildcards):
    """Longest jobs first: a model's epochs, a proxy for its run time. Started last, the deep
    AEs (minutes each) would run alone on an otherwise idle machine at the end of the run."""
    return config["models"][wildcards.model].get("train", {}).get(
        "epochs", config["training"]["epochs"]
    )


def models_of(group):
    """Regex matching the names of the configured models of one group (never empty)."""
    names = [m for m in config["models"] if model_group(m) == group]
    return "|".join(names) if names else "(?!x)x"


def experiment_model_dirs(exp):
    cfg = config["experiments"][exp]
    return {m: {s: model_dir(m, s) for s in SEEDS} for m in aeconfig.experiment_models(cfg)}


def experiment_inputs(exp):
    """The prepared data and every fitted model (all seeds) an experiment reads."""

    def inputs(wildcards):
        dirs = experiment_model_dirs(exp)
        first = next(iter(dirs))
        return {
            "data": data_file(aeconfig.model_dataset(config, first)),
            "models": [f"{d}/metrics.json" for seeds in dirs.values() for d in seeds.values()],
        }

    return inputs


def trained_histories():
    return [
        f"{model_dir(m, s)}/history.csv"
        for e in enabled_experiments()
        for m in aeconfig.experiment_models(config["experiments"][e])
        if model_kind(m) in TORCH_KINDS
        for s in SEEDS
    ]


def all_targets():
    return [f"results/{e}/metrics.csv" for e in enabled_experiments()] + [
        "results/tables/claims.csv",
        "results/figures/learning_curves.png",
    ]
