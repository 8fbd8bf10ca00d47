rule e9_conv_decoders:
    input:
        unpack(experiment_inputs("e9")),
    output:
        metrics="results/e9/metrics.csv",
        table=report(
            "results/e9/table.csv",
            caption="../report/e9_table.rst",
            category="E9 conv AE",
        ),
        table_md="results/e9/table.md",
        reconstructions=report(
            "results/e9/reconstructions.png",
            caption="../report/e9_reconstructions.rst",
            category="E9 conv AE",
        ),
    params:
        experiment="e9",
        cfg=config["experiments"]["e9"],
        model_dirs=experiment_model_dirs("e9"),
        device=config["device"],
    log:
        "results/logs/e9.log",
    benchmark:
        "results/benchmarks/e9.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"
