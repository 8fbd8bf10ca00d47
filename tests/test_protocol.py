"""Issue 38's data protocol: each seed draws its own split, a val-judged run never reads test,
confirmation seeds are never tuned on, and the closed-form baselines follow no seed."""

import json

import numpy as np
import pytest
import yaml

from aebench import config as aeconfig
from aebench import datasets as data
from aebench import paths
from aebench.kinds import make, parse_model

from _workflow import ROOT


def _prepared(name, seed, tmp_path, **sizes):
    p, src, scale = data.prepare(name, tmp_path / "raw", None, False, split_seed=seed, **sizes)
    path = tmp_path / f"{name}-{seed}-{len(list(tmp_path.iterdir()))}.npz"
    data.save_prepared(path, p, scale, src)
    return p, path


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


# --------------------------------------------------------------------------- seeds follow splits


@pytest.mark.parametrize("name,sizes", [("digits", {"n_train": 600}), ("toytext", {})])
def test_each_seed_draws_its_own_validation_split_and_subset(tmp_path, name, sizes):
    a, path_a = _prepared(name, 0, tmp_path, **sizes)
    b, _ = _prepared(name, 1, tmp_path, **sizes)
    _, again = _prepared(name, 0, tmp_path, **sizes)
    # same sizes, different samples: the intervals over seeds include data sampling
    assert a.x_val.shape == b.x_val.shape and a.x_train.shape == b.x_train.shape
    assert not np.array_equal(a.x_val, b.x_val) and not np.array_equal(a.x_train, b.x_train)
    # the test split is the source's (digits: a fixed permutation; toytext: the fixed corpus),
    # so no seed's train holds another seed's test documents
    np.testing.assert_array_equal(a.x_test, b.x_test)
    # the same seed gives the same file, array for array
    first, second = _arrays(path_a), _arrays(again)
    assert first.keys() == second.keys()
    for k in first:
        np.testing.assert_array_equal(first[k], second[k])
        assert first[k].dtype == second[k].dtype
    # train and validation of one seed never overlap (rows are distinct in digits' 1797 images)
    if name == "digits":
        rows = lambda x: {r.tobytes() for r in x}  # noqa: E731
        assert not rows(a.x_train) & rows(a.x_val)


def test_sampling_functions_follow_the_seed_they_are_given():
    """The stratified sampling of the official test split (MNIST, 20news) follows the seed."""
    x = np.arange(1000, dtype=np.float32)[:, None]
    y = np.arange(1000) % 10
    s0, s1 = data.sample(x, y, 100, 0)[0], data.sample(x, y, 100, 1)[0]
    assert len(s0) == len(s1) == 100 and not np.array_equal(s0, s1)
    np.testing.assert_array_equal(s0, data.sample(x, y, 100, 0)[0])
    v0, v1 = data.split_train_val(x, y, 50, None, 0)[2], data.split_train_val(x, y, 50, None, 1)[2]
    assert not np.array_equal(v0, v1)


def test_the_manifest_names_the_seed(tmp_path):
    p, path = _prepared("digits", 3, tmp_path)
    assert data.manifest(p, path, {})["split_seed"] == 3


# --------------------------------------------------------------------------- judge_split


def _poisoned(path, out):
    """``path``'s prepared file without its test split: any read of it fails."""
    arrays = _arrays(path)
    arrays["x_test"], arrays["y_test"] = np.zeros((1, 3), np.uint8), np.zeros(7, np.int64)
    with open(out, "wb") as f:
        np.savez(f, **arrays)
    return out


def test_a_val_judged_load_puts_val_where_test_was_and_reads_no_test(tmp_path):
    p, path = _prepared("digits", 0, tmp_path)
    bad = _poisoned(path, tmp_path / "poisoned.npz")
    v = data.load_prepared(bad, "val")
    np.testing.assert_array_equal(v.x_test, p.x_val)
    np.testing.assert_array_equal(v.y_test, p.y_val)
    assert v.notes["judged_split"] == "val"
    assert data.load_prepared(path).x_test.shape == p.x_test.shape  # test stays the default
    with pytest.raises(ValueError, match="judge_split 'train'"):
        data.load_prepared(path, "train")


def test_a_val_judged_fit_never_touches_the_test_arrays(tmp_path):
    """fit_run with judge_split val on a file whose test split is poisoned: the same numbers as
    on the clean file, and its "test" errors are the validation split's."""
    from aebench.runs import fit_run

    _, path = _prepared("digits", 0, tmp_path)
    bad = _poisoned(path, tmp_path / "poisoned.npz")
    spec = parse_model("pca5", {"kind": "pca", "params": {"n_components": 5}}, "digits", {})
    quiet = dict(device="cpu", log=lambda s: None)
    clean = fit_run(spec, path, 0, tmp_path / "clean", {}, judge_split="val", **quiet)
    poisoned = fit_run(spec, bad, 0, tmp_path / "poisoned", {}, judge_split="val", **quiet)
    for k in ("test_sq_err_per_image", "test_mse_per_pixel", "val_sq_err_per_image"):
        assert np.isfinite(poisoned[k]) and poisoned[k] == clean[k]
    assert poisoned["test_sq_err_per_image"] == poisoned["val_sq_err_per_image"]
    assert json.loads((tmp_path / "poisoned" / "run.json").read_text())["judged_split"] == "val"
    # the poison works: a test-judged fit of that file fails
    with pytest.raises(ValueError):
        fit_run(spec, bad, 0, tmp_path / "test", {}, judge_split="test", **quiet)


def test_an_experiment_reads_each_seeds_own_data(tmp_path):
    from aebench.experiments import Context

    (a, pa), (b, pb) = _prepared("digits", 0, tmp_path), _prepared("digits", 1, tmp_path)
    ctx = Context("e3", {0: pa, 1: pb}, {}, None, tmp_path, judge_split="val")
    np.testing.assert_array_equal(ctx.data_of(1).x_train, b.x_train)
    np.testing.assert_array_equal(ctx.data_of(0).x_test, a.x_val)  # val stands in for test
    with pytest.raises(RuntimeError, match="data_of"):
        ctx.data  # noqa: B018 (two seeds, two data sets: the caller must name one)
    with pytest.raises(KeyError, match="seed 2"):
        ctx.data_of(2)


def test_a_val_judged_run_writes_under_results_val(monkeypatch):
    monkeypatch.setenv(paths.JUDGE_SPLIT_ENV, "test")  # restored after the test
    try:
        paths.judge("val")
        assert paths.run("ae30", 1) == "results/val/runs/ae30/seed1"
        assert paths.CLAIMS == "results/val/tables/claims.csv"
        assert paths.data("digits", 1) == "results/val/data/digits/seed1.npz"
        assert paths.raw_root() == "results/data/raw"  # the original files are shared
        paths.judge("test")
        assert paths.CLAIMS == "results/tables/claims.csv"
        assert paths.data("digits", 1) == "results/data/digits/seed1.npz"
        with pytest.raises(ValueError, match="'test' or 'val'"):
            paths.judge("train")
    finally:
        paths.judge("test")


# --------------------------------------------------------------------------- seeds in the config


def _config(**over):
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg.update(over)
    return cfg


def test_confirmation_seeds_are_in_the_config_and_presets_stay_on_development_seeds():
    cfg = aeconfig.load(_config())
    assert cfg.settings.confirmation_seeds == [1930, 5201, 6691, 6856, 7415]
    assert cfg.settings.judge_split == "test"
    quick = yaml.safe_load((ROOT / "workflow/presets/quick.yaml").read_text())
    assert quick["confirmation_seeds"] == [8680, 9513, 9705]
    for seeds in (cfg.seeds, quick["seeds"]):
        assert all(s < 1000 for s in seeds)  # development seeds


def test_a_val_run_on_confirmation_seeds_is_refused():
    with pytest.raises(aeconfig.ConfigError, match=r"seeds \[1930\] are confirmation seeds"):
        aeconfig.load(_config(seeds=[1930], judge_split="val"))
    aeconfig.load(_config(seeds=[1930, 5201], judge_split="test"))  # confirmation: allowed
    aeconfig.load(_config(seeds=[0, 1], judge_split="val"))  # development: allowed


def test_confirmation_seeds_are_never_mixed_with_development_seeds():
    with pytest.raises(aeconfig.ConfigError, match=r"mix confirmation seeds \[1930\] with "
                                                   r"development seeds \[0\]"):
        aeconfig.load(_config(seeds=[0, 1930]))


def test_a_val_run_restores_nothing_from_a_test_judged_publication():
    with pytest.raises(aeconfig.ConfigError, match="drop restore_from"):
        aeconfig.load(_config(judge_split="val", restore_from="results/published/x"))


def test_judge_split_is_test_or_val():
    with pytest.raises(aeconfig.ConfigError, match="judge_split"):
        aeconfig.load(_config(judge_split="train"))


# --------------------------------------------------------------------------- exact baselines


@pytest.fixture(scope="module")
def toytext():
    from aebench.datasets.toytext import prepare_toytext

    return prepare_toytext()[0]


def _fitted(entry, dataset, d, seed):
    m = make(entry, dataset=dataset)
    m.fit(d, seed, {}, log=lambda s: None)
    return m


def _same_up_to_sign(a, b):
    signs = np.sign((a * b).sum(0))
    np.testing.assert_allclose(a, b * signs, rtol=1e-4, atol=1e-5)


def test_lsa_is_exact_and_follows_no_seed(toytext):
    entry = {"kind": "lsa", "params": {"n_components": 5}}
    z0 = _fitted(entry, "toytext", toytext, 0).encode(toytext.x_test)
    z7 = _fitted(entry, "toytext", toytext, 7).encode(toytext.x_test)
    np.testing.assert_array_equal(z0, z7)  # bit for bit: the seed enters nowhere
    # exact: the top singular directions of the train tf-idf matrix (numpy's full SVD)
    m = _fitted(entry, "toytext", toytext, 0)
    _, _, vt = np.linalg.svd(m.features(toytext.x_train).toarray(), full_matrices=False)
    _same_up_to_sign(m.model.components_.T, vt[:5].T)


def test_pca_is_exact_and_follows_no_seed():
    from aebench.datasets.digits import prepare_digits

    d = prepare_digits()[0]
    entry = {"kind": "pca", "params": {"n_components": 6}}
    a, b = _fitted(entry, "digits", d, 0), _fitted(entry, "digits", d, 11)
    np.testing.assert_array_equal(a.encode(d.x_test), b.encode(d.x_test))
    x = d.x_train - d.x_train.mean(0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    _same_up_to_sign(a.basis(), vt[:6].T)
