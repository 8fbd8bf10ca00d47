# One cached step per dataset: fetch (mirror or download), check, split (aebench.datasets).

# On a cluster it runs on the submitting host: compute nodes are often offline, and the login
# node is where the network (or the mirror) is. Snakemake runs local rules itself there.
localrules:
    prepare_data,


rule prepare_data:
    output:
        data=paths.data("{dataset}"),
        manifest=paths.manifest("{dataset}"),
    params:
        sizes=lambda wc: config["datasets"].get(wc.dataset, {}),
        mirror=config["data_mirror"],
        allow_download=config.get("allow_download", True),
        raw_root=paths.raw_root(),
    log:
        paths.log("data", "{dataset}"),
    benchmark:
        paths.benchmark("data", "{dataset}")
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/prepare_data.py"
