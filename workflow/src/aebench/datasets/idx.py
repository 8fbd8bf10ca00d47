"""MNIST and Fashion-MNIST: torchvision's IDX files, md5-checked."""

from __future__ import annotations

import gzip
import shutil
import zlib
from pathlib import Path

import numpy as np

from . import DataError, Prepared, md5, register, sample, split_train_val

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
    except (OSError, EOFError, zlib.error) as e:  # zlib.error: some gzip corruptions
        raise DataError(f"{path}: cannot be read ({type(e).__name__}: {e}); the file is corrupt: "
                        "delete it and run again (or replace it with the original)") from e
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
    sources, missing, corrupt = {}, [], {}
    for fname, want in cls.resources:
        target = dest / fname
        if target.exists():
            if (got := md5(target)) == want:
                sources[fname] = want
                continue
            corrupt[fname] = got  # replaced below if a mirror or a download can
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
    if (bad := [f for f in missing if f in corrupt]):
        raise DataError(
            f"{name}: {', '.join(str(dest / f) for f in bad)} corrupt (md5 {corrupt[bad[0]]}, not the "
            f"published {dict(cls.resources)[bad[0]]}){reason}: delete it and run again with a "
            f"mirror (`data_mirror`) or downloads on.")
    if missing:
        where = f"{mirror}/{folder}/raw/" if mirror else f"<mirror>/{folder}/raw/"
        hint = " or `apt-get install dataset-fashion-mnist`" if name == "fashion_mnist" else ""
        raise DataError(
            f"{name}: missing {', '.join(missing)}{reason}. Copy the original files to {where} "
            f"and set `data_mirror` in config.yaml (e.g. --config data_mirror=../shared/data){hint}."
        )
    return sources


def prepare_idx(name: str, raw_root: Path, mirror: Path | None, allow_download: bool,
                n_train=None, n_val=5000, n_test=None, split_seed=0) -> tuple[Prepared, dict]:
    sources = fetch_idx(name, raw_root, mirror, allow_download)
    cls = _idx_class(name)
    raw = raw_root / cls.__name__ / "raw"
    read = lambda stem: _read_idx(raw / f"{stem}.gz")  # noqa: E731
    x, y = read("train-images-idx3-ubyte"), read("train-labels-idx1-ubyte")
    xt, yt = read("t10k-images-idx3-ubyte"), read("t10k-labels-idx1-ubyte")
    x = x.reshape(len(x), -1).astype(np.float32) / 255.0
    xt = xt.reshape(len(xt), -1).astype(np.float32) / 255.0
    x_tr, y_tr, x_va, y_va = split_train_val(x, y, n_val, n_train, split_seed)
    x_te, y_te = sample(xt, yt, n_test, split_seed)
    p = Prepared(name, "image", x_tr, y_tr, x_va, y_va, x_te, y_te, shape=(1, 28, 28),
                 classes=[str(c) for c in cls.classes],
                 notes={"full": n_train is None and n_test is None})
    return p, sources


@register("mnist", "image", 1 / 255)
def prepare_mnist(raw_root, mirror, allow_download, **sizes):
    return prepare_idx("mnist", raw_root, mirror, allow_download, **sizes)


# Debian's package is a source that needs neither a mirror nor the network
@register("fashion_mnist", "image", 1 / 255, offline=lambda: DEBIAN_FASHION_DIR.is_dir())
def prepare_fashion_mnist(raw_root, mirror, allow_download, **sizes):
    return prepare_idx("fashion_mnist", raw_root, mirror, allow_download, **sizes)
