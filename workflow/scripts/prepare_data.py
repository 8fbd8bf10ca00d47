"""Rule prepare_data: fetch, check and split one dataset (aebench.datasets)."""

import json

from aebench.datasets import manifest, prepare, save_prepared
from aebench.runctl.runlog import rule_log

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0]) as log:
    name = sm.wildcards.dataset
    log(f"preparing {name} (mirror: {sm.params.mirror}, downloads allowed: {sm.params.allow_download})")
    p, sources, scale = prepare(name, sm.params.raw_root, sm.params.mirror, sm.params.allow_download,
                                **sm.params.sizes)
    save_prepared(sm.output.data, p, scale, sources)
    info = manifest(p, sm.output.data, sources)
    with open(sm.output.manifest, "w") as f:
        json.dump(info, f, indent=2)
    log(f"{name}: train {info['n']['train']}, val {info['n']['val']}, test {info['n']['test']}, "
        f"sample shape {info['sample_shape']}")
