# One cached step per (model, seed). Closed-form / scikit-learn baselines and torch models
# run in separate rules so that only the latter ask for training threads (and GPUs).


rule fit_baseline:
    input:
        data=model_data,
    output:
        model="results/models/baselines/{model}/seed{seed}/model.joblib",
        codes="results/models/baselines/{model}/seed{seed}/codes.npz",
        history="results/models/baselines/{model}/seed{seed}/history.csv",
        metrics="results/models/baselines/{model}/seed{seed}/metrics.json",
    wildcard_constraints:
        model=models_of("baselines"),
    params:
        entry=lambda wc: config["models"][wc.model],
        device="cpu",
        training=config["training"],
    threads: config["threads"]["baseline"]
    log:
        "results/logs/models/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/models/{model}/seed{seed}.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/fit_model.py"


rule train_autoencoder:
    input:
        data=model_data,
    output:
        model="results/models/autoencoders/{model}/seed{seed}/model.pt",
        codes="results/models/autoencoders/{model}/seed{seed}/codes.npz",
        history="results/models/autoencoders/{model}/seed{seed}/history.csv",
        metrics="results/models/autoencoders/{model}/seed{seed}/metrics.json",
    wildcard_constraints:
        model=models_of("autoencoders"),
    params:
        entry=lambda wc: config["models"][wc.model],
        device=config["device"],
        training=config["training"],
    threads: config["threads"]["train"]
    priority: training_priority
    resources:
        **training_resources(),
    log:
        "results/logs/models/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/models/{model}/seed{seed}.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/fit_model.py"
