rule e4_text_retrieval:
    input:
        unpack(experiment_inputs("e4")),
    output:
        metrics="results/e4/metrics.csv",
        table=report(
            "results/e4/table.csv",
            caption="../report/e4_table.rst",
            category="E4 text retrieval",
        ),
        table_md="results/e4/table.md",
        curve_csv="results/e4/precision_recall.csv",
        pr_curve=report(
            "results/e4/precision_recall.png",
            caption="../report/e4_pr_curve.rst",
            category="E4 text retrieval",
        ),
        scatter=report(
            "results/e4/codes_2d.png",
            caption="../report/e4_scatter.rst",
            category="E4 text retrieval",
        ),
    params:
        experiment="e4",
        cfg=config["experiments"]["e4"],
        model_dirs=experiment_model_dirs("e4"),
        device=config["device"],
    threads: config["threads"]["baseline"]
    log:
        "results/logs/e4.log",
    benchmark:
        "results/benchmarks/e4.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"
