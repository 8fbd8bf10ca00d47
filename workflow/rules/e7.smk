rule e7_ae_variants:
    input:
        unpack(experiment_inputs("e7")),
    output:
        metrics="results/e7/metrics.csv",
        table=report(
            "results/e7/table.csv",
            caption="../report/e7_table.rst",
            category="E7 AE variants",
        ),
        table_md="results/e7/table.md",
        denoising=report(
            "results/e7/denoising.png",
            caption="../report/e7_denoising.rst",
            category="E7 AE variants",
        ),
    params:
        experiment="e7",
        cfg=config["experiments"]["e7"],
        model_dirs=experiment_model_dirs("e7"),
        device=config["device"],
    threads: config["threads"]["baseline"]
    log:
        "results/logs/e7.log",
    benchmark:
        "results/benchmarks/e7.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"
