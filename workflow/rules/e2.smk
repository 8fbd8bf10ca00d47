rule e2_linear_vs_pca:
    input:
        unpack(experiment_inputs("e2")),
    output:
        metrics="results/e2/metrics.csv",
        table=report(
            "results/e2/table.csv",
            caption="../report/e2_table.rst",
            category="E2 linear AE = PCA",
        ),
        table_md="results/e2/table.md",
        angles=report(
            "results/e2/principal_angles.png",
            caption="../report/e2_angles.rst",
            category="E2 linear AE = PCA",
        ),
    params:
        experiment="e2",
        cfg=config["experiments"]["e2"],
        model_dirs=experiment_model_dirs("e2"),
        device=config["device"],
    log:
        "results/logs/e2.log",
    benchmark:
        "results/benchmarks/e2.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"
