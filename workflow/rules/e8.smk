# E8 (slides 15-16): RBM / DBN features (E6's cached pre-training stacks) under a linear
# probe, beside the AE stacks', and their first-layer filters. No training of its own.

E8 = config["experiments"]["e8"]


rule e8_rbm_dbn:
    input:
        data=data_file(config["image_dataset"]),
        models=expand(
            "results/e6/pretrain/{init}/seed{seed}/metrics.json", init=E8["inits"], seed=SEEDS
        ),
    output:
        metrics="results/e8/metrics.csv",
        table=report(
            "results/e8/table.csv",
            caption="../report/e8_table.rst",
            category="E8 RBM and DBN",
        ),
        table_md="results/e8/table.md",
        filters=report(
            "results/e8/filters.png",
            caption="../report/e8_filters.rst",
            category="E8 RBM and DBN",
        ),
    params:
        experiment="e8",
        cfg=E8,
        model_dirs={i: {s: f"results/e6/pretrain/{i}/seed{s}" for s in SEEDS} for i in E8["inits"]},
        device=config["device"],
    threads: config["threads"]["baseline"]
    log:
        "results/logs/e8.log",
    benchmark:
        "results/benchmarks/e8.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"
