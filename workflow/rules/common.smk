import os
import re
import sys
from pathlib import Path

# The importable package behind every script. Jobs inherit PYTHONPATH, so a checkout always
# runs its own code, even beside another installed copy of aebench.
SRC = str(Path(workflow.basedir) / "workflow" / "src")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p))

from aebench import config as aeconfig
from aebench import datasets, paths, preflight
from aebench.experiments import EXPERIMENTS
from aebench.kinds import KINDS

# Of run management (aebench.runctl) only what planning needs: restore planning, the GPU
# count and the report's front page, none of which imports pandas.
from aebench.runctl import frontpage, gpus, restore

# `--config seeds=[0]` and `allow_download=false` mean what they mean in a config file.
from snakemake.utils import update_config

update_config(config, aeconfig.from_command_line(workflow.config_settings.config or {}))

# The whole config is checked and parsed once (aebench.config): one message per problem.
try:
    CFG = aeconfig.load({k: v for k, v in config.items() if not k.startswith("_")})
except aeconfig.ConfigError as e:
    # The Snakefile's `configfile: "config.yaml"` is read from the working directory, and
    # Snakemake skips it silently when it is not there (--directory DIR without a copy).
    if not Path("config.yaml").exists():
        raise WorkflowError(f"no config.yaml in the working directory {Path.cwd()}: with "
                            "--directory DIR, copy it there first (cp config.yaml DIR/)") from None
    import yaml

    # Lowest precedence first: the Snakefile's config.yaml, each --configfile, then --config.
    given = [str(f) for f in workflow.overwrite_configfiles]
    files = [str(f) for f in workflow.configfiles if str(f) not in given] + given
    sources = [(f, yaml.safe_load(Path(f).read_text())) for f in files]
    sources.append(("--config on the command line", workflow.config_settings.config))
    raise WorkflowError(aeconfig.explain(e, sources)) from None

# A val-judged run (judge_split: val, development) writes under results/val/ (aebench.paths);
# set before any path is made, and passed on to the jobs through their environment.
paths.judge(CFG.settings.judge_split)

# A published run's finished experiments are copied back (rule restore_experiment), not re-run.
RESTORE_FROM = config.get("restore_from")
try:
    RESTORED = (restore.restorable(RESTORE_FROM, CFG, config.get("restore_changed_code", False),
                                   warn=logger.warning) if RESTORE_FROM else [])
except aeconfig.ConfigError as e:
    raise WorkflowError(str(e)) from None
# ... and the published evaluations and fits that nothing left to run needs again (rules
# restore_evaluation, restore_fit), as paths under results/evals/ and results/runs/.
PLAN = restore.restore_plan(RESTORE_FROM, CFG, RESTORED) if RESTORE_FROM else None
RESTORED_FITS = [f"{m}/seed{s}" for m, s in PLAN.fits] if PLAN else []
RESTORED_EVALS = [f"{e}/{m}/seed{s}" for e, m, s in PLAN.evaluations] if PLAN else []
# The experiments that measure each run in its own step (rule evaluate).
EVALUATING = [e for e in CFG.enabled if EXPERIMENTS[e].evaluates]

# Errors that would otherwise pass the dry run and stop only the first job (aebench.preflight).
# Snakemake picks its executor after reading this file (workflow.local_exec is True here even
# with --executor slurm), so whether the jobs run on this machine is read from its command line.
LOCAL_RUN = preflight.invoked_executor() in (None, "local")
try:
    preflight.check_device(config["device"], LOCAL_RUN)
    preflight.check_data(sorted({d for e in CFG.enabled if e not in RESTORED
                                 for d in CFG.experiment_datasets(e)}),
                         CFG.settings.data_mirror, CFG.settings.allow_download,
                         seeds=config["seeds"])
except preflight.PreflightError as e:
    raise WorkflowError(str(e)) from None

# Report captions live with their experiment (aebench.experiments); the caption templates in
# workflow/report/ read them from here, rendered with the experiment's settings.
config["_captions"] = {
    name: {key: text.format(p=CFG.params[name], **EXPERIMENTS[name].caption_values(CFG.params[name]))
           for key, text in {"table.csv": EXPERIMENTS[name].table_caption,
                             **EXPERIMENTS[name].figures}.items()}
    for name in CFG.enabled
}
# The report's front page: the claims table of the last gather (if any) and the experiments.
config["_front"] = frontpage.front_page(
    paths.CLAIMS, [(EXPERIMENTS[e].category, EXPERIMENTS[e].lecture) for e in CFG.enabled]
)


def one_of(names):
    """Regex matching exactly these names (never empty); each is escaped, so a '.' in a name
    matches only a '.'."""
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


wildcard_constraints:
    seed=r"\d+",
    dataset=one_of(sorted({m.dataset for m in CFG.models.values()})),
    model=one_of(CFG.models),
    experiment=one_of(CFG.enabled),


# The prepare_data steps of one dataset share its raw files: one at a time, so that no step
# reads a file another is still copying in.
if "prepare_data" not in workflow.global_resources:
    workflow.register_resource("prepare_data", 1)

# GPUs per training job (0 or 1), requested as Snakemake's `gpu` resource.
TRAIN_GPUS = gpus.training_gpus(config["device"], config["gpu"])
# A local run gives each training job a GPU of its own unless the user allows sharing
# (`--resources gpu=N`): without a cap Snakemake would start all of them on one device.
if TRAIN_GPUS and LOCAL_RUN and "gpu" not in workflow.global_resources:
    workflow.register_resource("gpu", max(gpus.local_gpu_count(), 1))


def kind_of(wildcards):
    return KINDS[CFG.models[wildcards.model].kind]


def run_dir(model, seed):
    return paths.run(model, seed)


def model_runs(models):
    """model -> seed -> run directory, for every seed each model is fitted with."""
    return {m: {s: run_dir(m, s) for s in CFG.model_seeds(m)} for m in models}


def dep_runs(wildcards):
    """The runs a model is built from (an E6 classifier's stack), at the same seed."""
    spec = CFG.models[wildcards.model]
    return {d: run_dir(d, wildcards.seed if CFG.models[d].seeded else 0) for d in spec.needs}


def fit_inputs(wildcards):
    return {"data": paths.data(CFG.models[wildcards.model].dataset, wildcards.seed),
            "deps": list(dep_runs(wildcards).values())}


def fit_threads(wildcards):
    return config["threads"]["train" if kind_of(wildcards).torch_based else "baseline"]


def fit_gpus(wildcards):
    return TRAIN_GPUS if kind_of(wildcards).torch_based else 0


def fit_gpu_model(wildcards):
    return config["gpu_model"] if fit_gpus(wildcards) else ""


def fit_resource(key):
    return lambda wildcards: kind_of(wildcards).resources[key]


def training_priority(wildcards):
    """Longest jobs first: a model's epochs, a proxy for its run time. Started last, the deep
    AEs (minutes each) would run alone on an otherwise idle machine at the end of the run."""
    train = CFG.models[wildcards.model].train
    return train.epochs if train is not None else 0


def experiment_runs(wildcards):
    """model -> seed -> what the experiment step reads: the runs, or their evaluations."""
    e = wildcards.experiment
    if e in EVALUATING:
        return {m: {s: paths.evaluation(e, m, s) for s in CFG.model_seeds(m)}
                for m in CFG.experiment_models(e)}
    return model_runs(CFG.experiment_models(e))


def experiment_seeds(experiment):
    """Every seed an experiment's models are fitted with (a seed-less model's 0 included)."""
    return sorted({s for m in CFG.experiment_models(experiment) for s in CFG.model_seeds(m)})


def experiment_data(wildcards):
    """seed -> the prepared data that seed's runs were fitted on and are measured on."""
    e = wildcards.experiment
    return {s: paths.data(CFG.experiment_dataset(e), s) for s in experiment_seeds(e)}


def experiment_inputs(wildcards):
    """The prepared data (each seed's, of its own dataset and of each `also_on` one) and every
    run (all seeds) an experiment reads."""
    e = wildcards.experiment
    other = [paths.data(d, s) for d in CFG.also_on.get(e, []) for s in experiment_seeds(e)]
    return {"data": list(experiment_data(wildcards).values()) + other,
            "runs": [d for seeds in experiment_runs(wildcards).values() for d in seeds.values()]}


def experiment_threads(wildcards):
    t = EXPERIMENTS[wildcards.experiment].threads
    return config["threads"]["baseline"] if t == "baseline" else t


def experiment_resource(key):
    return lambda wildcards: EXPERIMENTS[wildcards.experiment].resources[key]


def report_category(wildcards):
    return EXPERIMENTS[wildcards.experiment].category


def report_table_label(wildcards):
    """The report's name for an experiment's table: every one is a file named table.csv."""
    e = EXPERIMENTS[wildcards.experiment]
    return {"table": f"{e.name.upper()} {e.title}"}


def curve_models(experiments):
    return sorted({m for e in experiments for m in CFG.experiment_models(e)
                   if CFG.models[m].kind == "autoencoder"})


def curve_fits():
    return [(m, s) for m in curve_models(CFG.enabled) for s in CFG.model_seeds(m)]


def learning_curve_runs():
    """The autoencoders the enabled experiments read: their histories make the curves. Those
    this run neither trains nor copies back come from the published run
    (learning_curve_histories)."""
    return [run_dir(*f) for f in curve_fits() if PLAN is None or f in PLAN.needed]


def learning_curve_histories():
    return [published(run_dir(*f), "history.csv") for f in curve_fits() if PLAN and f not in PLAN.needed]


def published(path, *parts):
    """Where ``restore_from`` holds a results/ path."""
    return str(Path(RESTORE_FROM, Path(path).relative_to(paths.RESULTS), *parts))


def data_manifests():
    """Each dataset's manifest (full data or a subset?); from the published run where only
    restored experiments use the dataset."""
    live = {(d, s) for e in CFG.enabled if e not in RESTORED
            for d in CFG.experiment_datasets(e) for s in experiment_seeds(e)}
    restored = {(d, s) for e in RESTORED for d in CFG.experiment_datasets(e)
                for s in experiment_seeds(e)} - live
    return ([paths.manifest(*d) for d in sorted(live)]
            + [published_manifest(*d) for d in sorted(restored)])


def published_manifest(dataset, seed):
    """A published run's manifest of (dataset, seed); one published before each seed had its
    own split has one manifest per dataset (every seed saw that data)."""
    per_seed = published(paths.manifest(dataset, seed))
    if Path(per_seed).exists():
        return per_seed
    return str(Path(RESTORE_FROM, "data", f"{dataset}.json"))


def claim_files():
    from aebench.claims import files

    return files()


def claims_not_judged():
    """Claim id -> reason, for the claims this config leaves to another run."""
    from aebench.claims import not_judged_of

    return not_judged_of(CFG.raw)


def all_targets():
    return [paths.metrics(e) for e in CFG.enabled] + [paths.CLAIMS, paths.LEARNING_CURVES]


def measure_peak_before_jobs():
    """The fits' sgemm peak (aebench.peak.before_jobs), at the threads a training job gets
    here (Snakemake caps a rule's threads at --cores), on the device they will train on; on a
    cluster, nothing to do here. A measurement that fails stops no run: the fits then measure
    it themselves, and say so in their logs."""
    if not workflow.local_exec:
        return
    from aebench.peak import before_jobs

    threads = min(config["threads"]["train"], workflow.cores)
    # `gpu:` counts GPUs for scheduling; whether torch sees one is asked only where one may be
    device = "cpu" if config["device"] == "cpu" or not TRAIN_GPUS else "auto"
    try:
        before_jobs(paths.peak(), threads, device, log=logger.info)
    except Exception as e:
        logger.warning(f"could not measure the sgemm peak before the jobs ({type(e).__name__}: "
                       f"{e}); each fit measures it itself")
