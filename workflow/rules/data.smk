rule prepare_data:
    output:
        data="results/data/{dataset}.npz",
        manifest="results/data/{dataset}.json",
    params:
        sizes=lambda wc: config["datasets"].get(wc.dataset, {}),
        mirror=config["data_mirror"],
        allow_download=config.get("allow_download", True),
        raw_root="results/data/raw",
    log:
        "results/logs/data/{dataset}.log",
    benchmark:
        "results/benchmarks/data/{dataset}.tsv"
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/prepare_data.py"
