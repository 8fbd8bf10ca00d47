"""E6: class-balanced label budgets and supervised fine-tuning of a pre-trained stack.

The label-budget rule (stated here once; the config, E6 and its caption point here): a budget
counts every labelled image the classifier uses, early stopping included. A budget of B labels
is a class-balanced draw of B training images, fixed per seed (the same for every init: E6's
paired comparison), of which a class-balanced ``val_fraction`` (:data:`VAL_FRACTION`, at least
one per class) is held out for early stopping and the rest is trained on, so B must be at least
twice the number of classes; ``all`` is every training label plus the dataset's validation
split, and its count is both (:func:`label_split`).

The classifier is ``input - hidden... - n_classes`` with sigmoid hidden units (the units the
AEs and RBMs were pre-trained with) and softmax output. Its hidden layers start from a
:class:`aebench.pretrain.Stack` (random init included, so every init takes the same path);
the output layer is freshly initialised (seeded). The whole net is then trained with labels
by the one training core (:func:`aebench.train.fit` with the classification objective),
early-stopped on the held-out labels' cross-entropy, or their zero-one error with
``stop_on: error`` (the loss breaking ties). When the layers below are pre-trained,
``warmup_top_epochs`` epochs first train the new output layer alone. Every epoch's history
row has the training loss, the validation loss and error, and the training error
(:data:`TRAIN_ERROR_SAMPLES`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pretrain import UNTRAINED

ALL = "all"

# Share of a numeric budget held out (class-balanced, at least one per class) for early
# stopping. Early stopping needs labels, and they must come out of the budget, or "100 labels"
# would be 100 to train on plus up to 100 more to choose the epoch with. A fifth is the usual
# 80/20 split: most labels still train the net (the budget's point), and the held-out part
# still has 2 images per class at 100 labels, enough for the validation cross-entropy to rank
# epochs; one per class is the floor so that every class is checked.
VAL_FRACTION = 0.2

# The per-epoch training error is measured on at most this many of the labelled training
# images (an even stride through them): the whole 55,000 would add a third to an epoch of
# the `all` budget, and 10,000 give the error to about ±0.1 points at 1%.
TRAIN_ERROR_SAMPLES = 10000


def budget_label(b) -> str:
    return ALL if b == ALL else str(int(b))


def _balanced(y: np.ndarray, k: int, rng: np.random.RandomState, what: str) -> np.ndarray:
    """Sorted positions of ``k`` entries of ``y``, class-balanced: each class gets
    ``k // n_classes``, the remainder goes to classes drawn at random."""
    classes = np.unique(y)
    if k < len(classes):
        raise ValueError(f"{what} {k} is smaller than the number of classes ({len(classes)}): "
                         "a class-balanced subset needs at least one each")
    per = np.full(len(classes), k // len(classes))
    per[rng.choice(len(classes), k % len(classes), replace=False)] += 1
    picked = []
    for c, n in zip(classes, per):
        pool = np.flatnonzero(y == c)
        if n > len(pool):
            raise ValueError(f"{what} {k}: class {c} has only {len(pool)} examples, {n} needed")
        picked.append(rng.choice(pool, n, replace=False))
    return np.sort(np.concatenate(picked))


def balanced_subset(y: np.ndarray, budget, seed: int) -> np.ndarray:
    """Sorted indices of a class-balanced subset of ``budget`` labels (``"all"``: every index).

    Each class gets ``budget // n_classes``; the remainder goes to classes drawn at random.
    The draw depends on (labels, budget, seed) only.
    """
    y = np.asarray(y)
    if budget == ALL or budget >= len(y):
        return np.arange(len(y))
    return _balanced(y, int(budget), np.random.RandomState(seed), "label budget")


def n_val_labels(budget: int, n_classes: int, val_fraction: float = VAL_FRACTION) -> int:
    """How many of a numeric budget's labels early stopping gets (see ``VAL_FRACTION``)."""
    return max(n_classes, int(np.floor(val_fraction * budget + 0.5)))


@dataclass(frozen=True)
class LabelSplit:
    """The labelled images one budget may use. ``train`` indexes the training split; ``val``
    indexes the split named by ``val_split``: ``"train"`` (carved out of a numeric budget,
    disjoint from ``train``) or ``"val"`` (budget ``all``: the dataset's validation split)."""

    budget: object
    train: np.ndarray
    val: np.ndarray
    val_split: str

    @property
    def n_labels(self) -> int:
        """Every label this budget uses: trained on + early-stopped on."""
        return int(len(self.train) + len(self.val))

    def info(self) -> dict:
        return {"n_labels": self.n_labels, "n_train_labels": int(len(self.train)),
                "n_val_labels": int(len(self.val)), "val_labels_from": self.val_split}


def label_split(y_train: np.ndarray, y_val: np.ndarray, budget, seed: int,
                val_fraction: float = VAL_FRACTION) -> LabelSplit:
    """The labelled images of ``budget`` by the module's rule (``n_labels`` is the budget):
    :func:`balanced_subset`, then ``n_val_labels(B)`` of it held out. Depends on (labels,
    budget, seed) only, so every init of one seed sees the same images."""
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    if budget == ALL:
        return LabelSplit(ALL, np.arange(len(y_train)), np.arange(len(y_val)), "val")
    budget = int(budget)
    if budget > len(y_train):
        raise ValueError(f"label budget {budget} is larger than the {len(y_train)} training "
                         "images: use 'all' (every training label + the validation split)")
    n_classes = len(np.unique(y_train))
    if budget < 2 * n_classes:
        raise ValueError(f"label budget {budget} is smaller than twice the number of classes "
                         f"({n_classes}): it needs at least one training and one early-stopping "
                         "label per class")
    picked = balanced_subset(y_train, budget, seed)
    rng = np.random.RandomState([seed, budget])  # the held-out draw: its own stream
    held = _balanced(y_train[picked], n_val_labels(budget, n_classes, val_fraction), rng,
                     "early-stopping labels")
    keep = np.ones(len(picked), bool)
    keep[held] = False
    train, val = picked[keep], picked[held]
    short = np.setdiff1d(np.unique(y_train), y_train[train])
    if len(short):
        raise ValueError(f"label budget {budget}: no training label left for class(es) "
                         f"{short.tolist()} after holding out {len(val)} for early stopping")
    return LabelSplit(budget, train, val, "train")


def build_classifier(stack, n_classes: int, seed: int):
    """``nn.Sequential`` of the stack's layers (weights copied) + a new output layer."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    layers = []
    for w, b in zip(stack.weights, stack.biases):
        lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        layers += [lin, nn.Sigmoid()]
    layers.append(nn.Linear(stack.dims[-1], n_classes))
    return nn.Sequential(*layers)


def error_rate(net, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    from .train import batched

    dev = next(net.parameters()).device
    net.eval()
    logits = batched(net, torch.as_tensor(x, dtype=torch.float32, device=dev))
    return float((logits.argmax(1).cpu().numpy() != y).mean())


def tiled(idx: np.ndarray, min_samples: int) -> np.ndarray:
    """``idx`` repeated whole until it holds at least ``min_samples`` entries."""
    return np.tile(idx, max(1, -(-min_samples // len(idx))))


def finetune(stack, data, budget, seed: int, train, *, min_epoch_samples: int = 0,
             val_fraction: float = VAL_FRACTION, device="cpu", log=print,
             name: str = "finetune", checkpoint=None, test: bool = True):
    """Fine-tune the whole net with ``budget`` labels in all (:func:`label_split`): trained
    on the budget's training part, early-stopped on its held-out part (``all``: every training
    label, early-stopped on the validation split). Returns (net, history, info); ``info``
    counts the labels (``n_labels`` = ``n_train_labels`` + ``n_val_labels``).

    An epoch passes over the labelled subset repeated to at least ``min_epoch_samples``
    samples: with 100 labels an epoch would otherwise be one or two updates, and the random
    init (slowest to start) would be early-stopped before it learns, flattering pre-training.

    ``checkpoint`` (an :class:`aebench.checkpoint.Checkpointer` stage) makes the training
    resumable (:func:`aebench.train.fit`). ``test=False`` leaves the test split unread (a
    trial of the tuning grid: only the chosen net is tested, :func:`tune`).
    """
    import torch

    from .train import (classification_objective, classification_scores,
                        classification_validation_loss, fit)

    if stack.dims[0] != data.dim:
        raise ValueError(f"the stack was pre-trained on {stack.dims[0]} inputs, the data has "
                         f"{data.dim}")
    split = label_split(data.y_train, data.y_val, budget, seed, val_fraction)
    tr = split.train
    x_va, y_va = data.split(split.val_split)
    x_va, y_va = x_va[split.val], y_va[split.val]
    n_classes = int(max(data.y_train.max(), data.y_val.max(), data.y_test.max())) + 1
    net = build_classifier(stack, n_classes, seed)
    cfg = train  # a TrainConfig
    rep = tiled(tr, min_epoch_samples)
    log(f"[{name}] budget {budget_label(budget)}: {split.n_labels} labels = {len(tr)} labelled "
        f"train images (seen {len(rep) // len(tr)}x per epoch) + {len(y_va)} early-stopping "
        f"labels (from the {split.val_split} split)")
    # the training error's images, as tensors on the fit's device (fit moves the net there)
    shown = tr[::max(1, -(-len(tr) // TRAIN_ERROR_SAMPLES))]
    x_err = torch.as_tensor(data.x_train[shown], device=device)
    y_err = torch.as_tensor(data.y_train[shown], device=device)

    def train_error(model) -> dict:
        return {"train_error": classification_scores(model, (x_err, y_err))[1]}

    pretrained = stack.info.get("kind", "random") not in UNTRAINED
    held = [p for layer in net[:-1] for p in layer.parameters()] if pretrained else []
    if cfg.warmup_top_epochs:
        log(f"[{name}] " + (f"the first {cfg.warmup_top_epochs} epochs train the output layer "
                            "alone" if pretrained else "random init: no output-layer warm-up "
                            "(it is for pre-trained layers)"))
        if not pretrained:
            from dataclasses import replace

            cfg = replace(cfg, warmup_top_epochs=0)
    history = fit(net, (data.x_train[rep], data.y_train[rep]), (x_va, y_va),
                  cfg, seed=seed, device=device, objective=classification_objective,
                  validate=classification_validation_loss, log=log, name=name,
                  checkpoint=checkpoint, epoch_scores=train_error, frozen_in_warmup=held)
    net.eval()
    dev = next(net.parameters()).device
    val_loss, val_error = classification_scores(
        net, (torch.as_tensor(x_va, device=dev), torch.as_tensor(y_va, device=dev)))
    info = {**split.info(), "val_error": val_error, "val_loss": val_loss,
            "train_error": error_rate(net, data.x_train[tr], data.y_train[tr]),
            "epochs_run": len(history), "best_epoch": best_epoch(history, cfg.stop_on)}
    if test:
        info["test_error"] = error_rate(net, data.x_test, data.y_test)
    return net, history, info


def best_epoch(history: list[dict], stop_on: str) -> int:
    """The epoch early stopping restored (the first of equal scores, as it keeps the first)."""
    if stop_on == "error":
        key = [(r["val_error"], r["val_loss"]) for r in history]
    else:
        key = [r["val_loss"] for r in history]
    best, at = None, 0
    from .train import better

    for i, k in enumerate(key):
        if best is None or better(k, best):
            best, at = k, i
    return int(history[at]["epoch"]) if history else 0


def refit(stack, data, budget, seed: int, train, epochs: int, *, min_epoch_samples: int = 0,
          val_fraction: float = VAL_FRACTION, device="cpu", log=print, name: str = "refit",
          checkpoint=None):
    """Hinton & Salakhutdinov's protocol: with the epoch count chosen on validation, fine-tune
    a fresh net on every label of the budget (the held-out ones too; ``all``: the training
    and validation splits, 60,000 MNIST images) for exactly ``epochs`` epochs, no early
    stopping, and test the last epoch's net. Returns (net, history, info) like
    :func:`finetune`; the history's validation scores are then on images it trains on."""
    from dataclasses import replace

    import torch

    from .train import (classification_objective, classification_scores,
                        classification_validation_loss, fit)

    split = label_split(data.y_train, data.y_val, budget, seed, val_fraction)
    x_va, y_va = data.split(split.val_split)
    x = np.concatenate([data.x_train[split.train], x_va[split.val]])
    y = np.concatenate([data.y_train[split.train], y_va[split.val]])
    n_classes = int(max(data.y_train.max(), data.y_val.max(), data.y_test.max())) + 1
    net = build_classifier(stack, n_classes, seed)
    rep = tiled(np.arange(len(y)), min_epoch_samples)
    cfg = replace(train, epochs=int(epochs), stop_on="none")
    log(f"[{name}] refit on all {len(y)} labels of budget {budget_label(budget)} for the "
        f"{epochs} epochs chosen on validation")
    shown = np.arange(len(y))[::max(1, -(-len(y) // TRAIN_ERROR_SAMPLES))]
    x_err, y_err = (torch.as_tensor(a[shown], device=device) for a in (x, y))
    pretrained = stack.info.get("kind", "random") not in UNTRAINED
    if not pretrained:
        cfg = replace(cfg, warmup_top_epochs=0)
    held = [p for layer in net[:-1] for p in layer.parameters()] if pretrained else []
    history = fit(net, (x[rep], y[rep]), (x[shown], y[shown]), cfg, seed=seed, device=device,
                  objective=classification_objective, validate=classification_validation_loss,
                  log=log, name=name, checkpoint=checkpoint,
                  epoch_scores=lambda m: {"train_error": classification_scores(m, (x_err, y_err))[1]},
                  frozen_in_warmup=held)
    net.eval()
    info = {**split.info(), "refit_labels": int(len(y)), "refit_epochs": int(epochs),
            "train_error": error_rate(net, x, y),
            "test_error": error_rate(net, data.x_test, data.y_test)}
    return net, history, info


# --------------------------------------------------------------------------- equal tuning


def grid_points(train, grid: dict | None) -> list[tuple[dict, object]]:
    """The tuning grid's points as (the values set, the TrainConfig), keys in sorted order and
    values in the order given. ``grid`` maps TrainConfig keys to lists (e.g. ``{lr: [0.1,
    0.03], weight_decay: [0, 2e-4]}``); empty or None: one point, ``train`` itself."""
    import itertools

    if not grid:
        return [({}, train)]
    keys = sorted(grid)
    points = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
    return [(pt, train.over(pt, "finetune_grid")) for pt in points]


def tune(stack, data, budget, seed: int, train, grid: dict | None, *, min_epoch_samples: int = 0,
         val_fraction: float = VAL_FRACTION, device="cpu", log=print, name: str = "finetune",
         checkpoint=None, test: bool = True):
    """Fine-tune once per point of ``grid`` and keep the net with the lowest validation error
    (its validation loss breaking ties, then the earlier point): every initialisation gets the
    same grid, so the same tuning budget (issue 39's "equal tuning"). Only that net reads the
    test split. Returns (net, history, info) like :func:`finetune`; ``info`` adds the chosen
    values (``chosen``) and every trial's validation scores (``trials``).

    ``checkpoint``: each finished trial is saved (the trials' scores and the best net so far),
    a resumed job skips them, and the running trial resumes from its own stage ``trial<k>``.
    """
    from .epochs import NO_CHECKPOINT

    points = grid_points(train, grid)
    ck = NO_CHECKPOINT if checkpoint is None else checkpoint
    saved = ck.load()
    trials, best = (saved["trials"], saved["best"]) if saved is not None else ([], None)
    if saved is not None:
        log(f"[{name}] resuming the tuning grid after trial {len(trials)}/{len(points)}")
    with ck.deferring():
        for i, (point, cfg) in enumerate(points):
            if i < len(trials):
                continue
            log(f"[{name}] grid trial {i + 1}/{len(points)}: {point or 'the settings as given'}")
            stage = ck.stage(f"trial{i + 1}", label=f"fine-tune trial {i + 1}/{len(points)}",
                             index=i + 1, stages=len(points))
            net, history, info = finetune(stack, data, budget, seed, cfg,
                                          min_epoch_samples=min_epoch_samples,
                                          val_fraction=val_fraction, device=device, log=log,
                                          name=f"{name} trial {i + 1}", checkpoint=stage,
                                          test=False)
            trials.append({**point, "val_error": info["val_error"], "val_loss": info["val_loss"],
                           "best_epoch": info["best_epoch"], "epochs_run": info["epochs_run"]})
            score = (info["val_error"], info["val_loss"])
            if best is None or score < (best["info"]["val_error"], best["info"]["val_loss"]):
                best = {"index": i, "state": {k: v.detach().cpu().clone()
                                              for k, v in net.state_dict().items()},
                        "history": history, "info": info}
            ck.save({"trials": trials, "best": best},
                    note=f"checkpoint saved: {i + 1}/{len(points)} grid trials", log=log)
            stage.remove()
            ck.raise_if_stopped(f"grid trial {i + 1}")
    n_classes = int(max(data.y_train.max(), data.y_val.max(), data.y_test.max())) + 1
    net = build_classifier(stack, n_classes, seed)
    net.load_state_dict(best["state"])
    net.to(device).eval()
    chosen = points[best["index"]][0]
    log(f"[{name}] chosen on validation: {chosen or 'the settings as given'} (trial "
        f"{best['index'] + 1}/{len(points)}, validation error {best['info']['val_error']:.4f})")
    info = {**best["info"], "chosen": chosen, "trials": trials}
    if test:
        info["test_error"] = error_rate(net, data.x_test, data.y_test)
    return net, best["history"], info
