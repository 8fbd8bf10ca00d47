# An experiment that measures each fitted run on its own (Experiment.evaluate: E5, E7, E8, E9)
# gets one cached step per model and seed; its experiment step reads only these small
# results, which a published run keeps, so a run spread over machines keeps them too.


rule evaluate:
    input:
        data=lambda wc: paths.data(CFG.experiment_dataset(wc.experiment), wc.seed),
        run=lambda wc: run_dir(wc.model, wc.seed),
    output:
        directory(paths.evaluation("{experiment}", "{model}", "{seed}")),
    params:
        params=lambda wc: CFG.params_dict(wc.experiment),
        device=config["device"],
    threads: experiment_threads
    resources:
        mem_mb=experiment_resource("mem_mb"),
        runtime=experiment_resource("runtime"),
    wildcard_constraints:
        experiment=one_of(EVALUATING),
    log:
        paths.log("evals", "{experiment}", "{model}", "seed{seed}"),
    benchmark:
        paths.benchmark("evals", "{experiment}", "{model}", "seed{seed}")
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"


# With `restore_from`, a published evaluation is copied back instead of computed again (and
# the run it measures need not exist here).
rule restore_evaluation:
    input:
        lambda wc: published(f"{paths.RESULTS}/evals/{wc.evaluation}"),
    output:
        directory(f"{paths.RESULTS}/evals/{{evaluation}}"),
    wildcard_constraints:
        evaluation=one_of(RESTORED_EVALS),
    log:
        paths.log("restore", "evals", "{evaluation}"),
    # copied in Python, not by a shell: a path from the config is never read by bash
    run:
        restore.copy_back([(input[0], output[0])], log[0])


ruleorder: restore_evaluation > evaluate
