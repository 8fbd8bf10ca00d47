rule e5_image_retrieval:
    input:
        unpack(experiment_inputs("e5")),
    output:
        metrics="results/e5/metrics.csv",
        table=report(
            "results/e5/table.csv",
            caption="../report/e5_table.rst",
            category="E5 image retrieval",
        ),
        table_md="results/e5/table.md",
        hits=report(
            "results/e5/top_hits.png",
            caption="../report/e5_hits.rst",
            category="E5 image retrieval",
        ),
    params:
        experiment="e5",
        cfg=config["experiments"]["e5"],
        model_dirs=experiment_model_dirs("e5"),
        device=config["device"],
    threads: config["threads"]["baseline"]
    log:
        "results/logs/e5.log",
    benchmark:
        "results/benchmarks/e5.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"
