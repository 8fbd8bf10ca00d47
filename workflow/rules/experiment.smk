# One generic step runs any experiment (aebench.experiments): it reads the runs of every model
# the experiment names, writes long-format metrics, a table and its figures, and files them in
# the report under the experiment's category (lecture order).


rule experiment:
    input:
        unpack(experiment_inputs),
    output:
        metrics=paths.metrics("{experiment}"),
        table=report(
            paths.table("{experiment}"),
            caption="../report/table.rst",
            category=report_category,
        ),
        table_md=paths.table("{experiment}", "md"),
        figures=report(
            directory(paths.figures("{experiment}")),
            patterns=["{name}.png"],
            caption="../report/figure.rst",
            category=report_category,
        ),
    params:
        params=lambda wc: CFG.params_dict(wc.experiment),
        runs=experiment_runs,
        device=config["device"],
    threads: experiment_threads
    resources:
        mem_mb=experiment_resource("mem_mb"),
        runtime=experiment_resource("runtime"),
    log:
        paths.log("{experiment}"),
    benchmark:
        paths.benchmark("{experiment}")
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/experiment.py"
