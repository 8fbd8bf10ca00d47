"""E6/E8: greedy layer-wise pre-training of a deep classifier's hidden layers (slides 11-13).

An *init* is a registered function that returns the weights of the hidden layers
``input - hidden[0] - ... - hidden[-1]`` (a "stack"): ``random`` (the control), ``ae``
(autoencoder layers, with the variants of :mod:`aebench.variants`: L1 code penalty,
denoising noise) or ``rbm`` (a DBN). A config entry ``experiments.e6.inits.<name>: {kind,
params}`` (or an autoencoder's ``pretrain:``) picks one, parsed into
:class:`aebench.spec.InitSpec`; adding an init is one registered function plus one config
entry.

Greedy stacking (:func:`greedy_stack`): layer k is trained on the codes of layers 1..k-1,
which are computed once from the frozen (detached, cloned) weights, so no later step can
change them. Fine-tuning (:mod:`aebench.finetune`) copies the stack into the classifier.

Torch is imported inside the functions: the config check imports this module for ``INITS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .registry import Registry

INITS = Registry("init kind")  # name -> init function
init_kind = INITS.register  # @init_kind("rbm") registers an init


@dataclass
class Stack:
    """The hidden layers of the classifier: ``weights[k]`` is (dims[k+1], dims[k]).

    ``visible_biases[k]`` (dims[k]) is layer k's bias in the generative direction (an RBM's
    visible bias, an AE layer's decoder bias): what :func:`unroll` gives the decoder.

    ``count_input``: the bottom layer is a replicated softmax RBM on word counts, whose hidden
    bias is added once per word: layer 1 computes sigmoid(W v + D b) on counts v, D = sum(v)
    (:meth:`aebench.rbm_models.ReplicatedSoftmaxRBM.hidden_prob`). ``linear_top``: the top layer's
    units are linear (an RBM with Gaussian hidden units: E[h|v] = W v + b), the code layer
    of Hinton & Salakhutdinov's autoencoders. Every other layer is logistic.
    """

    dims: list[int]
    weights: list = field(default_factory=list)  # torch tensors
    biases: list = field(default_factory=list)
    info: dict = field(default_factory=dict)
    visible_biases: list = field(default_factory=list)
    count_input: bool = False
    linear_top: bool = False

    def save(self, path) -> None:
        import torch

        torch.save({"dims": self.dims, "weights": self.weights, "biases": self.biases,
                    "visible_biases": self.visible_biases, "info": self.info,
                    "count_input": self.count_input, "linear_top": self.linear_top}, path)

    @staticmethod
    def load(path) -> "Stack":
        import torch

        # weights_only: a stack file holds tensors, numbers and strings, nothing to unpickle
        d = torch.load(path, map_location="cpu", weights_only=True)
        # Stacks saved before visible biases were kept load without them (E6/E8 never use
        # them); those saved before count_input / linear_top were logistic throughout.
        return Stack(d["dims"], d["weights"], d["biases"], d["info"], d.get("visible_biases", []),
                     d.get("count_input", False), d.get("linear_top", False))

    def layer(self, h, k: int, w=None, b=None):
        """Layer ``k``'s output for its input ``h`` (``w``, ``b``: its weights, by default the
        stored ones): sigmoid(W h + b), with b scaled by D = sum(h) on a count-input bottom
        layer, and no sigmoid on a linear top layer."""
        import torch

        w = self.weights[k] if w is None else w
        b = self.biases[k] if b is None else b
        a = h @ w.t()
        a = a + (h.sum(1, keepdim=True) * b if k == 0 and self.count_input else b)
        return a if self.linear_top and k == len(self.dims) - 2 else torch.sigmoid(a)

    def codes(self, x, upto: int | None = None):
        """Activations of layer ``upto`` (default: the top) for inputs ``x``: what the
        unrolled encoder computes (:meth:`layer`; sigmoid units but for a linear top)."""
        import torch

        h = torch.as_tensor(x, dtype=torch.float32)
        with torch.no_grad():
            for k in range(len(self.weights))[:upto]:
                h = self.layer(h, k)
        return h


def greedy_stack(x_train, x_val, dims: list[int], train_layer: Callable, log=print,
                 checkpoint=None, *, count_input: bool = False, linear_top: bool = False,
                 label: str = "layer") -> Stack:
    """Train ``len(dims) - 1`` layers one after the other.

    ``train_layer(h_train, h_val, n_out, k, checkpoint) -> (weight, bias, visible_bias,
    history)`` learns
    layer ``k`` from the codes ``h`` of the layers below it; its weights are then frozen:
    cloned, detached, and used only to compute the next layer's input (:meth:`Stack.layer`:
    with ``count_input`` the bottom layer's bias is scaled by each input's sum D, the hidden
    input of a replicated softmax RBM; ``linear_top`` marks the top layer's units linear).

    ``checkpoint`` (an :class:`aebench.checkpoint.Checkpointer` stage; None: the no-op one):
    each finished layer is saved (the stack so far and the global RNG state after it), a
    resumed stack skips its finished layers, and ``train_layer`` gets ``checkpoint=`` the stage
    of the layer it trains (``<stage>/layer<k+1>``, labelled "<label> k+1/<layers>" in the
    progress log) to make that layer's loop resumable too.
    """
    import torch

    from .epochs import NO_CHECKPOINT, rng_state, set_rng_state

    ck = NO_CHECKPOINT if checkpoint is None else checkpoint

    stack = Stack(list(dims), info={"history": []}, count_input=count_input,
                  linear_top=linear_top)
    h_tr = torch.as_tensor(x_train, dtype=torch.float32)
    h_va = torch.as_tensor(x_val, dtype=torch.float32)

    def next_codes(w, b):
        nonlocal h_tr, h_va
        k = len(stack.weights) - 1  # the layer just added
        if k == len(dims) - 2:
            return  # the top layer's codes train nothing
        with torch.no_grad():
            h_tr = stack.layer(h_tr, k, w, b)
            h_va = stack.layer(h_va, k, w, b)

    saved = ck.load()
    if saved is not None:
        stack.visible_biases, stack.info["history"] = saved["visible_biases"], saved["history"]
        for w, b in zip(saved["weights"], saved["biases"]):
            stack.weights.append(w)
            stack.biases.append(b)
            next_codes(w, b)
        set_rng_state(saved["rng"])
        log(f"resuming the stack after layer {len(stack.weights)}/{len(dims) - 1} "
            f"(checkpoint {ck.path})")
    with ck.deferring():
        for k, n_out in enumerate(dims[1:]):
            if k < len(stack.weights):
                continue
            log(f"layer {k + 1}/{len(dims) - 1}: {dims[k]} -> {n_out}, on the codes of "
                f"{k} frozen layer(s)")
            layer_ck = ck.stage(f"layer{k + 1}", label=f"{label} {k + 1}/{len(dims) - 1}",
                                index=k + 1)
            w, b, vb, hist = (t.detach().cpu().clone() if torch.is_tensor(t) else t
                              for t in train_layer(h_tr, h_va, n_out, k, checkpoint=layer_ck))
            stack.weights.append(w)
            stack.biases.append(b)
            stack.visible_biases.append(vb)
            stack.info["history"] += [{"layer": k + 1, **row} for row in hist]
            # A finished layer is a checkpoint of its own; its loop's is then dropped.
            ck.save({"weights": stack.weights, "biases": stack.biases,
                     "visible_biases": stack.visible_biases, "history": stack.info["history"],
                     "rng": rng_state()},
                    note=f"checkpoint saved: the stack's first {k + 1} layer(s)", log=log)
            layer_ck.remove()
            next_codes(w, b)
            ck.raise_if_stopped(f"layer {k + 1} of the stack")
    return stack


# --------------------------------------------------------------------------- inits
# ``fn(x_train, x_val, dims, init, train, seed, device, log) -> Stack``: ``init`` is the
# parsed InitSpec (an rbm's full RBMConfig, an ae's objective), ``train`` the TrainConfig
# that AE layers are trained with. An init that trains may also take ``checkpoint=None`` (a
# Checkpointer stage, for greedy_stack) to be resumable; :func:`pretrain` passes it then.


@init_kind("random")
def random_init(x_train, x_val, dims, init, train, seed, device, log, checkpoint=None) -> Stack:
    """The control: PyTorch's default nn.Linear initialisation, seeded."""
    import torch

    torch.manual_seed(seed)
    layers = [torch.nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])]
    log(f"random init of {dims} (nn.Linear default, seed {seed})")
    return Stack(list(dims), [m.weight.detach().clone() for m in layers],
                 [m.bias.detach().clone() for m in layers], {"history": []},
                 [torch.zeros(n) for n in dims[:-1]])


@init_kind("uniform_sigmoid")
def uniform_sigmoid_init(x_train, x_val, dims, init, train, seed, device, log,
                         checkpoint=None) -> Stack:
    """The control as the sources initialised sigmoid nets (Glorot & Bengio 2010, the Theano
    tutorials' MLP, SdA and DBN): W ~ U(±4·sqrt(6 / (fan_in + fan_out))), biases 0; seeded.
    PyTorch's default (:func:`random_init`) draws from U(±1/sqrt(fan_in)), about 4x smaller
    for a 1000-unit layer, so its sigmoid units start nearly linear."""
    import torch

    g = torch.Generator().manual_seed(seed)
    weights = []
    for a, b in zip(dims[:-1], dims[1:]):
        bound = 4 * (6 / (a + b)) ** 0.5
        weights.append((torch.rand(b, a, generator=g) * 2 - 1) * bound)
    log(f"random init of {dims} (uniform ±4·sqrt(6/(fan_in+fan_out)), seed {seed})")
    return Stack(list(dims), weights, [torch.zeros(b) for b in dims[1:]], {"history": []},
                 [torch.zeros(n) for n in dims[:-1]])


# Inits that train nothing: the controls. Fine-tuning gives their nets no output-layer warm-up.
UNTRAINED = ("random", "uniform_sigmoid")


@init_kind("ae")
def autoencoder_init(x_train, x_val, dims, init, train, seed, device, log,
                     checkpoint=None) -> Stack:
    """Each layer an AE ``n_in - n_out - n_in`` with sigmoid code and output, trained by the
    one training core (BCE: the inputs are pixels or codes in [0, 1]); params are the E7
    variants (``regularizer: {kind: l1, ...}`` for the over-complete sparse AE of the lecture,
    ``input_noise: ...`` for a stacked denoising AE). The encoder of each becomes the layer."""
    from functools import partial

    import torch

    from .nets import build
    from .train import autoencoder_objective, fit

    obj = init.objective
    objective = partial(autoencoder_objective, corrupt=obj.input_noise, penalty=obj.regularizer)
    cfg = train

    def train_layer(h_tr, h_va, n_out, k, checkpoint=None):
        torch.manual_seed(seed + 1000 * k)
        net = build("mlp", h_tr.shape[1], hidden=[], code_dim=n_out, code_activation="sigmoid")
        hist = fit(net, h_tr, h_va, cfg, seed=seed + 1000 * k, device=device,
                   objective=objective, log=log, name=f"ae layer {k + 1}", checkpoint=checkpoint)
        return net.enc[0].weight, net.enc[0].bias, net.dec[0].bias, hist

    return greedy_stack(x_train, x_val, dims, train_layer, log, checkpoint, label="ae layer")


@init_kind("rbm")
def rbm_init(x_train, x_val, dims, init, train, seed, device, log, checkpoint=None) -> Stack:
    """A DBN (Hinton, Osindero & Teh 2006): each layer an RBM trained by CD-1
    (:mod:`aebench.rbm`) on the hidden probabilities of the RBM below (with ``linear_top``,
    the top RBM has linear hidden units: Hinton & Salakhutdinov's code layer).

    ``bottom: softmax``: the bottom RBM is a replicated softmax on the word counts ``x``
    (learning at ``lr_softmax``), and the Bernoulli RBMs above it learn from its hidden
    probabilities sigmoid(W v + D a): the pre-training of Hinton & Salakhutdinov's document
    autoencoder. The stack is then ``count_input`` (:class:`Stack`)."""
    from .rbm import train_rbm

    cfg = init.rbm
    top = len(dims) - 2
    softmax = cfg.bottom == "softmax"
    if softmax and cfg.linear_top and top == 0:
        raise ValueError("rbm pretrain: bottom: softmax with one layer leaves no room for a "
                         "linear top (the replicated softmax RBM's hidden units are binary)")

    def train_layer(h_tr, h_va, n_out, k, checkpoint=None):
        rbm, hist = train_rbm(h_tr, h_va, n_out, cfg, seed=seed + 1000 * k, device=device,
                              log=log, name=f"rbm layer {k + 1}",
                              linear_hidden=cfg.linear_top and k == top,
                              visible="softmax" if softmax and k == 0 else "bernoulli",
                              checkpoint=checkpoint)
        return rbm.weight, rbm.h_bias, rbm.v_bias, hist

    return greedy_stack(x_train, x_val, dims, train_layer, log, checkpoint,
                        count_input=softmax, linear_top=cfg.linear_top, label="rbm layer")


def pretrain(init, x_train, x_val, dims, train, seed, device, log=print,
             checkpoint=None) -> Stack:
    """Train the stack ``init`` (an :class:`aebench.spec.InitSpec`) describes.

    ``checkpoint`` (a :class:`aebench.checkpoint.Checkpointer` stage) goes to inits that take
    one (``ae`` and ``rbm`` hand it to :func:`greedy_stack`); an init without a
    ``checkpoint`` parameter trains as before, from the start on every run.
    """
    import inspect

    fn = INITS[init.kind]
    kw = {"checkpoint": checkpoint} if "checkpoint" in inspect.signature(fn).parameters else {}
    stack = fn(x_train, x_val, dims, init, train, seed, device, log, **kw)
    stack.info.update(kind=init.kind, init=init.to_dict(), seed=seed)
    return stack


def unroll(stack: Stack, net) -> None:
    """Copy a stack into an MLP autoencoder (Hinton & Salakhutdinov 2006, Fig. 1): encoder
    layer k gets ``W_k`` and the hidden bias, the mirror decoder layer gets ``W_k`` transposed
    and the visible bias. Encoder and decoder are then fine-tuned as untied weights.

    A count-input stack (a replicated softmax bottom) goes into a ``count_input`` net, whose
    first encoder layer scales its bias by D as the RBM does; with ``output: softmax`` the
    last decoder layer is then the RBM's softmax(W^T h + b) over words."""
    import torch

    dims = [net.spec.input_dim, *net.spec.hidden, net.spec.code_dim]
    if list(stack.dims) != dims or net.dec is None:
        raise ValueError(f"cannot unroll a {stack.dims} stack into an untied {dims} autoencoder")
    if stack.count_input != net.spec.count_input:
        raise ValueError(f"cannot unroll a stack with count_input={stack.count_input} into an "
                         f"autoencoder with count_input={net.spec.count_input}: the bottom "
                         f"layer's bias is {'' if stack.count_input else 'not '}scaled by the "
                         f"document length")
    if stack.linear_top and net.spec.code_activation != "linear":
        raise ValueError(f"cannot unroll a stack with a linear top layer into an autoencoder "
                         f"with code_activation={net.spec.code_activation!r}")
    with torch.no_grad():
        for layer, w, b in zip(net.enc, stack.weights, stack.biases):
            layer.weight.copy_(w)
            layer.bias.copy_(b)
        for layer, w, vb in zip(net.dec, stack.weights[::-1], stack.visible_biases[::-1]):
            layer.weight.copy_(w.t())
            layer.bias.copy_(vb)
