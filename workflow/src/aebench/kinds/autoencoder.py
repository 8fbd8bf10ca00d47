"""The autoencoder kind: any architecture of :mod:`aebench.nets`, trained by the one training
core (:func:`aebench.train.fit`), optionally pre-trained as a greedy stack first."""

from __future__ import annotations

from pathlib import Path

from ..epochs import NO_CHECKPOINT
from ..pretrain import INITS
from ..spec import ARCH_SPECS, InitSpec, ModelSpec, Objective
from . import INPUTS, Kind, register


@register("autoencoder")
class Autoencoder(Kind):
    """``pretrain: {kind, params}`` (an init of :mod:`aebench.pretrain`, e.g. ``rbm``) first
    trains a greedy stack on the encoder's layer sizes and unrolls it into encoder and decoder
    (Hinton & Salakhutdinov 2006); :func:`aebench.train.fit` then fine-tunes the whole net.
    """

    torch_based = True
    encoder = True
    model_file = "model.pt"
    resources = {"mem_mb": 8000, "runtime": 360}

    @classmethod
    def parse(cls, name, entry, dataset, train_defaults) -> ModelSpec:
        params = dict(entry.get("params") or {})
        inp = params.pop("input", "raw")
        if inp not in INPUTS:
            raise ValueError(f"input: {inp!r} is not one of {sorted(INPUTS)}")
        objective = Objective.parse(params, "params")
        for key in Objective.KEYS:
            params.pop(key, None)
        pre = params.pop("pretrain", None)
        arch = params.pop("arch", "mlp")
        if arch not in ARCH_SPECS:
            raise ValueError(f"unknown arch {arch!r}; known: {sorted(ARCH_SPECS)}")
        try:
            shape = ARCH_SPECS[arch](input_dim=1, **params)  # the keys and values; size from data
        except TypeError as e:
            raise ValueError(str(e).replace("__init__()", ARCH_SPECS[arch].__name__)) from None
        init = None
        if pre is not None:
            # A linear code layer is pre-trained as an RBM with linear hidden units.
            init = InitSpec.parse(pre, "pretrain", INITS, rbm_defaults={
                "linear_top": getattr(shape, "code_activation", None) == "linear"})
            # The stack's units are logistic and its layers are unrolled into an untied MLP.
            if arch != "mlp" or shape.tied or shape.activation != "sigmoid":
                raise ValueError("pretrain: needs arch: mlp, tied: false and activation: "
                                 "sigmoid (a stack's hidden units are logistic)")
        cls.check_counts(inp, shape, init)
        return ModelSpec(name, cls.name, dataset, input=inp, arch=arch, arch_params=params,
                         objective=objective, init=init,
                         train=train_defaults.over(entry.get("train"), "training"))

    @staticmethod
    def check_counts(inp: str, shape, init: InitSpec | None) -> None:
        """Hinton & Salakhutdinov's document AE, consistently: a replicated softmax bottom
        (``pretrain: {kind: rbm, params: {bottom: softmax}}``) reads word counts (``input:
        raw``, ``count_input: true``, its hidden bias scaled by D) and unrolls into a softmax
        output over words; a count-input net is pre-trained, if at all, by such a stack."""
        softmax = init is not None and init.rbm is not None and init.rbm.bottom == "softmax"
        count_input = getattr(shape, "count_input", False)
        if softmax and not (count_input and inp == "raw"):
            raise ValueError("pretrain: bottom: softmax (a word-count RBM) needs count input: "
                             "input: raw (the counts) and count_input: true")
        if softmax and shape.output != "softmax":
            raise ValueError(f"pretrain: bottom: softmax unrolls into a softmax output over "
                             f"words: needs output: softmax, got {shape.output!r}")
        if count_input and inp != "raw":
            raise ValueError(f"count_input: true scales the first layer's bias by the document "
                             f"length sum(x): needs input: raw (the word counts), got {inp!r}")
        if count_input and init is not None and not softmax:
            raise ValueError(f"count_input: true needs a count-input stack: pretrain: {{kind: "
                             f"rbm, params: {{bottom: softmax}}}} (or no pretrain), got kind "
                             f"{init.kind}{' with a bernoulli bottom' if init.rbm else ''}")

    def objective_fn(self):
        """The training objective: the plain one unless the spec names a variant (slide 14)."""
        from functools import partial

        from ..train import autoencoder_objective

        o = self.spec.objective
        if not o:
            return autoencoder_objective
        return partial(autoencoder_objective, corrupt=o.input_noise, penalty=o.regularizer)

    def fit(self, data, seed, deps, *, device="cpu", log=print, checkpoint=NO_CHECKPOINT):
        """``checkpoint`` (an :class:`aebench.checkpoint.Checkpointer`, by default the no-op
        one): the pre-training resumes from its stage ``pretrain`` (a stack checkpoint after
        every layer), the training from ``fit``. The stages also place each epoch in the
        progress log: the pre-training layers, then the (fine-)tuning."""
        import torch

        from ..nets import build
        from ..train import fit, resolve_device

        self.device = resolve_device(device)
        torch.manual_seed(seed)  # weight init depends on the seed only
        self.net = build(self.spec.arch, data.dim, **self.spec.arch_params)
        x_train, x_val = self.inputs(data.x_train), self.inputs(data.x_val)
        layers = len(self.net.spec.hidden) + 1 if self.spec.init is not None else 0
        stages = layers + 1  # the pre-training layers, then the training
        if self.spec.init is not None:
            self._pretrain(x_train, x_val, seed, log,
                           checkpoint.stage("pretrain", stages=stages))
        history = fit(self.net, x_train, x_val, self.spec.train, seed=seed, device=self.device,
                      objective=self.objective_fn(), log=log, name=f"{self.spec.name} seed {seed}",
                      checkpoint=checkpoint.stage("fit", label="fine-tune" if layers else "train",
                                                  index=stages, stages=stages))
        self.net.eval()
        return history

    def _pretrain(self, x_train, x_val, seed: int, log, checkpoint) -> None:
        from .. import pretrain

        s = self.net.spec
        dims = [s.input_dim, *s.hidden, s.code_dim]
        log(f"pre-training {dims} ({self.spec.init.kind}), then unrolling it into the autoencoder")
        stack = pretrain.pretrain(self.spec.init, x_train, x_val, dims, self.spec.train, seed,
                                  self.device, log, checkpoint=checkpoint)
        pretrain.unroll(stack, self.net)

    def _apply(self, fn, x):
        import torch

        from ..train import batched

        x = torch.as_tensor(x, dtype=torch.float32, device=next(self.net.parameters()).device)
        return batched(fn, x).cpu().numpy()

    def encode(self, x):
        return self._apply(self.net.encode, self.inputs(x))

    def decode(self, z):
        return self._apply(self.net.decode, z)

    def reconstruct(self, x):
        # forward() encodes and decodes each batch together: a conv AE's unpool decoder needs
        # the pooling switches of the same images (for the MLP this is decode(encode(x))).
        return self._apply(self.net, self.inputs(x))

    def basis(self):
        """For a linear AE: the columns of the last decoder weight span its code subspace."""
        return self.net.decoder_weights()[-1].detach().cpu().numpy()

    def n_params(self):
        from ..nets import n_params

        return n_params(self.net)

    def save(self, run_dir):
        import torch

        torch.save({"spec": self.spec.to_dict(), "input_dim": self.net.spec.input_dim,
                    "state": self.net.state_dict()}, Path(run_dir) / self.model_file)

    @classmethod
    def load(cls, run_dir, spec, device="cpu"):
        import torch

        from ..nets import build

        # weights_only: a model file holds tensors, numbers and strings, nothing to unpickle
        ck = torch.load(Path(run_dir) / cls.model_file, map_location=device, weights_only=True)
        m = cls(spec)
        m.net = build(spec.arch, ck["input_dim"], **spec.arch_params)
        m.net.load_state_dict(ck["state"])
        m.net.to(device).eval()
        return m
