"""Exploration (not part of the pipeline): how the linear-probe accuracy of E7's plain and
sparse AEs moves with training epochs on the quick preset's 10k MNIST subset. Scored on the
VALIDATION split (choices never look at test)."""
import re, sys, time, dataclasses, yaml
import numpy as np, torch
from snakemake.utils import update_config
from aebench import config as aconfig
from aebench.datasets import load_prepared
from aebench.kinds import KINDS
from aebench.metrics import linear_probe_accuracy
from aebench.train import set_determinism

models = sys.argv[1].split(",")
seed = int(sys.argv[2]); epochs = int(sys.argv[3]); every = int(sys.argv[4])
extra = yaml.safe_load(sys.argv[5]) if len(sys.argv) > 5 else {}
cfg = yaml.safe_load(open("config.yaml"))
update_config(cfg, yaml.safe_load(open("workflow/presets/quick.yaml")))
update_config(cfg, extra)
for m in models:
    cfg["models"][m].setdefault("train", {}).update(epochs=epochs, patience=epochs)
C = aconfig.load(cfg)
data = load_prepared("results/data/mnist.npz")
for m in models:
    spec = C.models[m]
    set_determinism(seed, 1)
    kind = KINDS[spec.kind](spec)
    t0 = time.time()
    def log(msg, kind=kind, m=m):
        g = re.search(r"epoch +(\d+)/", msg)
        if g and (int(g.group(1)) % every == 0 or int(g.group(1)) in (8, 20)):
            e = int(g.group(1)); kind.net.eval()
            zt, zv = kind.encode(data.x_train), kind.encode(data.x_val)
            acc = linear_probe_accuracy(zt, data.y_train, zv, data.y_val, n_train=10000, seed=seed)
            kind.net.train()
            print(f"{m} seed {seed} epoch {e} val_probe {acc:.4f} {msg.split(']')[1].strip()} t {time.time()-t0:.0f}s", flush=True)
    kind.fit(data, seed, {}, log=log)
