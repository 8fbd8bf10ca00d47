"""E6/E8: a greedy layer-wise pre-trained stack of hidden layers (slides 11-13) as a model.

``params: {init: {kind, params}, hidden: [...]}`` plus the settings its layers train with
(``pretrain``: AE layers' TrainConfig, ``rbm``: the RBMConfig defaults). E6 derives one such
model per init; every label budget's classifier and E8's probes read its run.
"""

from __future__ import annotations

from pathlib import Path

from ..epochs import NO_CHECKPOINT
from ..pretrain import INITS
from ..spec import InitSpec, ModelSpec, TrainConfig
from . import Kind, only, register

HISTORY = ["layer", "epoch", "train_loss", "val_loss", "lr", "seconds"]


@register("stack")
class StackKind(Kind):
    torch_based = True
    model_file = "stack.pt"
    history_columns = HISTORY
    resources = {"mem_mb": 8000, "runtime": 360}  # three 1000-unit layers, 50 epochs each

    @classmethod
    def parse(cls, name, entry, dataset, train_defaults) -> ModelSpec:
        p = dict(entry.get("params") or {})
        only(p, {"init", "hidden", "pretrain", "rbm"}, {"init", "hidden"}, "stack")
        init = InitSpec.parse(p["init"], "params.init", INITS, rbm_defaults=p.get("rbm"))
        return cls.spec(name, dataset, init, p["hidden"], TrainConfig.from_dict(p.get("pretrain") or {}))

    @classmethod
    def spec(cls, name: str, dataset: str, init: InitSpec, hidden: list[int],
             pretrain: TrainConfig) -> ModelSpec:
        """The stack of ``hidden`` layers trained by ``init`` (its AE layers by ``pretrain``)."""
        return ModelSpec(name, cls.name, dataset, init=init, train=pretrain,
                         params={"hidden": list(hidden)})

    def fit(self, data, seed, deps, *, device="cpu", log=print, checkpoint=NO_CHECKPOINT):
        """``checkpoint`` (by default the no-op one): the stack resumes from its stage
        ``stack`` (see greedy_stack), whose layers are the fit's stages."""
        from ..pretrain import pretrain
        from ..train import resolve_device

        dims = [data.dim, *self.spec.params["hidden"]]
        log(f"{self.spec.name} ({self.spec.init.kind}) seed {seed}: {dims} on "
            f"{len(data.x_train)} unlabelled {data.name} training images")
        stage = checkpoint.stage("stack", stages=len(dims) - 1)
        self.stack = pretrain(self.spec.init, data.x_train, data.x_val, dims, self.spec.train,
                              seed, resolve_device(device), log, checkpoint=stage)
        return self.stack.info["history"]

    def metrics(self, data):
        return {"init": self.spec.init.kind, "dims": self.stack.dims}

    def save(self, run_dir):
        self.stack.save(Path(run_dir) / self.model_file)

    @classmethod
    def load(cls, run_dir, spec, device="cpu"):
        from ..pretrain import Stack

        m = cls(spec)
        m.stack = Stack.load(Path(run_dir) / cls.model_file)
        return m
