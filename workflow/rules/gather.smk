# The claims table (each lecture claim judged against its anchor), the summary of every
# experiment and the learning curves of the trained autoencoders.


rule gather:
    input:
        metrics=[paths.metrics(e) for e in CFG.enabled],
        runs=learning_curve_runs(),
        histories=learning_curve_histories(),
        claims=claim_files(),
        manifests=data_manifests(),
    output:
        claims=report(paths.CLAIMS, caption="../report/claims.rst", category="Claims",
                      subcategory="Verdicts", labels={"table": "claims: every lecture claim judged"}),
        claims_md=paths.CLAIMS_MD,
        summary=paths.SUMMARY,
        curves=report(
            paths.LEARNING_CURVES,
            caption="../report/learning_curves.rst",
            category="Training",
            subcategory="Learning curves",
            labels={"figure": "validation loss per epoch"},
        ),
    params:
        experiments=CFG.enabled,
        not_judged=claims_not_judged(),
        judge_split=CFG.settings.judge_split,
    log:
        paths.log("gather"),
    benchmark:
        paths.benchmark("gather")
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/gather.py"
