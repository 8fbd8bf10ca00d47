"""E6: a 784-1000-1000-1000-10 classifier fine-tuned from a pre-trained stack with a label
budget (aebench.finetune), as a model: ``params: {stack: <stack model>, budget: N | all,
min_epoch_samples: M, val_fraction: F, grid: {lr: [...], ...}, refit: false}``, ``train:`` the
fine-tuning settings (``grid``: TrainConfig keys to values, every combination tried and the best
on validation kept, :func:`aebench.finetune.tune`; ``refit``: then retrain on every label of the
budget for the chosen epoch count, :func:`aebench.finetune.refit`). A budget of N
is N labels in all, early stopping's included; its metrics count them (``n_labels`` =
``n_train_labels`` + ``n_val_labels``)."""

from __future__ import annotations

from pathlib import Path

from ..epochs import NO_CHECKPOINT
from ..finetune import VAL_FRACTION
from ..spec import ModelSpec, TrainConfig
from . import HISTORY_COLUMNS, Kind, only, register


@register("classifier")
class Classifier(Kind):
    torch_based = True
    model_file = "model.pt"
    resources = {"mem_mb": 8000, "runtime": 240}  # up to 200 epochs of the 784-1000^3-10 net
    # the fine-tuning's errors beside its losses, every epoch (aebench.finetune)
    history_columns = [*HISTORY_COLUMNS[:3], "val_error", "train_error", *HISTORY_COLUMNS[3:]]

    @classmethod
    def parse(cls, name, entry, dataset, train_defaults) -> ModelSpec:
        p = dict(entry.get("params") or {})
        only(p, {"stack", "budget", "min_epoch_samples", "val_fraction", "grid", "refit"},
             {"stack", "budget"}, "classifier")
        return cls.spec(name, dataset, TrainConfig.from_dict(entry.get("train") or {}), **p)

    @classmethod
    def spec(cls, name: str, dataset: str, train: TrainConfig, stack: str, budget,
             min_epoch_samples: int = 0, val_fraction: float = VAL_FRACTION,
             grid: dict | None = None, refit: bool = False) -> ModelSpec:
        """The classifier fine-tuned from ``stack`` with ``budget`` labels (E6 builds these
        from its parsed settings; :meth:`parse` from a config entry)."""
        from ..finetune import grid_points

        grid_points(train, grid)  # a key that is no training setting stops the run here, named
        params = {"stack": stack, "budget": budget, "min_epoch_samples": min_epoch_samples,
                  "val_fraction": val_fraction}
        if grid:  # no grid: the spec (and cache key) of a classifier without one is unchanged
            params["grid"] = {k: list(v) for k, v in sorted(grid.items())}
        if refit:
            params["refit"] = True
        return ModelSpec(name, cls.name, dataset, train=train, needs=[stack], params=params)

    def fit(self, data, seed, deps, *, device="cpu", log=print, checkpoint=NO_CHECKPOINT):
        """``checkpoint`` (by default the no-op one): the fine-tuning resumes from its stage
        ``finetune``."""
        from ..finetune import finetune, refit, tune
        from ..pretrain import Stack
        from ..train import resolve_device

        p = self.spec.params
        stack = Stack.load(Path(deps[p["stack"]]) / "stack.pt")
        kw = dict(min_epoch_samples=p["min_epoch_samples"], val_fraction=p["val_fraction"],
                  device=resolve_device(device), log=log, name=f"{self.spec.name} seed {seed}",
                  checkpoint=checkpoint.stage("finetune", label="fine-tune", index=1,
                                              stages=2 if p.get("refit") else 1))
        test = not p.get("refit")  # a refit net is tested, not the one that chose its epochs
        if p.get("grid"):
            self.net, history, self.info = tune(stack, data, p["budget"], seed, self.spec.train,
                                                p["grid"], test=test, **kw)
        else:
            self.net, history, self.info = finetune(stack, data, p["budget"], seed,
                                                    self.spec.train, test=test, **kw)
        if p.get("refit"):
            cfg = self.spec.train.over(self.info.get("chosen"), "refit")
            kw["checkpoint"] = checkpoint.stage("refit", label="refit", index=2, stages=2)
            kw["name"] = f"{self.spec.name} seed {seed} refit"
            self.net, _, info = refit(stack, data, p["budget"], seed, cfg,
                                      self.info["best_epoch"], **kw)
            # the chosen trial's validation scores stay; the test error is the refit net's
            self.info = {**self.info, **{k: info[k] for k in ("refit_labels", "refit_epochs",
                                                               "test_error")},
                         "refit_train_error": info["train_error"]}
        log(f"{self.spec.name} seed {seed}: test error {self.info['test_error']:.4f}")
        return history

    def metrics(self, data):
        return {"budget": str(self.spec.params["budget"]), **self.info}

    def save(self, run_dir):
        import torch

        torch.save(self.net.state_dict(), Path(run_dir) / self.model_file)
