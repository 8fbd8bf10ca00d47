"""Fit one configured model with one seed and write everything later steps read.

Outputs in ``out_dir``: the model file, ``codes.npz`` (codes of train/val/test and the
reconstructions of the first test samples, for figures), ``history.csv`` (one row per
epoch, empty for closed-form baselines) and ``metrics.json`` (written last).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .data import load_prepared
from .methods import make_method, model_file
from .metrics import mse_per_pixel, squared_error_per_image
from .train import set_determinism

N_SHOWN = 64  # test reconstructions kept for figures


def fit_model(name: str, entry: dict, data_path: str | Path, seed: int, out_dir: str | Path,
              *, device: str = "auto", threads: int = 1, train_defaults: dict | None = None,
              log=print) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_determinism(seed, threads)
    data = load_prepared(data_path)
    method = make_method(entry["kind"], entry.get("params", {}), entry.get("train", {}))
    t0 = time.perf_counter()
    history = method.fit(data, seed, log=log, device=device, train_defaults=train_defaults,
                         name=f"{name} seed {seed}")
    seconds = time.perf_counter() - t0
    method.save(out / model_file(entry["kind"]))

    codes = {f"z_{s}": method.encode(data.split(s)[0]) for s in ("train", "val", "test")}
    recon_test = method.reconstruct(data.x_test)
    recon_val = method.reconstruct(data.x_val)
    np.savez(out / "codes.npz", **codes, recon_test_head=recon_test[:N_SHOWN])
    pd.DataFrame(history, columns=["epoch", "train_loss", "val_loss", "lr", "seconds"]).to_csv(
        out / "history.csv", index=False)
    metrics = {
        "model": name, "seed": seed, "kind": entry["kind"], "dataset": data.name,
        "n_params": method.n_params(), "train_seconds": round(seconds, 2),
        "epochs": len(history),
        "test_sq_err_per_image": squared_error_per_image(data.x_test, recon_test),
        "test_mse_per_pixel": mse_per_pixel(data.x_test, recon_test),
        "val_sq_err_per_image": squared_error_per_image(data.x_val, recon_val),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    log(f"{name} seed {seed}: test squared error per image {metrics['test_sq_err_per_image']:.3f} "
        f"({seconds:.1f}s)")
    return metrics
