rule e3_codes_2d:
    input:
        unpack(experiment_inputs("e3")),
    output:
        metrics="results/e3/metrics.csv",
        table=report(
            "results/e3/table.csv",
            caption="../report/e3_table.rst",
            category="E3 2-D codes",
        ),
        table_md="results/e3/table.md",
        scatter=report(
            "results/e3/codes_2d.png",
            caption="../report/e3_scatter.rst",
            category="E3 2-D codes",
        ),
    params:
        experiment="e3",
        cfg=config["experiments"]["e3"],
        model_dirs=experiment_model_dirs("e3"),
        device=config["device"],
    log:
        "results/logs/e3.log",
    benchmark:
        "results/benchmarks/e3.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"
