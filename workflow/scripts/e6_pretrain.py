"""Rule e6_pretrain: one init's stacked hidden layers for one seed (aebench.pretrain)."""

import json
import time
from pathlib import Path

import pandas as pd

from aebench.data import load_prepared
from aebench.pretrain import pretrain
from aebench.runlog import rule_log
from aebench.train import resolve_device, set_determinism

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0], threads=sm.threads) as log:
    seed = int(sm.wildcards.seed)
    set_determinism(seed, sm.threads)
    data = load_prepared(sm.input.data)
    cfg, entry = sm.params.cfg, sm.params.entry
    dims = [data.dim, *cfg["hidden"]]
    device = resolve_device(sm.params.device)
    log(f"{sm.wildcards.init} ({entry['kind']}) seed {seed}: {dims} on {len(data.x_train)} "
        f"unlabelled {data.name} training images")
    t0 = time.perf_counter()
    stack = pretrain(entry["kind"], data.x_train, data.x_val, dims, entry.get("params", {}), cfg,
                     seed, device, log)
    seconds = time.perf_counter() - t0
    stack.save(sm.output.stack)
    pd.DataFrame(stack.info["history"], columns=["layer", "epoch", "train_loss", "val_loss", "lr",
                                                 "seconds"]).to_csv(sm.output.history, index=False)
    Path(sm.output.metrics).write_text(json.dumps(
        {"init": sm.wildcards.init, "kind": entry["kind"], "seed": seed, "dataset": data.name,
         "dims": dims, "pretrain_seconds": round(seconds, 2)}, indent=2))
    log(f"pre-training done in {seconds:.1f}s")
