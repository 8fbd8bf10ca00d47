# One cached step per dataset and seed: fetch (mirror or download), check, split with the
# seed (aebench.datasets): each seed draws its own subsets and validation split. The steps of
# one run share the raw files they fetch, so they run one at a time (resource prepare_data).

# On a cluster it runs on the submitting host: compute nodes are often offline, and the login
# node is where the network (or the mirror) is. Snakemake runs local rules itself there.
localrules:
    prepare_data,


rule prepare_data:
    output:
        data=paths.data("{dataset}", "{seed}"),
        manifest=paths.manifest("{dataset}", "{seed}"),
    params:
        # its own entry under `datasets:`, or (a setting of another dataset, as 20news_headers
        # of 20news) that dataset's
        sizes=lambda wc: datasets.sizes(config["datasets"], wc.dataset),
        mirror=config["data_mirror"],
        allow_download=config.get("allow_download", True),
        raw_root=paths.raw_root(),
        judge_split=CFG.settings.judge_split,
    resources:
        prepare_data=1,
    log:
        paths.log("data", "{dataset}", "seed{seed}"),
    benchmark:
        paths.benchmark("data", "{dataset}", "seed{seed}")
    conda:
        "../../envs/aebench.yaml"
    script:
        "../scripts/prepare_data.py"
