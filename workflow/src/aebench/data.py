"""Raw data -> prepared, checksummed arrays (train / validation / test).

Every dataset goes through the same three steps:
1. fetch: make the original files available under a raw directory, from a local mirror
   if one is configured (checked against the published checksums), else from the
   dataset's real download path;
2. read: decode them into arrays;
3. split: carve the validation set out of train (test is never used for a choice) and
   apply the preset's subset sizes.
The result is one ``.npz`` per dataset that every later step loads with
:func:`load_prepared`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tarfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


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
                                        "vocabulary": p.vocabulary, "sources": sources})),
        )
    tmp.replace(path)


def load_prepared(path: str | Path) -> Prepared:
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        scale = float(z["scale"])
        arrays = {k: z[k] for k in z.files if k.startswith(("x_", "y_"))}
        shape = tuple(int(s) for s in z["shape"])
    for k in list(arrays):
        if k.startswith("x_"):
            arrays[k] = arrays[k].astype(np.float32) * np.float32(scale)
    return Prepared(name=meta["name"], kind=meta["kind"], shape=shape,
                    classes=meta["classes"], vocabulary=meta["vocabulary"], **arrays)


def manifest(p: Prepared, path: str | Path, sources: dict) -> dict:
    """What the prepared file holds, and the checksums of what it was made from."""
    return {
        "dataset": p.name,
        "kind": p.kind,
        "sample_shape": list(p.shape),
        "n": {s: int(len(p.split(s)[1])) for s in ("train", "val", "test")},
        "n_classes": len(p.classes),
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


def split_train_val(x, y, n_val: int, n_train: int | None):
    """Validation = the last ``n_val`` training samples (the usual MNIST 55k/5k split);
    train = the first ``n_train`` of the rest (all of it when None)."""
    if n_val >= len(x):
        raise DataError(f"n_val={n_val} leaves no training data ({len(x)} samples in train)")
    x_tr, y_tr, x_va, y_va = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]
    if n_train is not None:
        x_tr, y_tr = x_tr[:n_train], y_tr[:n_train]
    return x_tr, y_tr, x_va, y_va


def _head(x, y, n):
    return (x, y) if n is None else (x[:n], y[:n])


# --------------------------------------------------------------------------- MNIST-like


# torchvision's class for each IDX dataset (its ``resources`` list holds the md5 sums).
_IDX_DATASETS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
# Debian's dataset-fashion-mnist installs re-compressed copies here (other md5, same content).
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def _idx_class(name: str):
    import torchvision.datasets as tvd

    return getattr(tvd, _IDX_DATASETS[name])


def _read_idx(path: Path) -> np.ndarray:
    """Decode an IDX file (gzip or not); validates the header so a truncated file fails here."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot be read ({e}); the file is corrupt: replace it") from e
    magic = int.from_bytes(data[:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise DataError(f"{path}: not an IDX ubyte file (magic {magic:#x}); replace it")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(f"{path}: truncated ({body.size} of {int(np.prod(dims))} values); replace it")
    return body.reshape(dims)


def fetch_idx(name: str, raw_root: Path, mirror: Path | None, allow_download: bool) -> dict:
    """Put the four original ``.gz`` files under ``raw_root/<Class>/raw`` and check their md5.

    Order: files already there and valid, then the mirror, then (Fashion-MNIST only) Debian's
    package, then torchvision's own download. Returns {file: md5 or note} for the manifest.
    """
    cls = _idx_class(name)
    folder = cls.__name__
    dest = raw_root / folder / "raw"
    dest.mkdir(parents=True, exist_ok=True)
    sources, missing = {}, []
    for fname, want in cls.resources:
        target = dest / fname
        if target.exists() and md5(target) == want:
            sources[fname] = want
            continue
        if mirror is not None and (mirror / folder / "raw" / fname).exists():
            src = mirror / folder / "raw" / fname
            got = md5(src)
            if got != want:
                raise DataError(
                    f"{src}: md5 {got} does not match the published {want}: the file is corrupt "
                    f"or not the original. Replace it with the original {fname}, or remove it "
                    f"so that it is downloaded."
                )
            shutil.copyfile(src, target)
            sources[fname] = want
            continue
        debian = DEBIAN_FASHION_DIR / fname
        if name == "fashion_mnist" and debian.exists():
            # Debian re-compressed the files, so the md5 of the .gz differs; the content is
            # validated by decoding the IDX header and size instead.
            _read_idx(debian)
            shutil.copyfile(debian, target)
            sources[fname] = f"debian:{md5(debian)}"
            continue
        missing.append(fname)
    if missing and allow_download:
        try:
            # torchvision's real download path: fetches the missing files and checks their md5.
            cls(str(raw_root), train=True, download=True)
            for fname in missing:
                sources[fname] = dict(cls.resources)[fname]
            missing = []
        except Exception as e:  # no network, HTTP error, md5 mismatch after download
            reason = f" (download failed: {type(e).__name__}: {e})"
    else:
        reason = " (downloads are off: allow_download: false)"
    if missing:
        where = f"{mirror}/{folder}/raw/" if mirror else f"<mirror>/{folder}/raw/"
        hint = " or `apt-get install dataset-fashion-mnist`" if name == "fashion_mnist" else ""
        raise DataError(
            f"{name}: missing {', '.join(missing)}{reason}. Copy the original files to {where} "
            f"and set `data_mirror` in config.yaml (e.g. --config data_mirror=../shared/data){hint}."
        )
    return sources


def prepare_idx(name: str, raw_root: Path, mirror: Path | None, allow_download: bool,
                n_train=None, n_val=5000, n_test=None) -> tuple[Prepared, dict]:
    sources = fetch_idx(name, raw_root, mirror, allow_download)
    cls = _idx_class(name)
    raw = raw_root / cls.__name__ / "raw"
    read = lambda stem: _read_idx(raw / f"{stem}.gz")  # noqa: E731
    x, y = read("train-images-idx3-ubyte"), read("train-labels-idx1-ubyte")
    xt, yt = read("t10k-images-idx3-ubyte"), read("t10k-labels-idx1-ubyte")
    x = x.reshape(len(x), -1).astype(np.float32) / 255.0
    xt = xt.reshape(len(xt), -1).astype(np.float32) / 255.0
    x_tr, y_tr, x_va, y_va = split_train_val(x, y, n_val, n_train)
    x_te, y_te = _head(xt, yt, n_test)
    p = Prepared(name, "image", x_tr, y_tr, x_va, y_va, x_te, y_te, shape=(1, 28, 28),
                 classes=[str(c) for c in cls.classes])
    return p, sources


# --------------------------------------------------------------------------- digits


def prepare_digits(n_val=200, n_test=397, n_train=None, split_seed=0) -> tuple[Prepared, dict]:
    """scikit-learn's bundled 8x8 digits: no download, so tests and smoke runs need no mirror.

    It has no official split: a permutation with a fixed seed (independent of training seeds)
    puts the last ``n_test`` in test.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.RandomState(split_seed).permutation(len(d.target))
    x = d.data[order].astype(np.float32) / 16.0
    y = d.target[order]
    x, y, xt, yt = x[:-n_test], y[:-n_test], x[-n_test:], y[-n_test:]
    x_tr, y_tr, x_va, y_va = split_train_val(x, y, n_val, n_train)
    p = Prepared("digits", "image", x_tr, y_tr, x_va, y_va, xt, yt, shape=(1, 8, 8),
                 classes=[str(c) for c in range(10)])
    return p, {"sklearn.load_digits": "bundled"}


# --------------------------------------------------------------------------- 20 Newsgroups


NEWS_ARCHIVE_URL = "https://ndownloader.figshare.com/files/5975967"  # scikit-learn's source
NEWS_ARCHIVE_SHA256 = "8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610"
NEWS_DIR = "20news-bydate"
NEWS_SIZES = {"train": 11314, "test": 7532}


def _verify_tree(root: Path, listing: Path) -> None:
    """Check every file of the bydate tree against a ``sha256sum``-style listing."""
    bad, absent = [], []
    for line in listing.read_text().splitlines():
        want, rel = line.split(maxsplit=1)
        f = root / rel
        if not f.exists():
            absent.append(rel)
        elif sha256(f) != want:
            bad.append(rel)
    if bad or absent:
        raise DataError(
            f"20news mirror {root}: {len(bad)} file(s) fail their sha256 ({', '.join(bad[:3])}"
            f"{'...' if len(bad) > 3 else ''}) and {len(absent)} are missing "
            f"({', '.join(absent[:3])}{'...' if len(absent) > 3 else ''}), per {listing}. "
            f"Restore the original files or remove the mirror so that the archive is downloaded."
        )


def fetch_20news(raw_root: Path, mirror: Path | None, allow_download: bool) -> tuple[Path, dict]:
    """Return the directory holding ``20news-bydate-{train,test}``.

    Mirror forms: the extracted tree ``<mirror>/20news-bydate/`` (verified per file when
    ``<mirror>/20news-bydate.sha256`` exists) or the official tarball
    ``<mirror>/20news-bydate.tar.gz`` (sha256-checked); else the official download.
    """
    if mirror is not None:
        tree = mirror / NEWS_DIR
        if (tree / "20news-bydate-train").is_dir() and (tree / "20news-bydate-test").is_dir():
            listing = mirror / "20news-bydate.sha256"
            if listing.exists():
                _verify_tree(tree, listing)
                return tree, {"tree": str(tree), "verified_by": listing.name}
            return tree, {"tree": str(tree), "verified_by": "document counts only"}
    archive = raw_root / "20news-bydate.tar.gz"
    if not archive.exists() and mirror is not None and (mirror / archive.name).exists():
        shutil.copyfile(mirror / archive.name, archive)
    if not archive.exists():
        if not allow_download:
            raise DataError(
                "20news: no mirror and downloads are off. Put the bydate tree at "
                "<mirror>/20news-bydate/20news-bydate-{train,test}/ (or the official "
                "20news-bydate.tar.gz at <mirror>/) and set `data_mirror` in config.yaml."
            )
        raw_root.mkdir(parents=True, exist_ok=True)
        part = archive.with_name(archive.name + ".part")
        try:
            urllib.request.urlretrieve(NEWS_ARCHIVE_URL, part)
        except Exception as e:
            part.unlink(missing_ok=True)
            raise DataError(
                f"20news: download of {NEWS_ARCHIVE_URL} failed ({type(e).__name__}: {e}). Put the "
                "bydate tree at <mirror>/20news-bydate/ or the tarball at <mirror>/20news-bydate.tar.gz "
                "and set `data_mirror` in config.yaml."
            ) from e
        part.replace(archive)
    got = sha256(archive)
    if got != NEWS_ARCHIVE_SHA256:
        raise DataError(f"{archive}: sha256 {got} is not the official {NEWS_ARCHIVE_SHA256}: "
                        "corrupt or partial; delete it and run again.")
    out = raw_root / NEWS_DIR
    if not (out / "20news-bydate-test").is_dir():
        with tarfile.open(archive) as t:
            t.extractall(out, filter="data")
    return out, {archive.name: got}


def prepare_20news(raw_root: Path, mirror: Path | None, allow_download: bool,
                   vocab_size=2000, n_val=1000, n_train=None, n_test=None) -> tuple[Prepared, dict]:
    """Bag of words over the ``vocab_size`` most frequent train words.

    Headers, footers and quoted replies are stripped with scikit-learn's own functions (what
    ``fetch_20newsgroups(remove=...)`` does), English stop words dropped. Stored as counts;
    experiments derive tf-idf or per-document normalised vectors from them.
    """
    from sklearn.datasets import load_files
    from sklearn.datasets._twenty_newsgroups import (strip_newsgroup_footer,
                                                     strip_newsgroup_header,
                                                     strip_newsgroup_quoting)
    from sklearn.feature_extraction.text import CountVectorizer

    tree, sources = fetch_20news(raw_root, mirror, allow_download)
    splits = {}
    for split in ("train", "test"):
        b = load_files(tree / f"20news-bydate-{split}", encoding="latin1", shuffle=False)
        if len(b.data) != NEWS_SIZES[split]:
            raise DataError(f"20news {split}: {len(b.data)} documents, expected {NEWS_SIZES[split]}; "
                            f"the tree at {tree} is incomplete.")
        docs = [strip_newsgroup_quoting(strip_newsgroup_footer(strip_newsgroup_header(d)))
                for d in b.data]
        splits[split] = (docs, np.asarray(b.target), list(b.target_names))
    # Shuffle each split once with a fixed seed: the bydate tree is ordered by group, so "the
    # last n_val" as validation, "the first n_test" of a subset (quick preset) or the first
    # points of a scatter would otherwise hold a few groups only.
    for seed, split in enumerate(("train", "test")):
        docs, y, classes = splits[split]
        order = np.random.RandomState(seed).permutation(len(y))
        splits[split] = ([docs[i] for i in order], y[order], classes)
    docs, y, classes = splits["train"]
    vec = CountVectorizer(max_features=vocab_size, stop_words="english")
    x = vec.fit_transform(docs).toarray().astype(np.float32)
    xt = vec.transform(splits["test"][0]).toarray().astype(np.float32)
    x_tr, y_tr, x_va, y_va = split_train_val(x, y, n_val, n_train)
    x_te, y_te = _head(xt, splits["test"][1], n_test)
    p = Prepared("20news", "text", x_tr, y_tr, x_va, y_va, x_te, y_te, shape=(x.shape[1],),
                 classes=classes, vocabulary=vec.get_feature_names_out().tolist())
    return p, sources


# --------------------------------------------------------------------------- toy text


def prepare_toytext(n_groups=4, vocab_size=200, doc_len=60, n_train=400, n_val=100, n_test=200,
                    split_seed=0) -> tuple[Prepared, dict]:
    """A tiny synthetic bag-of-words corpus (no download), for smoke runs and tests.

    Each group draws its words from its own Dirichlet distribution over the vocabulary,
    mixed with a shared background, so groups are separable but overlap like topics do.
    """
    rng = np.random.RandomState(split_seed)
    background = rng.dirichlet(np.full(vocab_size, 0.5))
    topics = [0.5 * rng.dirichlet(np.full(vocab_size, 0.05)) + 0.5 * background
              for _ in range(n_groups)]
    n = n_train + n_val + n_test
    y = np.arange(n) % n_groups
    rng.shuffle(y)
    x = np.stack([rng.multinomial(rng.poisson(doc_len) + 1, topics[g]) for g in y]).astype(np.float32)
    x_tr, y_tr, x_va, y_va = split_train_val(x[:n_train + n_val], y[:n_train + n_val], n_val, None)
    p = Prepared("toytext", "text", x_tr, y_tr, x_va, y_va, x[n_train + n_val:], y[n_train + n_val:],
                 shape=(vocab_size,), classes=[f"group{g}" for g in range(n_groups)],
                 vocabulary=[f"w{i}" for i in range(vocab_size)])
    return p, {"synthetic": f"seed {split_seed}"}


# --------------------------------------------------------------------------- entry point


def prepare(name: str, raw_root: str | Path, mirror: str | Path | None, allow_download: bool,
            **sizes) -> tuple[Prepared, dict, float]:
    """Prepare dataset ``name``; returns (prepared, sources, storage scale)."""
    raw_root = Path(raw_root)
    mirror = Path(mirror).expanduser().resolve() if mirror else None
    if mirror is not None and not mirror.is_dir():
        raise DataError(f"data_mirror {mirror} is not a directory: fix `data_mirror` in config.yaml "
                        "or set it to null to download.")
    if name in _IDX_DATASETS:
        p, src = prepare_idx(name, raw_root, mirror, allow_download, **sizes)
        return p, src, 1 / 255
    if name == "digits":
        p, src = prepare_digits(**sizes)
        return p, src, 1 / 16
    if name == "20news":
        p, src = prepare_20news(raw_root, mirror, allow_download, **sizes)
        return p, src, 1.0
    if name == "toytext":
        p, src = prepare_toytext(**sizes)
        return p, src, 1.0
    raise DataError(f"unknown dataset {name!r}; known: mnist, fashion_mnist, digits, 20news, toytext")
