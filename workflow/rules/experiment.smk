# One generic step runs any experiment (aebench.experiments): it reads the runs of every model
# the experiment names, writes long-format metrics, a table and its figures, and files them in
# the report under the experiment's category (lecture order), as its "Table" (named after the
# experiment: every experiment's file is table.csv) and its "Figures" (named by file).


rule experiment:
    input:
        unpack(experiment_inputs),
    output:
        metrics=paths.metrics("{experiment}"),
        table=report(
            paths.table("{experiment}"),
            caption="../report/table.rst",
            category=report_category,
            subcategory="Table",
            labels=report_table_label,
        ),
        table_md=paths.table("{experiment}", "md"),
        figures=report(
            directory(paths.figures("{experiment}")),
            patterns=["{name}.png"],
            caption="../report/figure.rst",
            category=report_category,
            subcategory="Figures",
            labels={"figure": "{name}"},
        ),
    params:
        params=lambda wc: CFG.params_dict(wc.experiment),
        runs=experiment_runs,
        data=experiment_data,
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


# With `restore_from` (a published run), its finished experiments are copied back instead of
# re-run: a machine that lost results/ trains only what was not published. Same outputs and
# report entries as rule experiment.
rule restore_experiment:
    input:
        metrics=lambda wc: published(paths.metrics(wc.experiment)),
        table=lambda wc: published(paths.table(wc.experiment)),
        table_md=lambda wc: published(paths.table(wc.experiment, "md")),
        figures=lambda wc: published(paths.figures(wc.experiment)),
    output:
        metrics=paths.metrics("{experiment}"),
        table=report(
            paths.table("{experiment}"),
            caption="../report/table.rst",
            category=report_category,
            subcategory="Table",
            labels=report_table_label,
        ),
        table_md=paths.table("{experiment}", "md"),
        figures=report(
            directory(paths.figures("{experiment}")),
            patterns=["{name}.png"],
            caption="../report/figure.rst",
            category=report_category,
            subcategory="Figures",
            labels={"figure": "{name}"},
        ),
    wildcard_constraints:
        experiment=one_of(RESTORED),
    log:
        paths.log("restore", "{experiment}"),
    # copied in Python, not by a shell: a path from the config is never read by bash
    run:
        restore.copy_back([(input[k], output[k]) for k in ("metrics", "table", "table_md", "figures")],
                          log[0])


ruleorder: restore_experiment > experiment
