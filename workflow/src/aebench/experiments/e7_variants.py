"""E7 (slide 14): plain, sparse, denoising and contractive AEs of the same size.

On test, for every model and seed: clean reconstruction error; the error of reconstructing
corrupted inputs measured against the clean ones (each configured noise, the same noisy
images for every model); the mean Frobenius norm of the encoder Jacobian (contraction); code
sparsity; and the accuracy of a linear probe (scikit-learn LogisticRegression) on the codes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..variants import NoiseSpec, jacobian_frobenius_sq
from . import Evaluation, Experiment, rows


@dataclass
class NoiseEntry:
    kind: str
    level: float = field(metadata={"schema": {"minimum": 0}})


@dataclass
class Params:
    models: list[str] = field(metadata={"schema": {"minItems": 1}})
    # noisy test inputs, scored against the clean ones
    noise_eval: list[NoiseEntry] = field(metadata={"schema": {"minItems": 1}})
    # code_sparsity = fraction of code values with |z| below this
    sparsity_threshold: float = field(default=0.05, metadata={"schema": {"exclusiveMinimum": 0}})
    probe_n_train: int = field(default=10000, metadata={"schema": {"minimum": 10}})
    probe_max_iter: int = field(default=1000, metadata={"schema": {"minimum": 1}})
    # the probe's inverse regularisation, chosen on validation per model (metrics.tuned_probe)
    probe_Cs: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0],
                                  metadata={"schema": {"minItems": 1}})
    # std of the Gaussian input perturbation of code_sensitivity (pixels in [0, 1])
    sensitivity_noise: float = field(default=0.05, metadata={"schema": {"exclusiveMinimum": 0}})
    n_show: int = field(default=10, metadata={"schema": {"minimum": 1, "maximum": 64}})
    # The probe across training budgets: each of `budget_models` is also fitted with each cap
    # of `budget_epochs` (as `<model>_ep<N>`); per model and seed the fit whose probe reads
    # best on validation (the converged one included) gives `probe_accuracy@best_budget`, so a
    # budget chosen for the table cannot decide a comparison of features
    budget_models: list[str] = field(default_factory=list)
    budget_epochs: list[int] = field(default_factory=list, metadata={
        "schema": {"items": {"type": "integer", "minimum": 1}, "uniqueItems": True}})

    def __post_init__(self):
        self.noise_eval = [n if isinstance(n, NoiseEntry) else NoiseEntry(**n) for n in self.noise_eval]


def noisy_test_inputs(x: np.ndarray, noises: list[NoiseSpec]) -> dict[str, np.ndarray]:
    """Each noise applied once to the test set with its own fixed generator, so every model
    and seed is scored on the same corrupted images."""
    import torch

    xt = torch.as_tensor(x, dtype=torch.float32)
    return {n.label(): n(xt, generator=torch.Generator().manual_seed(i)).numpy()
            for i, n in enumerate(noises)}


def code_sensitivity(model, x: np.ndarray, level: float, seed: int = 0) -> float:
    """How far the code moves under a small input perturbation, relative to the code's own
    spread: mean ||z(x + e) - z(x)|| over mean ||z(x_i) - z(x_j)|| (e ~ N(0, level^2), j a
    fixed random pairing). What a contractive penalty is meant to buy (slide 14: a small
    input change gives a small code change), measured so that merely shrinking every code
    does not count: the ratio does not change when the code is rescaled."""
    rng = np.random.RandomState(seed)
    z = model.encode(x)
    moved = model.encode(x + level * rng.standard_normal(x.shape).astype(np.float32))
    pair = rng.permutation(len(x))
    spread = np.linalg.norm(z - z[pair], axis=1).mean()
    return float(np.linalg.norm(moved - z, axis=1).mean() / spread)


def mean_jacobian_norm(net, x: np.ndarray, batch_size: int = 256) -> float:
    """Mean over test images of ||dz/dx||_F (exact for one sigmoid layer, see variants)."""
    import torch

    xt = torch.as_tensor(x, dtype=torch.float32)
    sq = torch.cat([jacobian_frobenius_sq(net, xt[i:i + batch_size]).detach()
                    for i in range(0, len(xt), batch_size)])
    return float(sq.sqrt().mean())


TABLE = (
    "Autoencoder variants of slide 14, all the same size (one sigmoid code layer, e.g. 784-500-784 "
    "on MNIST): plain; sparse (L1 norm of the code added to the loss); denoising with Gaussian or "
    "masking noise on the input (the loss targets the clean input); contractive (squared "
    "Frobenius norm of the encoder Jacobian added to the loss, computed exactly in closed form "
    "for the sigmoid layer, ||J||² = Σ_j (z_j(1−z_j))² ||W_j||²; other encoders would use "
    "torch.func). Measured on test, mean ± 95% CI over seeds: sq_err_per_image is the clean "
    "reconstruction error (squared error per image); noisy_err_<noise><level> reconstructs "
    "corrupted test images (the same ones for every model; gaussian = additive noise of that "
    "std, mask = that fraction of pixels set to 0) and scores the output against the clean "
    "images; jacobian_fro is the mean Frobenius norm of dz/dx (smaller = more contractive, "
    "but also smaller for a code that is merely scaled down); code_sensitivity is how far the "
    "code moves when Gaussian noise of std experiments.e7.sensitivity_noise is added to the "
    "input, over the mean distance between the codes of two random test images (scale-free: "
    "what contraction buys); "
    "code_sparsity is the fraction of code values below experiments.e7.sparsity_threshold; "
    "probe_accuracy is the accuracy of a linear probe (scikit-learn LogisticRegression on "
    "standardised codes, fitted on up to experiments.e7.probe_n_train train codes, its inverse "
    "regularisation C chosen on validation from experiments.e7.probe_Cs for each model alike: "
    "probe_log10_C). Every "
    "variant is early-stopped on the clean validation reconstruction loss.")


class E7(Experiment):
    name = "e7"
    title = "AE variants"
    lecture = "slide 14"
    Params = Params
    threads = "baseline"
    resources = {"mem_mb": 6000, "runtime": 60}  # linear probes and encoder Jacobians
    table_caption = TABLE
    figures = {"probe_vs_budget.png": (
        "Linear-probe accuracy of the codes against the epochs each fit trained (its cap, or "
        "fewer where early stopping ended it), for the models fitted at several budgets "
        "(experiments.e7.budget_models): test accuracy solid, validation dashed, one line per "
        "seed. probe_accuracy@best_budget is the test accuracy of the fit that read best on "
        "validation."),
        "denoising.png": (
        "Top: clean test images. Then, for each noise kind at its strongest evaluated level, "
        "the corrupted inputs followed by each variant's reconstruction of them (first seed). A "
        "denoising AE should output something close to the clean images.")}

    def models(self, p):
        return list(p.models) + [budget_model(m, b) for m in p.budget_models
                                 for b in p.budget_epochs]

    def derived_models(self, p, config):
        """Each budget model: its base model's config entry with the epoch cap replaced."""
        from ..datasets import of_model
        from ..kinds import parse_model

        out = {}
        for m in p.budget_models:
            entry = (config.get("models") or {}).get(m)
            if entry is None:
                raise ValueError(f"budget_models names {m!r}, which is not under `models:`")
            if m not in p.models:
                raise ValueError(f"budget_models: {m!r} is not one of its models {p.models}")
            for b in p.budget_epochs:
                capped = {**entry, "train": {**(entry.get("train") or {}), "epochs": int(b)}}
                out[budget_model(m, b)] = parse_model(budget_model(m, b), capped,
                                                      of_model(config, entry),
                                                      config.get("training") or {})
        return out

    def check(self, p, cfg):
        for i, n in enumerate(p.noise_eval):
            try:
                NoiseSpec(**asdict(n))
            except (TypeError, ValueError) as e:
                raise ValueError(f"noise_eval[{i}]: {e}") from None

    def evaluate(self, ctx, model, seed):
        import torch

        import math

        from ..metrics import squared_error_per_image, tuned_probe

        d, p = ctx.data, ctx.params
        noisy = noisy_test_inputs(d.x_test, [NoiseSpec(**asdict(n)) for n in p.noise_eval])
        m = ctx.load(model, seed)
        info = ctx.metrics_json(model, seed)
        values, arrays = {"sq_err_per_image": info["test_sq_err_per_image"]}, {}
        for label, xn in noisy.items():
            recon = m.reconstruct(xn)
            values[f"noisy_err_{label}"] = squared_error_per_image(d.x_test, recon)
            if label in shown_labels(p):
                arrays[label] = recon[:p.n_show]  # what the figure shows of this run
        with torch.no_grad():
            values["jacobian_fro"] = mean_jacobian_norm(m.net, m.inputs(d.x_test))
        values["code_sensitivity"] = code_sensitivity(m, d.x_test, p.sensitivity_noise)
        c = ctx.codes(model, seed)
        values["code_sparsity"] = float((np.abs(c["z_test"]) < p.sparsity_threshold).mean())
        r = tuned_probe(c["z_train"], d.y_train, c["z_val"], d.y_val, c["z_test"], d.y_test,
                        p.probe_Cs, n_train=p.probe_n_train, max_iter=p.probe_max_iter, seed=seed)
        values["probe_accuracy"], values["probe_log10_C"] = r["accuracy"], math.log10(r["C"])
        values["probe_val_accuracy"], values["epochs"] = r["val_accuracy"], info["epochs"]
        values["n_params"] = info["n_params"]
        ctx.log(f"{model} seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()))
        return Evaluation(values, arrays)

    def run(self, ctx):
        from ..plots import reconstruction_grid

        p = ctx.params
        d = ctx.data_of(ctx.seeds(p.models[0])[0])  # the first seed's, as the panels
        noisy = noisy_test_inputs(d.x_test, [NoiseSpec(**asdict(n)) for n in p.noise_eval])
        panels = {"clean test input": d.x_test[:p.n_show]}
        outputs = {label: {} for label in shown_labels(p)}
        out = []
        for model in p.models:
            for seed in ctx.seeds(model):
                ev = ctx.evaluation(model, seed)
                out += rows(model, seed, ev.values)
                for label in outputs:
                    outputs[label].setdefault(model, ev.arrays[label])  # the first seed's
        for label, recons in outputs.items():
            panels[f"{label} input"] = noisy[label][:p.n_show]
            panels.update({f"{model} ({label})": r for model, r in recons.items()})
        reconstruction_grid(panels, d.shape, ctx.figure("denoising.png"))
        if p.budget_models and p.budget_epochs:
            import pandas as pd

            from ..plots import probe_vs_budget

            curve = []
            for model in p.budget_models:
                for seed in ctx.seeds(model):
                    fits = {model: ctx.evaluation(model, seed).values}
                    fits.update({budget_model(model, b): ctx.evaluation(budget_model(model, b),
                                                                        seed).values
                                 for b in p.budget_epochs})
                    best = best_budget(fits)
                    out += rows(model, seed, {"probe_accuracy@best_budget": best["probe_accuracy"],
                                              "best_budget_epochs": best["epochs"]})
                    out += [r for b in p.budget_epochs
                            for r in rows(budget_model(model, b), seed,
                                          fits[budget_model(model, b)])]
                    curve += [{"model": model, "seed": seed, "epochs": v["epochs"],
                               "test": v["probe_accuracy"], "validation": v["probe_val_accuracy"]}
                              for v in fits.values()]
            probe_vs_budget(pd.DataFrame(curve), ctx.figure("probe_vs_budget.png"))
        return out


def budget_model(model: str, epochs: int) -> str:
    return f"{model}_ep{int(epochs)}"


def best_budget(fits: dict[str, dict]) -> dict:
    """Of one model's fits at several budgets (name -> evaluation values), the one whose probe
    reads best on validation (the first listed of equal ones); its test accuracy is what the
    claim compares, so the choice never looks at test."""
    return max(fits.values(), key=lambda v: v["probe_val_accuracy"])


def shown_labels(p) -> list[str]:
    """The figure shows, for each noise kind, its strongest level."""
    noises = [NoiseSpec(**asdict(n)) for n in p.noise_eval]
    return list({n.kind: n.label() for n in sorted(noises, key=lambda n: n.level)}.values())
