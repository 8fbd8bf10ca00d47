# Usage (from the repository root, after a quick run has prepared results/data/mnist.npz):
#   PYTHONPATH=workflow/src python docs/quick-trials/2026-12-07/denormal_probe.py noflush|flush
# Diagnostic: does flushing denormals remove the late-epoch slowdown of linear_tied (lr 1e-2, batch 128)?
import sys, time, yaml, torch
from snakemake.utils import update_config
from aebench import config as C
from aebench.runs import fit_run
flush = sys.argv[1] == "flush"
torch.set_flush_denormal(flush)
base = yaml.safe_load(open("config.yaml")); update_config(base, yaml.safe_load(open("workflow/presets/quick.yaml")))
update_config(base, {"models": {"linear_tied": {"train": {"epochs": 40, "lr": 1.0e-2, "batch_size": 128}}}})
cfg = C.load(base)
t = time.time()
fit_run(cfg.models["linear_tied"], "results/data/mnist.npz", 0, f"/tmp/dn/out_{sys.argv[1]}", threads=1,
        log=lambda *a: print(*a, flush=True) if "epoch" in str(a[0]) and ("/40 " in str(a[0])) else None)
print(sys.argv[1], "total", round(time.time() - t, 1))
