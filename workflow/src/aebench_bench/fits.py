"""Each fit kind against the sgemm peak: a few epochs of one model per kind, fitted exactly as
the pipeline fits it (:func:`aebench.runs.fit_run`), with its real layers and batch size.

The models (``MODELS``) cover every kind of training loop: an RBM-pre-trained MNIST
autoencoder (RBM layers, then fine-tuning the unrolled net), the text autoencoder
(replicated-softmax bottom layer), E6's greedy stacks (denoising-AE and RBM layers) and one of
its classifiers (fine-tuning a stack on labels), the contractive AE (a Jacobian penalty) and a
convolutional AE. Every ``epochs`` in a model's settings is cut to ``--fit-epochs`` and the
training set to ``--n-train`` images (the sample count scales a fit's time, not its speed).
Each model is fitted once as the pipeline does (``as is``) and once per :class:`Variant`
that applies to it: an option, or the code a speed fix replaced (``before: ...``: denormal
floats kept, the replicated-softmax sampler that drew the longest document's words for every
row), so every fix is measured side by side with what it
replaced, on one machine in one run. Each fit's ``cost.json`` (:mod:`aebench.flops`) gives its
FLOP, GFLOP/s and fraction of peak; a variant's numbers are compared with as-is's (largest
relative difference of the validation losses: float noise for an option, another random
stream for a replaced sampler).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from . import Row

PART = "fits"
MODELS = ("ae30", "text_ae10", "e6_sdae", "e6_dbn", "e6_sdae_n1000", "cae", "conv_unpool",
          "linear_tied", "hash256")
# Models whose slow part comes late get more epochs than --fit-epochs: denormal floats
# appear after epoch ~22 in the linear AE and after the eighth in hash256.
LATE = {"linear_tied": 40, "hash256": 16}
AS_IS = "as is"
MEDIAN_TARGET = 0.7  # issue 37: the median fit at 0.7 of the fp32 sgemm peak or more




@dataclass(frozen=True)
class Variant:
    name: str
    applies: Callable  # (ModelSpec) -> bool
    setup: Callable  # () -> context manager: the variant in force inside it
    before: bool = False  # True: the code a speed fix replaced (as-is is the fix)
    alter: Callable | None = None  # (spec dict) -> spec dict: a setting the variant changes


@contextmanager
def _nothing():
    yield


@contextmanager
def _denormals_kept():
    from aebench import train

    train.FLUSH_DENORMALS = False
    try:
        yield
    finally:
        train.FLUSH_DENORMALS = True


def _torch_multinomial_sampler(self, h, d, gen):
    """The replicated-softmax sampler before issue 37: torch.multinomial draws the batch's
    longest document's length for every row, and each row keeps its first D_i draws."""
    import torch

    p = self.visible_prob(h)
    n_words = d.round().long()
    out = torch.zeros_like(p)
    d_max = int(n_words.max()) if len(n_words) else 0
    if d_max == 0:
        return out
    idx = torch.multinomial(p, d_max, replacement=True, generator=gen)
    keep = torch.arange(d_max, device=p.device) < n_words[:, None]
    return out.scatter_add_(1, idx, keep.to(p.dtype))


@contextmanager
def _old_rsm_sampler():
    from aebench.rbm_models import ReplicatedSoftmaxRBM

    new = ReplicatedSoftmaxRBM.sample_visible
    ReplicatedSoftmaxRBM.sample_visible = _torch_multinomial_sampler
    try:
        yield
    finally:
        ReplicatedSoftmaxRBM.sample_visible = new


def _has_rsm(spec) -> bool:
    rbm = spec.init.rbm if spec.init is not None else None
    return rbm is not None and rbm.bottom == "softmax"


def _bf16_applies(spec) -> bool:
    import torch

    from aebench.train import native_bf16

    return spec.train is not None and native_bf16(torch.device("cpu"))


def _bf16(d: dict) -> dict:
    return {**d, "train": {**d["train"], "precision": "bf16"}}


VARIANTS = (Variant("bf16", _bf16_applies, _nothing, alter=_bf16),
            Variant("before: denormals kept", lambda spec: True, _denormals_kept, before=True),
            Variant("before: torch.multinomial", _has_rsm, _old_rsm_sampler, before=True))


def _capped(d, epochs: int):
    """``d`` (a spec as a dict) with every ``epochs`` setting at most ``epochs``."""
    if isinstance(d, dict):
        return {k: (min(v, epochs) if k == "epochs" and isinstance(v, int) else _capped(v, epochs))
                for k, v in d.items()}
    if isinstance(d, list):
        return [_capped(v, epochs) for v in d]
    return d


def _config(repo: Path, mirror: Path, n_train: int | None, preset: str | None = None):
    from snakemake.utils import update_config

    from aebench import config as aeconfig

    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    if preset and preset != "default":
        update_config(cfg, yaml.safe_load(
            (repo / "workflow" / "presets" / f"{preset}.yaml").read_text()))
    update_config(cfg, {"data_mirror": str(mirror), "allow_download": False})
    if n_train:
        update_config(cfg, {"datasets": {"mnist": {"n_train": n_train}}})
    return aeconfig.load(cfg), cfg


def train_threads(repo: Path) -> int:
    """The threads the default config gives a training job."""
    return int(yaml.safe_load((repo / "config.yaml").read_text())["threads"]["train"])


def _prepare(cfg: dict, dataset: str, raw: Path, out: Path) -> Path:
    from aebench.datasets import prepare, save_prepared

    path = out / f"{dataset}.npz"
    if not path.is_file():
        p, sources, scale = prepare(dataset, raw, cfg["data_mirror"], False,
                                    **cfg["datasets"].get(dataset, {}))
        save_prepared(path, p, scale, sources)
    return path


def _fit(spec, data: Path, out: Path, deps: dict, threads: int, peak_cache: Path) -> dict:
    import pandas as pd

    from aebench.flops import read_cost
    from aebench.runs import fit_run

    t0 = time.perf_counter()
    fit_run(spec, data, 0, out, deps, device="cpu", threads=threads, log=lambda *_: None,
            peak_cache=peak_cache)
    wall = time.perf_counter() - t0

    cost = read_cost(out)
    try:  # a stack's history is its last layer's (or empty): what there is, is compared
        val = pd.read_csv(out / "history.csv")["val_loss"].tolist()
    except (pd.errors.EmptyDataError, KeyError):
        val = []
    return {**cost, "wall": wall, "val_loss": val}


def run(repo: Path, mirror: Path, threads: int, *, epochs: int = 2, n_train: int | None = 10000,
        models=MODELS, variants=VARIANTS, peak_cache: Path | None = None,
        preset: str | None = None, log=print) -> list[Row]:
    """Rows per model and variant (see the module's docstring); ``peak_cache``: where the
    sgemm peak is cached (default: measured afresh before the first fit, in a temporary
    folder: a benchmark measures, it does not trust a value cached on a busier day);
    ``preset``: a preset of workflow/presets applied over config.yaml (its models' settings)."""
    from aebench.spec import ModelSpec

    cfg, raw_cfg = _config(repo, mirror, n_train, preset)
    rows, fracs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        peak_cache = peak_cache or tmp / "peak"
        from aebench.peak import before_jobs

        rows.append(Row(PART, f"fp32 sgemm peak, {threads} threads",
                        before_jobs(peak_cache, threads, log=log), "GFLOP/s"))
        data, done = {}, {}
        for name in models:
            spec = cfg.models[name]
            for dep in spec.needs:  # an E6 classifier's stack
                if dep not in done:
                    raise SystemExit(f"{PART}: {name} needs {dep}: list it before {name}")
            if spec.dataset not in data:
                data[spec.dataset] = _prepare(raw_cfg, spec.dataset, tmp / "raw", tmp)
            spec = ModelSpec.from_dict(_capped(spec.to_dict(), LATE.get(name, epochs)))
            base = None
            for v in [Variant(AS_IS, lambda s: True, _nothing)] + list(variants):
                if not v.applies(spec):
                    continue
                out = tmp / v.name.replace(" ", "_").replace(":", "") / name
                fitted = ModelSpec.from_dict(v.alter(spec.to_dict())) if v.alter else spec
                with v.setup():  # the stack a classifier starts from is the as-is one
                    r = _fit(fitted, data[spec.dataset], out, {d: done[d] for d in spec.needs},
                             threads, peak_cache)
                key = f"{name} ({v.name})"
                log(f"{PART}: {key}: {r['flop'] / 1e9:.1f} GFLOP in {r['loop_seconds']:.1f} s "
                    f"of loops ({r['wall']:.1f} s in all): {r['gflops']:.1f} GFLOP/s, "
                    f"{r['fraction_of_peak']:.2f} of the {r['peak_gflops']} GFLOP/s peak")
                rows.append(Row(PART, f"{key}: fraction of sgemm peak", r["fraction_of_peak"], ""))
                if base is None:
                    base, done[name] = r, out
                    fracs.append(r["fraction_of_peak"])
                    rows.append(Row(PART, f"{key}: seconds outside the loops",
                                    r["wall"] - r["loop_seconds"], "s"))
                    continue
                if v.before:
                    rows.append(Row(PART, f"{name}: as-is speed-up over {v.name[8:]} (before)",
                                    r["loop_seconds"] / base["loop_seconds"], "x"))
                else:
                    rows.append(Row(PART, f"{key}: speed-up over as-is",
                                    base["loop_seconds"] / r["loop_seconds"], "x"))
                a, b = base["val_loss"], r["val_loss"]
                diff = max((abs(x - y) / max(abs(x), 1e-12) for x, y in zip(a, b)), default=0.0)
                rows.append(Row(PART, f"{key}: largest relative change of a validation loss",
                                diff, ""))
    if fracs:
        median = statistics.median(fracs)
        rows.append(Row(PART, f"median fit's fraction of peak (as is, {len(fracs)} kinds)", median,
                        "", f">= {MEDIAN_TARGET}", median >= MEDIAN_TARGET))
    return rows


# --------------------------------------------------------------------------- threads per job


def _fit_in_child(args) -> dict:
    """One fit in a fresh process (multiprocessing's spawn): its own thread pool."""
    spec_dict, data, out, threads, peak_cache = args
    from aebench.spec import ModelSpec

    return _fit(ModelSpec.from_dict(spec_dict), Path(data), Path(out), {}, threads,
                Path(peak_cache))


def side_by_side(repo: Path, mirror: Path, cores: int, *, model: str = "ae30", epochs: int = 2,
                 n_train: int | None = 10000, log=print) -> list[Row]:
    """The machine's ``cores`` spent two ways on the same fit: one job of ``cores`` threads, or
    ``cores`` one-thread jobs side by side (what ``threads: {train: 1}`` makes Snakemake do).
    Rows: each layout's work per second over all jobs, and the ratio."""
    import multiprocessing as mp

    cfg, raw_cfg = _config(repo, mirror, n_train)
    spec = cfg.models[model]
    if spec.needs:
        raise SystemExit(f"{PART}: {model} needs {spec.needs}; pick a model that needs none")
    spec_dict = _capped(spec.to_dict(), epochs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = _prepare(raw_cfg, spec.dataset, tmp / "raw", tmp)
        rate = {}
        ctx = mp.get_context("spawn")
        for jobs, threads in ((1, cores), (cores, 1)):
            args = [(spec_dict, str(data), str(tmp / f"{jobs}x{threads}" / str(i)), threads,
                     str(tmp / "peak")) for i in range(jobs)]
            with ctx.Pool(jobs) as pool:
                t0 = time.perf_counter()
                res = pool.map(_fit_in_child, args)
                wall = time.perf_counter() - t0
            rate[jobs] = sum(r["flop"] for r in res) / wall / 1e9
            log(f"{PART}: {model}, {jobs} job(s) of {threads} thread(s): "
                f"{rate[jobs]:.1f} GFLOP/s over all jobs ({wall:.1f} s)")
            rows.append(Row(PART, f"{model}, {jobs} job(s) of {threads} thread(s) side by side: "
                                  "work per second", rate[jobs], "GFLOP/s"))
    rows.append(Row(PART, f"{model}: {cores} one-thread jobs over one {cores}-thread job",
                    rate[cores] / rate[1], "x"))
    return rows
