import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from aebench import datasets as data
from aebench.datasets import digits, idx, news20


def test_digits_split_sizes_and_range():
    p, _ = digits.prepare_digits(n_val=200, n_test=397)
    assert (len(p.y_train), len(p.y_val), len(p.y_test)) == (1797 - 597, 200, 397)
    assert p.x_train.shape[1] == 64 and p.shape == (1, 8, 8)
    assert 0.0 <= p.x_train.min() and p.x_train.max() <= 1.0
    # the split is fixed, whatever the training seed: same call, same test set
    q, _ = digits.prepare_digits(n_val=200, n_test=397)
    np.testing.assert_array_equal(p.x_test, q.x_test)


def test_subsets_are_seeded_stratified_samples_not_the_head():
    """Ordered data (all of class 0 first, as a file sorted by label would be): the head
    would hold one class; the validation split and the train subset hold every class in the
    data's proportions, are disjoint, and are the same every time."""
    y = np.repeat(np.arange(4), 50)
    x = np.arange(200)[:, None]
    x_tr, y_tr, x_va, y_va = data.split_train_val(x, y, n_val=40, n_train=80)
    assert np.bincount(y_va).tolist() == [10] * 4 and np.bincount(y_tr).tolist() == [20] * 4
    assert not set(x_tr.ravel()) & set(x_va.ravel())
    assert x_va.ravel().tolist() != list(range(160, 200))  # not the tail either
    again = data.split_train_val(x, y, n_val=40, n_train=80)
    assert all(np.array_equal(a, b) for a, b in zip((x_tr, y_tr, x_va, y_va), again))
    xs, ys = data.sample(x, y, 20)
    assert np.bincount(ys).tolist() == [5] * 4 and (np.diff(xs.ravel()) > 0).all()
    assert data.sample(x, y, None)[0] is x
    with pytest.raises(data.DataError, match="leaves no training data"):
        data.split_train_val(x, y, n_val=200, n_train=None)


def test_save_load_roundtrip(tmp_path):
    p, src = digits.prepare_digits()
    path = tmp_path / "d.npz"
    data.save_prepared(path, p, 1 / 16, src)
    q = data.load_prepared(path)
    np.testing.assert_allclose(q.x_train, p.x_train, atol=1e-6)
    np.testing.assert_array_equal(q.y_test, p.y_test)
    assert q.shape == p.shape and q.classes == p.classes
    assert not (tmp_path / "d.npz.part").exists()


def test_mnist_from_mirror(tmp_path, mirror):
    p, sources, _ = data.prepare("mnist", tmp_path / "raw", mirror, allow_download=False)
    assert (len(p.y_train), len(p.y_val), len(p.y_test)) == (55000, 5000, 10000)
    assert p.x_train.shape == (55000, 784) and p.x_train.dtype == np.float32
    full_mean = np.concatenate([p.x_train, p.x_val]).mean()
    assert abs(full_mean - 0.1307) < 5e-4  # the published MNIST train pixel mean
    assert sorted(sources.values()) == sorted(md5 for _, md5 in
                                              idx._idx_class("mnist").resources)


def test_corrupt_mirror_file_is_rejected_with_its_name(tmp_path, mnist_copy):
    f = mnist_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(f.read_bytes())
    raw[100] ^= 0xFF
    f.write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match=r"t10k-labels-idx1-ubyte\.gz: md5 .* corrupt"):
        data.prepare("mnist", tmp_path / "raw", mnist_copy, allow_download=False)


def test_missing_files_without_download_say_how_to_supply_them(tmp_path, mnist_copy):
    (mnist_copy / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(data.DataError) as e:
        data.prepare("mnist", tmp_path / "raw", mnist_copy, allow_download=False)
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and "data_mirror" in msg
    assert "t10k-images" not in msg  # only the missing one is named


def test_truncated_idx_is_rejected(tmp_path):
    f = tmp_path / "x-idx3-ubyte.gz"
    header = (0x0803).to_bytes(4, "big") + (2).to_bytes(4, "big") + (2).to_bytes(4, "big") * 2
    f.write_bytes(gzip.compress(header + bytes(5)))  # 5 of 8 pixels
    with pytest.raises(data.DataError, match="truncated"):
        idx._read_idx(f)


def test_20news_tree_checksums(tmp_path):
    tree = tmp_path / "20news-bydate"
    (tree / "20news-bydate-train" / "g").mkdir(parents=True)
    doc = tree / "20news-bydate-train" / "g" / "1"
    doc.write_text("hello")
    listing = tmp_path / "20news-bydate.sha256"
    listing.write_text(f"{data.sha256(doc)}  20news-bydate-train/g/1\n")
    news20._verify_tree(tree, listing)  # intact: passes
    doc.write_text("hellO")
    with pytest.raises(data.DataError, match="1 file\\(s\\) fail their sha256"):
        news20._verify_tree(tree, listing)


def _fake_news_archive(raw, monkeypatch):
    """A tiny stand-in for the official tarball at ``raw/20news-bydate.tar.gz`` (the bydate
    layout, two documents per split), taken for the official one by its sha256."""
    import tarfile

    src = raw.parent / "fake-src"
    for split, docs in (("train", ("1", "2")), ("test", ("3", "4"))):
        (src / f"20news-bydate-{split}" / "g").mkdir(parents=True)
        for d in docs:
            (src / f"20news-bydate-{split}" / "g" / d).write_text(f"document {d}")
    raw.mkdir(parents=True)
    archive = raw / "20news-bydate.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        for split in ("train", "test"):
            t.add(src / f"20news-bydate-{split}", arcname=f"20news-bydate-{split}")
    monkeypatch.setattr(news20, "NEWS_ARCHIVE_SHA256", data.sha256(archive))
    return archive


def test_20news_extracted_tree_is_reused_when_unchanged(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    _fake_news_archive(raw, monkeypatch)
    tree, sources = news20.fetch_20news(raw, None, allow_download=False)
    assert tree == raw / news20.NEWS_DIR and not (raw / "20news-bydate.part").exists()
    # the listing came with the tree, one line per document, in _verify_tree's format
    listing = tree / news20.LISTING
    assert sorted(line.split()[1] for line in listing.read_text().splitlines()) == [
        "20news-bydate-test/g/3", "20news-bydate-test/g/4",
        "20news-bydate-train/g/1", "20news-bydate-train/g/2"]
    doc = tree / "20news-bydate-train" / "g" / "1"
    inode = doc.stat().st_ino
    # unchanged: verified and reused, not extracted again
    monkeypatch.setattr(news20.tarfile, "open", lambda *a, **k: pytest.fail("extracted again"))
    assert news20.fetch_20news(raw, None, allow_download=False) == (tree, sources)
    assert doc.stat().st_ino == inode


def test_20news_extracted_tree_edited_or_deleted_is_named_with_the_fix(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    _fake_news_archive(raw, monkeypatch)
    tree, _ = news20.fetch_20news(raw, None, allow_download=False)
    (tree / "20news-bydate-train" / "g" / "1").write_text("document 1, edited")
    (tree / "20news-bydate-test" / "g" / "4").unlink()
    with pytest.raises(data.DataError) as e:
        news20.fetch_20news(raw, None, allow_download=False)
    msg = str(e.value)
    assert "1 file(s) fail their sha256 (20news-bydate-train/g/1)" in msg
    assert "1 file(s) are missing (20news-bydate-test/g/4)" in msg
    assert f"Delete {tree} and run again" in msg and "\n" not in msg
    # the fix it names works: extracted again from the archive, whole
    shutil.rmtree(tree)
    assert news20.fetch_20news(raw, None, allow_download=False)[0] == tree
    assert (tree / "20news-bydate-train" / "g" / "1").read_text() == "document 1"
    assert (tree / "20news-bydate-test" / "g" / "4").exists()


def test_20news_extracted_tree_without_its_listing_is_refused(tmp_path, monkeypatch):
    """A tree with no listing (extracted by a version that wrote none) cannot be checked:
    refused with the same fix, not blessed by a listing made from it now."""
    raw = tmp_path / "raw"
    _fake_news_archive(raw, monkeypatch)
    tree, _ = news20.fetch_20news(raw, None, allow_download=False)
    (tree / news20.LISTING).unlink()
    with pytest.raises(data.DataError, match=f"has no {news20.LISTING}.*Delete .* and run again"):
        news20.fetch_20news(raw, None, allow_download=False)
    assert not (tree / news20.LISTING).exists()


def test_unknown_dataset_and_bad_mirror(tmp_path):
    with pytest.raises(data.DataError, match="unknown dataset"):
        data.prepare("cifar", tmp_path, None, False)
    with pytest.raises(data.DataError, match="not a directory"):
        data.prepare("mnist", tmp_path, tmp_path / "nope", False)


def test_fashion_mnist_from_debian_recompressed_files(tmp_path, mirror, monkeypatch):
    """Debian's dataset-fashion-mnist re-compresses the files (other md5, same IDX content):
    they are accepted after their IDX header and size are checked."""
    debian = tmp_path / "debian"
    debian.mkdir()
    for f in (mirror / "MNIST" / "raw").glob("*.gz"):  # same IDX format as Fashion-MNIST
        (debian / f.name).write_bytes(gzip.compress(gzip.decompress(f.read_bytes()), mtime=1))
    monkeypatch.setattr(idx, "DEBIAN_FASHION_DIR", debian)
    p, sources, _ = data.prepare("fashion_mnist", tmp_path / "raw", None, allow_download=False,
                                 n_val=5000)
    assert p.x_test.shape == (10000, 784) and p.name == "fashion_mnist"
    assert all(v.startswith("debian:") for v in sources.values())


def test_20news_from_mirror(tmp_path, mirror):
    p, sources, _ = data.prepare("20news", tmp_path / "raw", mirror, allow_download=False)
    # documents the preprocessing leaves empty (~3%) are dropped and counted
    dropped = p.notes["empty_documents_dropped"]
    assert 0 < dropped["train"] < 0.05 * 11314 and 0 < dropped["test"] < 0.05 * 7532
    assert (len(p.y_train) + len(p.y_val) + dropped["train"], len(p.y_test) + dropped["test"]) \
        == (11314, 7532)
    assert (p.x_train.sum(1) > 0).all() and (p.x_test.sum(1) > 0).all() and p.notes["full"]
    assert p.x_train.shape[1] == 2000 == len(p.vocabulary) and len(p.classes) == 20
    assert "the" not in p.vocabulary  # stop words removed
    # headers are stripped: every raw header has "Subject:" and "Lines:", so unstripped
    # each would be counted at least once per document
    for word in ("subject", "lines"):
        assert p.x_train[:, p.vocabulary.index(word)].sum() < 0.1 * len(p.x_train)
    assert sources["verified_by"] == "20news-bydate.sha256"
    assert set(p.y_val) == set(range(20))  # validation drawn from all groups
    # the bydate tree is in group order: a test subset (quick preset) must still hold them all
    small, _, _ = data.prepare("20news", tmp_path / "raw", mirror, allow_download=False,
                               n_test=500)
    assert set(small.y_test) == set(range(20)) and not small.notes["full"]
    # a seeded sample of the same test documents, not their head
    rows = {r.tobytes() for r in p.x_test}
    assert len(small.y_test) == 500 and all(r.tobytes() in rows for r in small.x_test)
    assert not np.array_equal(small.x_test, p.x_test[:500])
    # the vocabulary is the 2000 most frequent train words, a tie at the cut going to the
    # alphabetically first, whatever order a sort leaves equal counts in
    from sklearn.feature_extraction.text import CountVectorizer
    docs = news20.documents(Path(sources["tree"]), "train")[0]
    vec = CountVectorizer(stop_words="english")
    counts = np.asarray(vec.fit_transform(docs).sum(0)).ravel()
    terms = vec.get_feature_names_out()
    kept = np.isin(terms, p.vocabulary)
    cut = counts[kept].min()
    assert counts[~kept].max() <= cut
    assert (counts[~kept] == cut).any(), "no tie at the cut: the test would not test it"
    assert max(terms[kept & (counts == cut)]) < min(terms[~kept & (counts == cut)])


def test_top_terms_breaks_ties_by_term_whatever_the_input_order():
    top_terms = news20.top_terms
    counts, terms = np.array([3, 1, 1, 2, 1]), np.array(["d", "c", "b", "a", "e"])
    assert top_terms(counts, terms, 3) == ["a", "b", "d"]
    rng = np.random.default_rng(0)
    for _ in range(5):
        perm = rng.permutation(len(terms))
        assert top_terms(counts[perm], terms[perm], 3) == ["a", "b", "d"]


# ------------------------------------------------------------------ 20news, headers kept (E4)

def _raw_documents(tree, split="test"):
    """``split``'s documents in file order, as the mirror holds them."""
    from sklearn.datasets import load_files

    return load_files(tree / f"20news-bydate-{split}", encoding="latin1", shuffle=False).data


def test_20news_documents_keep_headers_only_when_asked(mirror):
    """`20news_headers` (remove=()) reads each file as it is; the default strips headers,
    footers and quotes exactly as before (scikit-learn's three functions, in that order)."""
    from sklearn.datasets._twenty_newsgroups import (strip_newsgroup_footer,
                                                     strip_newsgroup_header,
                                                     strip_newsgroup_quoting)

    tree = mirror / news20.NEWS_DIR
    raw = _raw_documents(tree)
    kept, y_kept, groups = news20.documents(tree, "test", remove=())
    stripped, y, groups_s = news20.documents(tree, "test")
    assert kept == raw and list(y_kept) == list(y) and groups == groups_s
    # the default: the same documents as before the setting existed
    assert stripped == [strip_newsgroup_quoting(strip_newsgroup_footer(strip_newsgroup_header(d)))
                        for d in raw]
    lines = [(d.splitlines(), s.splitlines()) for d, s in zip(kept, stripped)]
    for tag in ("From:", "Subject:"):
        assert all(any(ln.startswith(tag) for ln in k) for k, _ in lines[:50]), tag
        assert sum(any(ln.startswith(tag) for ln in s) for _, s in lines) < 0.01 * len(lines), tag
    with pytest.raises(ValueError, match="remove"):
        news20.documents(tree, "test", remove=("header",))


def test_20news_headers_is_a_registered_setting_with_20news_split_sizes():
    d = data.DATASETS["20news_headers"]
    assert d.kind == "text" and d.sizes_of == "20news" and data.DATASETS["20news"].sizes_of is None
    cfg = {"20news": {"vocab_size": 2000, "n_val": 500, "n_test": 2000}, "digits": {"n_val": 9}}
    assert data.sizes(cfg, "20news_headers") == cfg["20news"] == data.sizes(cfg, "20news")
    assert data.sizes({**cfg, "20news_headers": {"n_test": 100}}, "20news_headers") == \
        {"vocab_size": 2000, "n_val": 500, "n_test": 100}
    assert data.sizes(cfg, "digits") == {"n_val": 9} and data.sizes(cfg, "mnist") == {}


def test_20news_headers_from_mirror(tmp_path, mirror):
    """Prepared with headers kept: its own name, header words counted in nearly every document,
    fewer documents emptied than with stripping; same split sizes as 20news."""
    p, sources, _ = data.prepare("20news_headers", tmp_path / "raw", mirror, allow_download=False,
                                 n_val=500, n_test=2000)
    assert p.name == "20news_headers" and p.x_train.shape[1] == 2000 and len(p.y_test) == 2000
    for word in ("subject", "lines", "organization"):
        assert (p.x_train[:, p.vocabulary.index(word)] > 0).mean() > 0.9, word
    dropped = p.notes["empty_documents_dropped"]
    assert dropped["train"] < 10 and dropped["test"] < 10
    assert len(p.y_train) + len(p.y_val) + dropped["train"] == 11314
