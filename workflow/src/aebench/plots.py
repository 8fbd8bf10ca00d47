"""Figures (matplotlib/seaborn, headless). Each function writes one PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on clusters and CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402


def _save(fig, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def image_row(x: np.ndarray, shape, nrow: int | None = None) -> np.ndarray:
    """Tile flat images into one (H, W) array with torchvision's make_grid, ``nrow`` per row."""
    # imported here: `import torchvision` loads its detection ops and with them torch._dynamo,
    # ~2 s for every job that imports this module
    from torchvision.utils import make_grid

    t = torch.as_tensor(np.clip(x, 0, 1), dtype=torch.float32).reshape(len(x), *shape)
    grid = make_grid(t, nrow=nrow or len(x), padding=1, pad_value=0.0)  # white under gray_r
    return grid[0].numpy()


def reconstruction_grid(panels: dict[str, np.ndarray], shape, path) -> None:
    """One row per entry: the inputs, then each model's reconstructions of them."""
    n = len(panels)
    fig, axes = plt.subplots(n, 1, figsize=(1.0 * len(next(iter(panels.values()))), 1.25 * n))
    for ax, (label, x) in zip(np.atleast_1d(axes), panels.items()):
        ax.imshow(image_row(x, shape), cmap="gray_r", vmin=0, vmax=1)
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
        ax.set_xticks([]), ax.set_yticks([])
    _save(fig, path)


def code_scatter(panels: dict[str, tuple[np.ndarray, np.ndarray]], path, max_points=5000,
                 labels: list[str] | None = None) -> None:
    """Side-by-side scatter of 2-D codes coloured by class (``labels``: class names)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 5), squeeze=False)
    for ax, (label, (z, y)) in zip(axes[0], panels.items()):
        idx = np.arange(min(len(z), max_points))
        names = np.asarray(labels if labels else [str(c) for c in range(int(y.max()) + 1)])
        sns.scatterplot(x=z[idx, 0], y=z[idx, 1], hue=names[y[idx]], s=6, linewidth=0,
                        palette="tab10" if len(names) <= 10 else "tab20", ax=ax,
                        legend=ax is axes[0][-1], hue_order=list(names[sorted(set(y.tolist()))]))
        ax.set_title(label)
        ax.set_xlabel("code 1"), ax.set_ylabel("code 2")
    leg = axes[0][-1].get_legend()
    if leg is not None:
        sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1, 1), title="class",
                        markerscale=3)
    _save(fig, path)


def principal_angles_plot(curves: pd.DataFrame, path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    if len(curves):
        sns.lineplot(curves, x="index", y="angle_deg", hue="model", marker="o", ax=ax,
                     errorbar=("ci", 95))
    ax.set_xlabel("principal angle index (sorted)")
    ax.set_ylabel("angle to PCA subspace (degrees)")
    _save(fig, path)


def learning_curves(history: pd.DataFrame, path) -> None:
    """Validation loss per epoch, one panel per model, one line per seed."""
    if history.empty:
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.text(0.5, 0.5, "no iteratively trained models", ha="center")
        ax.axis("off")
        _save(fig, path)
        return
    g = sns.relplot(history, x="epoch", y="val_loss", hue="seed", col="model", kind="line",
                    col_wrap=min(4, history["model"].nunique()), height=2.6,
                    facet_kws={"sharey": False}, palette="viridis")
    g.set(yscale="log")
    _save(g.figure, path)


def precision_recall_plot(curve: pd.DataFrame, path) -> None:
    """Precision vs recall at 1, 3, 7, ... retrieved documents (Hinton & Salakhutdinov Fig. 4),
    mean over seeds: one panel per ``protocol`` (all in one panel without that column), each
    model one colour throughout, and the panel's ``chance`` (the class prior) as a dashed line
    when the column is there."""
    if "protocol" not in curve:
        curve = curve.assign(protocol="")
    protocols = list(dict.fromkeys(curve["protocol"]))
    models = list(dict.fromkeys(curve["model"]))
    colour = dict(zip(models, sns.color_palette("tab10", max(10, len(models)))))
    fig, axes = plt.subplots(1, len(protocols), figsize=(6.5 * len(protocols), 4.5),
                             sharex=True, sharey=True, squeeze=False)
    for ax, proto in zip(axes[0], protocols):
        c = curve[curve["protocol"] == proto]
        mean = c.groupby(["model", "retrieved"], sort=False)[["precision", "recall"]].mean()
        for model, g in mean.groupby(level="model", sort=False):
            ax.plot(g["recall"], g["precision"], marker="o", ms=3, color=colour[model],
                    label=model)
        if "chance" in c and c["chance"].notna().any():
            ax.axhline(c["chance"].mean(), color="0.4", ls="--", lw=1,
                       label=f"chance ({c['chance'].mean():.3f})")
        ax.set_xscale("log")
        ax.set_xlabel("recall (log scale)")
        ax.set_title(proto)
        ax.legend(fontsize=8)
    axes[0, 0].set_ylabel("precision")
    axes[0, 0].set_ylim(bottom=0)
    _save(fig, path)


def retrieval_hits(queries: np.ndarray, hits: dict[str, np.ndarray], shape, path) -> None:
    """One panel per method: each row is a query (left) followed by its top hits."""
    fig, axes = plt.subplots(len(hits), 1, figsize=(9, 1.1 * len(queries) * len(hits) + 0.3),
                             squeeze=False)
    for ax, (method, h) in zip(axes[:, 0], hits.items()):
        n_top = h.shape[1]
        tiles = np.concatenate([np.concatenate([q[None], hq]) for q, hq in zip(queries, h)])
        ax.imshow(image_row(tiles, shape, nrow=n_top + 1), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{method}: query | top {n_top}", fontsize=9, loc="left")
        ax.set_xticks([]), ax.set_yticks([])
    _save(fig, path)


def generator_grids(panels: dict, shape, n: int, path, axis_label: str = "code {}",
                    measure: str = "confident") -> None:
    """E10: one row per model: its test codes (coloured by class) with each grid's box
    marked, then the images decoded at each grid (faint tiles: classifier not confident).

    ``panels[model] = (codes, labels, [(tag, lo, hi, images, confident), ...])``, the boxes in
    the units of ``codes``; ``axis_label.format(i)`` names axis ``i``; ``measure`` names what
    ``confident`` (the per-tile verdict) means in the titles.
    """
    n_grids = max(len(g) for _, _, g in panels.values())
    fig, axes = plt.subplots(len(panels), 1 + n_grids, figsize=(4.6 * (1 + n_grids), 4.6 * len(panels)),
                             squeeze=False)
    for row, (model, (z, y, grids)) in zip(axes, panels.items()):
        ax = row[0]
        idx = np.arange(min(len(z), 5000))
        sns.scatterplot(x=z[idx, 0], y=z[idx, 1], hue=y[idx].astype(str), s=5, linewidth=0,
                        palette="tab10", ax=ax, legend=False)
        for (tag, lo, hi, _, _), style in zip(grids, ["-", "--", ":", "-."] * 4):
            ax.add_patch(Rectangle(lo, *(hi - lo), fill=False, ls=style,
                                   lw=1.5, ec="k", label=f"grid {tag}"))
        ax.legend(loc="upper right", fontsize=8)
        ax.autoscale_view()
        ax.set_title(f"{model}: test codes")
        ax.set_xlabel(axis_label.format(1)), ax.set_ylabel(axis_label.format(2))
        for ax, (tag, lo, hi, images, ok) in zip(row[1:], grids):
            faint = np.where(ok[:, None], 1.0, 0.35)  # dim the tiles the judge rejects
            ax.imshow(image_row(images * faint, shape, nrow=n), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(f"{model}: grid {tag} ({ok.mean():.0%} {measure})")
            ax.set_xticks([]), ax.set_yticks([])
        for ax in row[1 + len(grids):]:
            ax.axis("off")
    _save(fig, path)


def error_vs_budget(summary: pd.DataFrame, path, gain: pd.DataFrame | None = None) -> None:
    """E6: test error (%) vs the number of labels used per init, mean ± 95% CI over seeds
    (``summary`` columns: init, n_labels, mean, ci95; ``n_labels`` is every label a budget
    used, training and early-stopping ones together); beside it the paired gain over the
    reference init (same seeds and subsets) when ``gain`` is given. The x ticks are the
    budgets' totals."""
    n = 1 if gain is None or gain.empty else 2
    fig, axes = plt.subplots(1, n, figsize=(6 * n, 4.2), squeeze=False)
    panels = [(summary, "test error (%)")] + ([(gain, "error reduction vs reference (points)")]
                                              if n == 2 else [])
    inits = list(dict.fromkeys(summary["init"]))
    colors = dict(zip(inits, sns.color_palette("tab10", len(inits))))  # same colour both panels
    ticks = sorted(set(int(v) for v in summary["n_labels"]))
    for ax, (df, ylabel) in zip(axes[0], panels):
        for init, g in df.groupby("init", sort=False):
            g = g.sort_values("n_labels")
            ax.errorbar(g["n_labels"], g["mean"], yerr=g["ci95"].fillna(0), marker="o", ms=4,
                        capsize=3, label=init, color=colors[init])
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("labels used: training + early-stopping (log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    if n == 2:
        axes[0][1].axhline(0, color="k", lw=0.8)
    _save(fig, path)


def finetune_curves(curves: pd.DataFrame, path) -> None:
    """E6: each classifier's validation and training error (%) per fine-tuning epoch, one
    panel per budget, one colour per init, one line per seed (``curves`` columns: budget,
    init, seed, epoch, val_error, train_error, in %); the validation error is solid, the
    training error dashed. Where the validation line turns up while the training one falls,
    a net over-fits; where the run stops, its patience ran out."""
    budgets = list(dict.fromkeys(curves["budget"]))
    fig, axes = plt.subplots(1, len(budgets), figsize=(4.6 * len(budgets), 3.8), squeeze=False)
    inits = list(dict.fromkeys(curves["init"]))
    colors = dict(zip(inits, sns.color_palette("tab10", len(inits))))
    for ax, b in zip(axes[0], budgets):
        for (init, _), g in curves[curves["budget"] == b].groupby(["init", "seed"], sort=False):
            ax.plot(g["epoch"], g["val_error"], color=colors[init], lw=1, alpha=0.8)
            ax.plot(g["epoch"], g["train_error"], color=colors[init], lw=0.8, ls="--", alpha=0.6)
        ax.set_yscale("symlog", linthresh=1)
        ax.set_title(f"budget {b}", fontsize=10)
        ax.set_xlabel("fine-tuning epoch")
        ax.set_ylabel("error (%): validation solid, training dashed")
        ax.grid(alpha=0.3)
    axes[0][0].legend(handles=[plt.Line2D([], [], color=colors[i], label=i) for i in inits],
                      fontsize=8)
    _save(fig, path)


def probe_vs_budget(curve: pd.DataFrame, path) -> None:
    """E7: linear-probe accuracy against the epochs a fit trained, one colour per model, one
    line per seed (``curve`` columns: model, seed, epochs, test, validation)."""
    fig, ax = plt.subplots(figsize=(6, 4.2))
    models = list(dict.fromkeys(curve["model"]))
    colors = dict(zip(models, sns.color_palette("tab10", len(models))))
    for (model, _), g in curve.groupby(["model", "seed"], sort=False):
        g = g.sort_values("epochs")
        ax.plot(g["epochs"], g["test"], color=colors[model], marker="o", ms=3, lw=1)
        ax.plot(g["epochs"], g["validation"], color=colors[model], ls="--", lw=0.8, alpha=0.7)
    ax.set_xscale("log")
    ax.set_xlabel("epochs trained (log scale)")
    ax.set_ylabel("linear-probe accuracy (test solid, validation dashed)")
    ax.legend(handles=[plt.Line2D([], [], color=colors[m], label=m) for m in models])
    ax.grid(alpha=0.3)
    _save(fig, path)


def filter_grid(panels: dict[str, np.ndarray], shape, path, nrow: int = 10) -> None:
    """First-layer filters (rows of W1), each min-max scaled to [0, 1] on its own, one panel
    per model."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.6), squeeze=False)
    for ax, (label, w) in zip(axes[0], panels.items()):
        lo, hi = w.min(1, keepdims=True), w.max(1, keepdims=True)
        ax.imshow(image_row((w - lo) / np.maximum(hi - lo, 1e-12), shape, nrow=nrow),
                  cmap="gray", vmin=0, vmax=1)
        ax.set_title(label, fontsize=10)
        ax.set_xticks([]), ax.set_yticks([])
    _save(fig, path)
