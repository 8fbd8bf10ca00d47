# E6 (slides 11-13): greedy layer-wise pre-training, then fine-tuning with label budgets.
# One cached pre-training job per (init, seed) writes the stacked hidden layers; one
# fine-tune job per (init, budget, seed) reads them, so every budget reuses one pre-training.

E6 = config["experiments"]["e6"]
E6_DATA = data_file(config["image_dataset"])


# `<init>@<budget>` -> seed -> fine-tune directory (the experiment's model_dirs). No functions
# here: `snakemake --lint` wants them out of rule files.
E6_FINETUNE_DIRS = {
    f"{i}@{b}": {s: f"results/e6/finetune/{i}/n{b}/seed{s}" for s in SEEDS}
    for i in E6["inits"]
    for b in E6["budgets"]
}


rule e6_pretrain:
    input:
        data=E6_DATA,
    output:
        stack="results/e6/pretrain/{init}/seed{seed}/stack.pt",
        history="results/e6/pretrain/{init}/seed{seed}/history.csv",
        metrics="results/e6/pretrain/{init}/seed{seed}/metrics.json",
    wildcard_constraints:
        init="|".join(E6["inits"]),
    params:
        entry=lambda wc: E6["inits"][wc.init],
        # only what pre-training reads: changing the budgets must not re-run it
        cfg={k: E6[k] for k in ("hidden", "pretrain", "rbm")},
        device=config["device"],
    threads: config["threads"]["train"]
    resources:
        **training_resources(),
    log:
        "results/logs/e6/pretrain/{init}/seed{seed}.log",
    benchmark:
        "results/benchmarks/e6/pretrain/{init}/seed{seed}.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/e6_pretrain.py"


rule e6_finetune:
    input:
        data=E6_DATA,
        stack="results/e6/pretrain/{init}/seed{seed}/stack.pt",
    output:
        history="results/e6/finetune/{init}/n{budget}/seed{seed}/history.csv",
        metrics="results/e6/finetune/{init}/n{budget}/seed{seed}/metrics.json",
    wildcard_constraints:
        init="|".join(E6["inits"]),
        budget=r"\d+|all",
    params:
        train=E6["finetune"],
        min_epoch_samples=E6["min_epoch_samples"],
        device=config["device"],
    threads: config["threads"]["train"]
    resources:
        **training_resources(),
    log:
        "results/logs/e6/finetune/{init}/n{budget}/seed{seed}.log",
    benchmark:
        "results/benchmarks/e6/finetune/{init}/n{budget}/seed{seed}.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/e6_finetune.py"


rule e6_pretraining:
    input:
        data=E6_DATA,
        models=[f"{d}/metrics.json" for seeds in E6_FINETUNE_DIRS.values() for d in seeds.values()],
    output:
        metrics="results/e6/metrics.csv",
        table=report(
            "results/e6/table.csv",
            caption="../report/e6_table.rst",
            category="E6 pre-training",
        ),
        table_md="results/e6/table.md",
        error_vs_budget=report(
            "results/e6/error_vs_budget.png",
            caption="../report/e6_error_vs_budget.rst",
            category="E6 pre-training",
        ),
    params:
        experiment="e6",
        cfg=E6,
        model_dirs=E6_FINETUNE_DIRS,
        device=config["device"],
    log:
        "results/logs/e6.log",
    benchmark:
        "results/benchmarks/e6.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"
