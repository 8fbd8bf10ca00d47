"""Raw data -> prepared, checksummed arrays (train / validation / test).

Every dataset goes through the same three steps:
1. fetch: make the original files available under a raw directory, from a local mirror
   if one is configured (checked against the published checksums), else from the
   dataset's real download path;
2. read: decode them into arrays;
3. split: carve the validation set out of train (test is never used for a choice) and
   apply the preset's subset sizes, seeded by the run's seed (``split_seed``): each seed
   draws its own subsets and validation split, and a model and its paired control with the
   same seed see the same data.
The result is one ``.npz`` per (dataset, seed) that every later step loads with
:func:`load_prepared`.

Each dataset is a small module of this package whose ``prepare`` function is registered
with :func:`register` (name, kind, storage scale); the config schema's dataset names come
from this registry. Adding a dataset is one module: they are found without an import list.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
import importlib
import json
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..registry import Registry


class DataError(RuntimeError):
    """A dataset could not be fetched or failed its checksum; the message says how to fix it."""


# --------------------------------------------------------------------------- prepared files


@dataclass
class Prepared:
    """A prepared dataset. ``x_*`` are float32 rows (images in [0, 1], text as word counts)."""

    name: str
    kind: str  # "image" or "text"
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, ...]  # shape of one sample (C, H, W) for images, (D,) for text
    classes: list[str] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)
    # How it was made: {"full": the whole data set, or seeded subsets of it; anything a
    # dataset drops, e.g. 20news' empty documents}. Goes to the manifest.
    notes: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.x_train.shape[1])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")


def save_prepared(path: str | Path, p: Prepared, scale: float, sources: dict) -> None:
    """Store integers (uint8 pixels / word counts) plus the scale: 4x smaller than float32.

    Written to a temporary name and renamed, so a crash never leaves a file that looks done.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dtype = np.uint8 if p.kind == "image" else np.uint16
    arrays = {}
    for split in ("train", "val", "test"):
        x, y = p.split(split)
        raw = np.rint(x / scale)
        if raw.max(initial=0) > np.iinfo(dtype).max:
            raw = np.minimum(raw, np.iinfo(dtype).max)  # a word seen >65535 times in one doc
        arrays[f"x_{split}"] = raw.astype(dtype)
        arrays[f"y_{split}"] = y.astype(np.int64)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        np.savez(
            f,
            **arrays,
            scale=np.float64(scale),
            shape=np.asarray(p.shape),
            meta=np.asarray(json.dumps({"name": p.name, "kind": p.kind, "classes": p.classes,
                                        "vocabulary": p.vocabulary, "sources": sources,
                                        "notes": p.notes})),
        )
    tmp.replace(path)


def check_prepared(path: str | Path) -> None:
    """A prepared file is what its step wrote: its sha256 is the one recorded in the manifest
    beside it (``<name>.json``), or without one, its zip members pass their CRC. Otherwise one
    error naming the file and the fix: Snakemake would never rebuild a file that exists."""
    path = Path(path)
    fix = (f"delete {path} and {path.with_suffix('.json')} and run again (the data step "
           "prepares it anew)")
    record = path.with_suffix(".json")
    try:
        if record.exists():
            try:
                want = json.loads(record.read_text())["sha256"]
            except (ValueError, KeyError, TypeError) as e:
                raise DataError(f"{record}: unreadable manifest ({type(e).__name__}: {e}); "
                                f"{fix}") from None
            if sha256(path) != want:
                raise DataError(f"{path}: its sha256 is not the one {record.name} recorded: the "
                                f"file is corrupt; {fix}")
            return
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
        if bad is not None:
            raise DataError(f"{path}: member {bad} fails its CRC: the file is corrupt; {fix}")
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise DataError(f"{path}: cannot be read ({type(e).__name__}: {e}); {fix}") from None


JUDGE_SPLITS = ("test", "val")


def load_prepared(path: str | Path, judge_split: str = "test") -> Prepared:
    """The prepared file at ``path``. ``judge_split="val"``: a development run, judged on the
    validation split: it stands in for test (``x_test, y_test := x_val, y_val``) and the test
    arrays are never read from the file, so no step of such a run can see them."""
    if judge_split not in JUDGE_SPLITS:
        raise ValueError(f"judge_split {judge_split!r}: use one of {list(JUDGE_SPLITS)}")
    check_prepared(path)
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        scale = float(z["scale"])
        keys = [k for k in z.files if k.startswith(("x_", "y_"))
                and not (judge_split == "val" and k.endswith("_test"))]
        arrays = {k: z[k] for k in keys}
        shape = tuple(int(s) for s in z["shape"])
    if judge_split == "val":
        arrays["x_test"], arrays["y_test"] = arrays["x_val"], arrays["y_val"]
    for k in list(arrays):
        if k.startswith("x_"):
            arrays[k] = arrays[k].astype(np.float32) * np.float32(scale)
    return Prepared(name=meta["name"], kind=meta["kind"], shape=shape,
                    classes=meta["classes"], vocabulary=meta["vocabulary"],
                    notes={**meta.get("notes", {}), "judged_split": judge_split}, **arrays)


def manifest(p: Prepared, path: str | Path, sources: dict) -> dict:
    """What the prepared file holds, and the checksums of what it was made from."""
    return {
        "dataset": p.name,
        "kind": p.kind,
        "sample_shape": list(p.shape),
        "n": {s: int(len(p.split(s)[1])) for s in ("train", "val", "test")},
        "n_classes": len(p.classes),
        # false: seeded subsets (a preset); a claim whose anchor was measured on the whole
        # data set is then not judged
        "full_data": bool(p.notes.get("full", True)),
        **{k: v for k, v in p.notes.items() if k not in ("full", "split_seed")},
        "split_seed": p.notes.get("split_seed"),
        "sha256": sha256(path),
        "sources": sources,
    }


# --------------------------------------------------------------------------- checksums


def _digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def md5(path: str | Path) -> str:
    return _digest(Path(path), "md5")


def sha256(path: str | Path) -> str:
    return _digest(Path(path), "sha256")


# --------------------------------------------------------------------------- splitting


SPLIT_SEED = 0  # the default split seed; a run's prepared data uses the run's own seed


def sample(x, y, n: int | None, seed: int = SPLIT_SEED):
    """A seeded, class-stratified random sample of ``n`` rows (all of them when None), in
    their original order. Never the head of a file: the first MNIST test images, for one,
    are not a random sample (PCA-30's error on the first 2000 is 14.40, on all 10k 13.97)."""
    if n is None or n >= len(y):
        return x, y
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    idx = np.sort(idx)
    return x[idx], y[idx]


def split_train_val(x, y, n_val: int, n_train: int | None, seed: int = SPLIT_SEED):
    """Validation = a seeded, class-stratified random ``n_val`` of the training samples (early
    stopping and every other choice); train = the rest, or a seeded stratified ``n_train`` of
    it."""
    if n_val >= len(x):
        raise DataError(f"n_val={n_val} leaves no training data ({len(x)} samples in train)")
    from sklearn.model_selection import train_test_split

    tr, va = train_test_split(np.arange(len(y)), test_size=n_val, stratify=y, random_state=seed)
    tr, va = np.sort(tr), np.sort(va)
    x_tr, y_tr = sample(x[tr], y[tr], n_train, seed)
    return x_tr, y_tr, x[va], y[va]


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str  # "image" or "text"
    scale: float  # stored integers x scale = the float values
    prepare: Callable[..., tuple[Prepared, dict]]  # (raw_root, mirror, allow_download, **sizes)
    # True when it can be prepared with neither a mirror nor the network (bundled, built in
    # code, or installed by the system): read before any job (aebench.preflight)
    offline: Callable[[], bool] = lambda: False
    # Another setting of that dataset (e.g. `20news_headers` of `20news`): its split sizes
    # are that dataset's entry under the config's `datasets:`, unless it has its own
    # (:func:`sizes`), so that both settings are measured on alike subsets.
    sizes_of: str | None = None


DATASETS = Registry("dataset")  # name -> Dataset


def register(name: str, kind: str, scale: float, offline: Callable[[], bool] = lambda: False,
             sizes_of: str | None = None):
    """``@register("mnist", "image", 1 / 255)`` on a dataset's prepare function; ``offline``
    says whether it needs no mirror and no download (``lambda: True`` for a bundled one);
    ``sizes_of``: the dataset whose split sizes it reads when the config gives it none."""

    def deco(fn):
        DATASETS.add(name, Dataset(name, kind, scale, fn, offline, sizes_of))
        return fn

    return deco


def sizes(config_datasets: dict, name: str) -> dict:
    """The split sizes (``prepare``'s keyword arguments) of dataset ``name`` under the config's
    ``datasets:``: its own entry, over that of the dataset it is a setting of (``sizes_of``)."""
    d = DATASETS[name] if name in DATASETS else None
    base = config_datasets.get(d.sizes_of, {}) if d is not None and d.sizes_of else {}
    return {**base, **config_datasets.get(name, {})}


def names(kind: str | None = None) -> list[str]:
    return [n for n, d in DATASETS.items() if kind is None or d.kind == kind]


def of_model(config: dict, entry: dict) -> str:
    """A model entry's dataset; the aliases `image` (the default) and `text` follow the
    config's image_dataset / text_dataset, so a preset can swap the data of every model."""
    name = entry.get("dataset", "image")
    if name == "image":
        return config.get("image_dataset", "mnist")
    if name == "text":
        return config.get("text_dataset", "20news")
    return name


def prepare(name: str, raw_root: str | Path, mirror: str | Path | None, allow_download: bool,
            split_seed: int = SPLIT_SEED, **sizes) -> tuple[Prepared, dict, float]:
    """Prepare dataset ``name`` for the run seed ``split_seed``, which draws its subsets and
    validation split (each seed its own, so intervals over seeds include data sampling); returns
    (prepared, sources, storage scale)."""
    raw_root = Path(raw_root)
    mirror = Path(mirror).expanduser().resolve() if mirror else None
    if mirror is not None and not mirror.is_dir():
        raise DataError(f"data_mirror {mirror} is not a directory: fix `data_mirror` in config.yaml "
                        "or set it to null to download.")
    if name not in DATASETS:
        raise DataError(DATASETS.unknown(name))
    d = DATASETS[name]
    p, src = d.prepare(raw_root, mirror, allow_download, split_seed=split_seed, **sizes)
    p.notes["split_seed"] = int(split_seed)
    return p, src, d.scale


# Importing the modules registers the datasets.
for _m in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_m.name}")
