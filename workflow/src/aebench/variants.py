"""Training-time variants of the autoencoder objective (slide 14): input corruption and
penalties on the code. Each is a small function in a registry; a model uses one through its
config params, e.g. ``input_noise: {kind: mask, level: 0.3}`` or
``regularizer: {kind: contractive, weight: 0.01}`` (parsed into
:class:`aebench.spec.Objective`). A new variant is one registered function plus one config entry; :func:`aebench.train.autoencoder_objective` applies them inside the one
training loop (:func:`aebench.train.fit`).

The module imports no torch at load time (the functions only call tensor methods; torch.func
is imported where it is needed), so the workflow can check a config's variant names cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from .registry import Registry

NOISES = Registry("noise kind")  # name -> corruption function
REGULARIZERS = Registry("regularizer kind")  # name -> code penalty function


noise = NOISES.register  # @noise("mask") registers an input corruption
regularizer = REGULARIZERS.register  # @regularizer("l1") registers a code penalty


# --------------------------------------------------------------------------- input noise
# ``fn(x, level, generator=None) -> corrupted x``. Without a generator the global torch RNG
# is used (seeded by set_determinism, like MLPSpec.code_noise); evaluation passes one so its
# noise does not depend on what ran before.


@noise("gaussian")
def gaussian_noise(x, level: float, generator=None):
    """Additive isotropic Gaussian noise of std ``level`` (Vincent et al. 2010); not clipped,
    so its statistics are exactly N(0, level^2)."""
    return x + level * x.new_empty(x.shape).normal_(generator=generator)


@noise("mask")
def masking_noise(x, level: float, generator=None):
    """Masking noise: each input is set to 0 with probability ``level``, the others are kept
    as they are (not rescaled), as in Vincent et al. 2008."""
    keep = x.new_empty(x.shape).uniform_(generator=generator) >= level
    return x * keep


# --------------------------------------------------------------------------- code penalties
# ``fn(model, x_in, z) -> scalar``: x_in is what the encoder saw, z = model.encode(x_in).
# Both penalties are per example (summed over code units / Jacobian entries), averaged over
# the batch, so their weights are on the same scale.


@regularizer("l1")
def l1_penalty(model, x_in, z):
    """Sparse AE: the L1 norm of the code, mean over the batch."""
    return z.abs().sum(1).mean()


@regularizer("contractive")
def contractive_penalty(model, x_in, z):
    """Contractive AE (Rifai et al. 2011): squared Frobenius norm of the encoder Jacobian
    dz/dx, mean over the batch (see :func:`jacobian_frobenius_sq`)."""
    return jacobian_frobenius_sq(model, x_in, z).mean()


def _single_sigmoid_layer(model) -> bool:
    enc = getattr(model, "enc", None)
    spec = getattr(model, "spec", None)
    return (enc is not None and len(enc) == 1 and spec is not None
            and spec.code_activation == "sigmoid" and not spec.code_noise)


def jacobian_frobenius_sq(model, x, z=None):
    """Per-example ||dz/dx||_F^2 of ``model.encode`` at each row of ``x``.

    One sigmoid layer z = sigmoid(Wx + b) (the E7 models): computed exactly in closed form,
    J = diag(z(1-z)) W, so ||J||_F^2 = sum_j (z_j(1-z_j))^2 ||W_j||^2 (Rifai et al. 2011, eq. 4),
    at the cost of one forward pass. Any other encoder: the full Jacobian from torch.func
    (vmap of jacrev, one reverse pass per code unit), differentiable like the closed form.
    """
    if _single_sigmoid_layer(model):
        if z is None:
            z = model.encode(x)
        w = model.enc[0].weight  # (code, input)
        return (z * (1 - z)).pow(2) @ w.pow(2).sum(1)
    from torch.func import jacrev, vmap

    jac = vmap(jacrev(lambda xi: model.encode(xi.unsqueeze(0)).squeeze(0)))(x)  # (B, code, in)
    return jac.pow(2).flatten(1).sum(1)


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class NoiseSpec:
    kind: str
    level: float

    def __post_init__(self):
        if self.kind not in NOISES:
            raise ValueError(NOISES.unknown(self.kind))
        if not isinstance(self.level, (int, float)) or self.level < 0:
            raise ValueError(f"noise level must be a number >= 0, got {self.level!r}")
        if self.kind == "mask" and self.level >= 1:
            raise ValueError(f"mask noise level is the masked fraction, < 1; got {self.level}")

    def __call__(self, x, generator=None):
        return NOISES[self.kind](x, self.level, generator=generator)

    def label(self) -> str:
        return f"{self.kind}{self.level:g}"


@dataclass(frozen=True)
class RegularizerSpec:
    kind: str
    weight: float

    def __post_init__(self):
        if self.kind not in REGULARIZERS:
            raise ValueError(f"kind {self.kind!r} is not one of {sorted(REGULARIZERS)}")
        if not isinstance(self.weight, (int, float)) or self.weight < 0:
            raise ValueError(f"weight must be a number >= 0, got {self.weight!r}")

    def __call__(self, model, x_in, z):
        return self.weight * REGULARIZERS[self.kind](model, x_in, z)
