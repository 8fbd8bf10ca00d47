"""Rule e6_finetune: fine-tune one pre-trained stack with one label budget (aebench.finetune)."""

import json
import time
from pathlib import Path

import pandas as pd

from aebench.data import load_prepared
from aebench.finetune import ALL, finetune
from aebench.pretrain import Stack
from aebench.runlog import rule_log
from aebench.train import resolve_device, set_determinism

sm = snakemake  # noqa: F821 (injected by Snakemake)
with rule_log(sm.log[0], threads=sm.threads) as log:
    seed, init = int(sm.wildcards.seed), sm.wildcards.init
    budget = ALL if sm.wildcards.budget == ALL else int(sm.wildcards.budget)
    set_determinism(seed, sm.threads)
    data = load_prepared(sm.input.data)
    stack = Stack.load(sm.input.stack)
    t0 = time.perf_counter()
    net, history, info = finetune(stack, data, budget, seed, sm.params.train,
                                  min_epoch_samples=sm.params.min_epoch_samples,
                                  device=resolve_device(sm.params.device), log=log,
                                  name=f"{init} n{budget} seed {seed}")
    seconds = time.perf_counter() - t0
    pd.DataFrame(history, columns=["epoch", "train_loss", "val_loss", "lr", "seconds"]).to_csv(
        sm.output.history, index=False)
    metrics = {"init": init, "budget": str(budget), "seed": seed, "dataset": data.name,
               **info, "epochs": len(history), "train_seconds": round(seconds, 2)}
    Path(sm.output.metrics).write_text(json.dumps(metrics, indent=2))
    log(f"{init} n{budget} seed {seed}: test error {info['test_error']:.4f} ({seconds:.1f}s)")
