"""E7 (slide 14): plain, sparse, denoising and contractive AEs of the same size.

On test, for every model and seed: clean reconstruction error; the error of reconstructing
corrupted inputs measured against the clean ones (each configured noise, the same noisy
images for every model); the mean Frobenius norm of the encoder Jacobian (contraction); code
sparsity; and the accuracy of a linear probe (scikit-learn LogisticRegression) on the codes.
"""

from __future__ import annotations

import numpy as np
import torch

from ..methods import load_method
from ..metrics import linear_probe_accuracy, squared_error_per_image
from ..plots import reconstruction_grid
from ..train import batched
from ..variants import NoiseSpec, jacobian_frobenius_sq
from . import experiment, rows


def noisy_test_inputs(x: np.ndarray, noises: list[NoiseSpec]) -> dict[str, np.ndarray]:
    """Each noise applied once to the test set with its own fixed generator, so every model
    and seed is scored on the same corrupted images."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    return {n.label(): n(xt, generator=torch.Generator().manual_seed(i)).numpy()
            for i, n in enumerate(noises)}


def mean_jacobian_norm(net, x: np.ndarray, batch_size: int = 256) -> float:
    """Mean over test images of ||dz/dx||_F (exact for one sigmoid layer, see variants)."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    sq = torch.cat([jacobian_frobenius_sq(net, xt[i:i + batch_size]).detach()
                    for i in range(0, len(xt), batch_size)])
    return float(sq.sqrt().mean())


@experiment("e7")
def ae_variants(ctx):
    d, p = ctx.data, ctx.params
    noises = [NoiseSpec(**n) for n in p["noise_eval"]]
    noisy = noisy_test_inputs(d.x_test, noises)
    n_show = p["n_show"]
    # The figure shows, for each noise kind, its strongest level: noisy input, then outputs.
    shown = {n.kind: n.label() for n in sorted(noises, key=lambda n: n.level)}
    panels = {"clean test input": d.x_test[:n_show]}
    outputs = {label: {} for label in shown.values()}
    out = []
    for model in p["models"]:
        for seed in ctx.seeds(model):
            m = load_method(ctx.models[model][seed])
            info = ctx.metrics_json(model, seed)
            values = {"sq_err_per_image": info["test_sq_err_per_image"]}
            for label, xn in noisy.items():
                recon = m.reconstruct(xn)
                values[f"noisy_err_{label}"] = squared_error_per_image(d.x_test, recon)
                if label in outputs and model not in outputs[label]:
                    outputs[label][model] = recon[:n_show]
            with torch.no_grad():
                values["jacobian_fro"] = mean_jacobian_norm(m.net, m.inputs(d.x_test))
            c = ctx.codes(model, seed)
            values["code_sparsity"] = float((np.abs(c["z_test"]) < p["sparsity_threshold"]).mean())
            values["probe_accuracy"] = linear_probe_accuracy(
                c["z_train"], d.y_train, c["z_test"], d.y_test, n_train=p["probe_n_train"],
                max_iter=p["probe_max_iter"], seed=seed)
            values["n_params"] = info["n_params"]
            out += rows(model, seed, values)
            ctx.log(f"{model} seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()))
    for label, recons in outputs.items():
        panels[f"{label} input"] = noisy[label][:n_show]
        panels.update({f"{model} ({label})": r for model, r in recons.items()})
    reconstruction_grid(panels, d.shape, ctx.figures["denoising"])
    return out
