"""E6: class-balanced label budgets and supervised fine-tuning of a pre-trained stack.

The classifier is ``input - hidden... - n_classes`` with sigmoid hidden units (the units the
AEs and RBMs were pre-trained with) and softmax output. Its hidden layers start from a
:class:`aebench.pretrain.Stack` (random init included, so every init takes the same path);
the output layer is freshly initialised (seeded). The whole net is then trained with labels
by the one training core (:func:`aebench.train.fit` with the classification objective),
early-stopped on the validation cross-entropy.
"""

from __future__ import annotations

import numpy as np

ALL = "all"


def budget_label(b) -> str:
    return ALL if b == ALL else str(int(b))


def balanced_subset(y: np.ndarray, budget, seed: int) -> np.ndarray:
    """Sorted indices of a class-balanced subset of ``budget`` labels (``"all"``: every index).

    Each class gets ``budget // n_classes``; the remainder goes to classes drawn at random.
    The draw depends on (labels, budget, seed) only, so every init of one seed sees the same
    subset (the paired comparison of E6).
    """
    y = np.asarray(y)
    if budget == ALL or budget >= len(y):
        return np.arange(len(y))
    classes = np.unique(y)
    if budget < len(classes):
        raise ValueError(f"label budget {budget} is smaller than the number of classes "
                         f"({len(classes)}): a class-balanced subset needs at least one each")
    rng = np.random.RandomState(seed)
    per = np.full(len(classes), budget // len(classes))
    per[rng.choice(len(classes), budget % len(classes), replace=False)] += 1
    picked = []
    for c, k in zip(classes, per):
        pool = np.flatnonzero(y == c)
        if k > len(pool):
            raise ValueError(f"label budget {budget}: class {c} has only {len(pool)} examples, "
                             f"{k} needed")
        picked.append(rng.choice(pool, k, replace=False))
    return np.sort(np.concatenate(picked))


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
             device="cpu", log=print, name: str = "finetune"):
    """Fine-tune the whole net on ``budget`` class-balanced labelled train images; early
    stopping on a class-balanced validation subset of at most the same size (so a small
    budget does not quietly use thousands of validation labels). Returns (net, history, info).

    An epoch passes over the labelled subset repeated to at least ``min_epoch_samples``
    samples: with 100 labels an epoch would otherwise be one or two updates, and the random
    init (slowest to start) would be early-stopped before it learns, flattering pre-training.
    """
    from .train import classification_objective, classification_validation_loss, fit

    if stack.dims[0] != data.dim:
        raise ValueError(f"the stack was pre-trained on {stack.dims[0]} inputs, the data has "
                         f"{data.dim}")
    tr = balanced_subset(data.y_train, budget, seed)
    va = balanced_subset(data.y_val, ALL if budget == ALL else min(budget, len(data.y_val)), seed)
    n_classes = int(max(data.y_train.max(), data.y_val.max(), data.y_test.max())) + 1
    net = build_classifier(stack, n_classes, seed)
    cfg = train  # a TrainConfig
    rep = tiled(tr, min_epoch_samples)
    log(f"[{name}] {len(tr)} labelled train images (seen {len(rep) // len(tr)}x per epoch), "
        f"{len(va)} validation labels")
    history = fit(net, (data.x_train[rep], data.y_train[rep]), (data.x_val[va], data.y_val[va]),
                  cfg, seed=seed, device=device, objective=classification_objective,
                  validate=classification_validation_loss, log=log, name=name)
    net.eval()
    info = {"n_labels": int(len(tr)), "n_val_labels": int(len(va)),
            "val_error": error_rate(net, data.x_val[va], data.y_val[va]),
            "test_error": error_rate(net, data.x_test, data.y_test),
            "train_error": error_rate(net, data.x_train[tr], data.y_train[tr])}
    return net, history, info
