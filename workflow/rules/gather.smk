rule gather:
    input:
        metrics=expand("results/{exp}/metrics.csv", exp=enabled_experiments()),
        histories=trained_histories(),
        claims=CLAIMS,
    output:
        claims=report(
            "results/tables/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
        ),
        claims_md="results/tables/claims.md",
        summary="results/tables/summary.csv",
        curves=report(
            "results/figures/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Training",
        ),
    log:
        "results/logs/gather.log",
    benchmark:
        "results/benchmarks/gather.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/gather.py"
