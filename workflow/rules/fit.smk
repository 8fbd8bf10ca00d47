# One cached step per (model, seed), whatever its kind (aebench.kinds): baselines, autoencoders,
# E6's pre-training stacks and fine-tuned classifiers, E10's judge. The kind decides the
# threads (training or baseline), the GPU request and the cluster resources. Training jobs
# checkpoint into paths.checkpoint(model, seed), outside the output (which Snakemake deletes
# when a job fails): every few minutes and on SIGTERM (a SLURM time limit, preemption); running
# the job again resumes, and success removes the checkpoints (aebench.checkpoint). Each epoch's
# record goes to paths.progress(model, seed), also no output (aebench.progress: what status reads).


rule fit:
    input:
        unpack(fit_inputs),
    output:
        directory(paths.run("{model}", "{seed}")),
    params:
        spec=lambda wc: CFG.models[wc.model].to_dict(),
        deps=dep_runs,
        device=config["device"],
    threads: fit_threads
    priority: training_priority
    resources:
        gpu=fit_gpus,
        mem_mb=fit_resource("mem_mb"),
        runtime=fit_resource("runtime"),
        **({"gpu_model": fit_gpu_model} if TRAIN_GPUS and config["gpu_model"] else {}),
    log:
        paths.log("runs", "{model}", "seed{seed}"),
    benchmark:
        paths.benchmark("runs", "{model}", "seed{seed}")
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/fit.py"


# With `restore_from`, a published fit whose model file nothing left to run reads (E6's
# classifiers: E6 reads their metrics.json) is copied back instead of trained again: a run
# longer than one machine's life keeps its finished fits, not only its finished experiments.
rule restore_fit:
    input:
        lambda wc: published(f"{paths.RESULTS}/runs/{wc.fit}"),
    output:
        directory(f"{paths.RESULTS}/runs/{{fit}}"),
    wildcard_constraints:
        fit=one_of(RESTORED_FITS),
    log:
        paths.log("restore", "runs", "{fit}"),
    # copied in Python, not by a shell: a path from the config is never read by bash
    run:
        restore.copy_back([(input[0], output[0])], log[0])


ruleorder: restore_fit > fit


# The machine's fp32 sgemm peak, which each fit's cost.json sets its speed against
# (aebench.peak): measured before the first job starts, so nothing of the run runs beside it,
# and cached per CPU model and thread count in paths.peak(), so only a machine's first run
# pays (seconds). On a cluster the nodes measure their own in their first fit.
onstart:
    measure_peak_before_jobs()
