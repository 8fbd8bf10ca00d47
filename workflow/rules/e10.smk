# E10's judge: a digit classifier trained once per image dataset, cached on its own.


rule fit_classifier:
    input:
        data="results/data/{dataset}.npz",
    output:
        model="results/classifiers/{dataset}/logreg.joblib",
        metrics="results/classifiers/{dataset}/metrics.json",
    params:
        cfg=config["experiments"]["e10"]["classifier"],
    threads: config["threads"]["baseline"]
    log:
        "results/logs/classifiers/{dataset}.log",
    benchmark:
        "results/benchmarks/classifiers/{dataset}.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/fit_classifier.py"


rule e10_decoder_as_generator:
    input:
        unpack(experiment_inputs("e10")),
        # the dataset of E10's models (config.check makes them share one)
        classifier="results/classifiers/{}/logreg.joblib".format(
            aeconfig.model_dataset(config, config["experiments"]["e10"]["models"][0])
        ),
    output:
        metrics="results/e10/metrics.csv",
        table=report(
            "results/e10/table.csv",
            caption="../report/e10_table.rst",
            category="E10 generator",
        ),
        table_md="results/e10/table.md",
        grids=report(
            "results/e10/grids.png",
            caption="../report/e10_grids.rst",
            category="E10 generator",
        ),
    params:
        experiment="e10",
        cfg=config["experiments"]["e10"],
        model_dirs=experiment_model_dirs("e10"),
        device=config["device"],
    log:
        "results/logs/e10.log",
    benchmark:
        "results/benchmarks/e10.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/evaluate.py"
