"""Rule prepare_data: fetch, check and split one dataset (aebench.datasets)."""

import json

from aebench.datasets import manifest, prepare, save_prepared
from aebench.runctl.runlog import rule_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0]) as log:
    name, seed = sm.wildcards.dataset, int(sm.wildcards.seed)
    log(f"preparing {name} for seed {seed} (mirror: {sm.params.mirror}, downloads allowed: {sm.params.allow_download})")
    p, sources, scale = prepare(name, sm.params.raw_root, sm.params.mirror, sm.params.allow_download,
                                split_seed=seed, **sm.params.sizes)
    save_prepared(sm.output.data, p, scale, sources)
    # which split the run that made it judges: a val run's tables never pass for a test run's
    info = {**manifest(p, sm.output.data, sources), "judged_split": sm.params.judge_split}
    with open(sm.output.manifest, "w") as f:
        json.dump(info, f, indent=2)
    log(f"{name} seed {seed}: train {info['n']['train']}, val {info['n']['val']}, test {info['n']['test']}, "
        f"sample shape {info['sample_shape']}")
