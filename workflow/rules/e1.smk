rule e1_reconstruction:
    input:
        unpack(experiment_inputs("e1")),
    output:
        metrics="results/e1/metrics.csv",
        table=report(
            "results/e1/table.csv",
            caption="../report/e1_table.rst",
            category="E1 PCA vs deep AE",
        ),
        table_md="results/e1/table.md",
        reconstructions=report(
            "results/e1/reconstructions.png",
            caption="../report/e1_reconstructions.rst",
            category="E1 PCA vs deep AE",
        ),
    params:
        experiment="e1",
        cfg=config["experiments"]["e1"],
        model_dirs=experiment_model_dirs("e1"),
        device=config["device"],
    log:
        "results/logs/e1.log",
    benchmark:
        "results/benchmarks/e1.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"
