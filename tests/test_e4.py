"""E4 (text retrieval): the full tf-idf baseline, both protocols' rows, the corpus rows and
the claims file, on the synthetic toytext corpus (seconds)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aebench import claims, datasets, experiments, retrieval
from aebench.experiments.e4_text_retrieval import CORPUS, PROTOCOLS, VALIDATION, recall_name
from aebench.kinds import load_run, make, parse_model
from aebench.runs import fit_run

ROOT = Path(__file__).resolve().parents[1]
DROPPED = {"train": 3, "test": 2}  # a made-up note, as 20news' prepare writes it


@pytest.fixture(scope="module")
def toytext(tmp_path_factory):
    """Toytext saved as the pipeline stores it, with 20news' note on empty documents."""
    p, src, scale = datasets.prepare("toytext", tmp_path_factory.mktemp("raw"), None, False,
                                     n_train=300, n_val=60, n_test=120)
    p.notes = {"full": True, "empty_documents_dropped": DROPPED}
    path = tmp_path_factory.mktemp("data") / "toytext.npz"
    datasets.save_prepared(path, p, scale, src)
    return path


MODELS = {"tfidf": ({"kind": "tfidf"}, [0, 1]),
          "lsa2": ({"kind": "lsa", "params": {"n_components": 2}}, [0, 1]),
          "lsa10": ({"kind": "lsa", "params": {"n_components": 10}}, [0, 1])}


@pytest.fixture(scope="module")
def runs(toytext, tmp_path_factory):
    """Real run directories of E4's baselines, written by the one run writer."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for name, (entry, seeds) in MODELS.items():
        spec = parse_model(name, {**entry, "dataset": "text"}, "toytext", {})
        for seed in seeds:
            fit_run(spec, toytext, seed, root / name / f"seed{seed}", device="cpu",
                    log=lambda s: None)
            out.setdefault(name, {})[seed] = root / name / f"seed{seed}"
    return out


def e4_context(toytext, runs, figures, **params):
    e4 = experiments.EXPERIMENTS["e4"]
    p = e4.Params(models=list(runs), **{"scatter": ["lsa2"], **params})
    return e4, experiments.Context("e4", toytext, runs, p, figures, log=lambda s: None)


# ------------------------------------------------------------------------------ tf-idf kind

def test_tfidf_kind_codes_are_scikit_learns_tfidf_vectors(toytext, runs):
    from sklearn.feature_extraction.text import TfidfTransformer

    data = datasets.load_prepared(toytext)
    model = load_run(runs["tfidf"][0])  # saved and loaded back like any run
    ref = TfidfTransformer().fit(data.x_train)
    for split in ("train", "val", "test"):
        x = data.split(split)[0]
        z = model.encode(x)
        assert z.dtype == np.float32 and z.shape == x.shape  # dense, vocabulary-sized
        np.testing.assert_allclose(z, ref.transform(x).toarray(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-5)  # L2 rows
    with np.load(runs["tfidf"][0] / "codes.npz") as c:  # what E4 reads
        np.testing.assert_array_equal(c["z_test"], model.encode(data.x_test))
    assert (model.decode(z) == z).all()  # the tf-idf space LSA decodes to
    assert json.loads((runs["tfidf"][0] / "metrics.json").read_text())["n_params"] == data.dim


def test_tfidf_kind_takes_no_params_and_is_fitted_on_train_only(toytext):
    with pytest.raises(ValueError, match="unknown param"):
        make({"kind": "tfidf", "params": {"n_components": 10}}, dataset="toytext")
    data = datasets.load_prepared(toytext)
    model = make({"kind": "tfidf"}, dataset="toytext")
    model.fit(data, 0, {}, log=lambda s: None)
    # the idf comes from the train counts: document frequencies of train, not of test
    df = (data.x_train > 0).sum(0)
    n = len(data.x_train)
    np.testing.assert_allclose(model.tfidf.idf_, np.log((1 + n) / (1 + df)) + 1)


# ------------------------------------------------------------------------------ E4's rows

def test_e4_rows_both_protocols_and_the_corpus_rows(toytext, runs, tmp_path):
    e4, ctx = e4_context(toytext, runs, tmp_path / "figures", report_k=[1, 10, 15],
                         recall_levels=[0.1, 0.5, 1.0])
    df = experiments.run("e4", ctx, tmp_path / "metrics.csv")
    assert list(df.columns) == experiments.COLUMNS and set(df.dataset) == {"toytext"}
    v = df.set_index(["model", "seed", "metric"])["value"]
    data = ctx.data
    names = [f"{proto} {m}" for proto in PROTOCOLS
             for m in ["mAP", "P@1", "P@10", "P@15", "P@R=10%", "P@R=50%", "P@R=100%"]]
    names.append(VALIDATION)
    for model, (_, seeds) in MODELS.items():
        for seed in seeds:
            got = df[(df.model == model) & (df.seed == seed)].metric.tolist()
            assert got == names  # protocol by protocol; P@10 although it is no curve point
            with np.load(runs[model][seed] / "codes.npz") as c:
                zt, ztr, zv = c["z_test"], c["z_train"], c["z_val"]
            a = retrieval.evaluate(zt, data.y_test, ztr, data.y_train, "cosine", ks=(1, 10),
                                   recall_levels=(0.5,))
            b = retrieval.evaluate(zt, data.y_test, zt, data.y_test, "cosine", ks=(1, 10),
                                   exclude_self=True, recall_levels=(0.5,))
            for proto, r in (("test→train", a), ("test→test", b)):
                got = {m: v[model, seed, f"{proto} {m}"]
                       for m in ("mAP", "P@1", "P@10", "P@R=50%")}
                assert got == pytest.approx({"mAP": r.mean_ap, "P@1": r.precision_at[1],
                                             "P@10": r.precision_at[10],
                                             "P@R=50%": r.precision_at_recall[0.5]}, rel=1e-12)
            # validation documents querying train: the score settings are chosen on
            val = retrieval.evaluate(zv, data.y_val, ztr, data.y_train, "cosine")
            assert v[model, seed, VALIDATION] == pytest.approx(val.mean_ap, rel=1e-12)
            assert v[model, seed, VALIDATION] != v[model, seed, "test→train mAP"]
            # the query itself excluded: AP on the others only, not inflated by a sure hit
            with_self = retrieval.evaluate(zt, data.y_test, zt.copy(), data.y_test, "cosine")
            assert with_self.mean_ap > b.mean_ap
    # the full vectors retrieve better than a 2-D reduction, both protocols, and than chance
    for proto in PROTOCOLS:
        assert v["tfidf", 0, f"{proto} mAP"] > v["lsa2", 0, f"{proto} mAP"]
        assert v["tfidf", 0, f"{proto} mAP"] > 2 * v[CORPUS, 0, f"{proto} chance"]
    # corpus rows: the chance floors (the database's class prior, mean over queries) and
    # the dataset's note on empty documents
    corpus = df[df.model == CORPUS]
    assert set(corpus.seed) == {0}
    assert corpus.metric.tolist() == ["test→train chance", "test→test chance",
                                      "empty_documents_dropped_train",
                                      "empty_documents_dropped_test"]
    prior_train = np.mean([(data.y_train == y).mean() for y in data.y_test])
    n_test = len(data.y_test)
    prior_loo = np.mean([((data.y_test == y).sum() - 1) / (n_test - 1) for y in data.y_test])
    assert v[CORPUS, 0, "test→train chance"] == pytest.approx(prior_train, rel=1e-12)
    assert v[CORPUS, 0, "test→test chance"] == pytest.approx(prior_loo, rel=1e-12)
    assert v[CORPUS, 0, "empty_documents_dropped_train"] == 3
    assert v[CORPUS, 0, "empty_documents_dropped_test"] == 2
    # curves: both protocols, the curve's points only (1, 3, 7, ...), the chance floor beside
    curve = pd.read_csv(tmp_path / "figures" / "precision_recall.csv")
    assert list(curve.columns) == ["protocol", "model", "seed", "retrieved", "precision",
                                   "recall", "chance"]
    assert list(dict.fromkeys(curve.protocol)) == list(PROTOCOLS)
    loo = curve[(curve.protocol == "test→test") & (curve.model == "lsa10") & (curve.seed == 0)]
    assert loo.retrieved.tolist() == [1, 3, 7, 15, 31, 63]  # 119 other test documents
    assert loo.chance.iloc[0] == pytest.approx(prior_loo)
    assert 10 not in set(curve.retrieved)
    for f in ("precision_recall.png", "codes_2d.png"):
        assert (tmp_path / "figures" / f).stat().st_size > 0


def test_e4_without_the_note_gives_only_the_chance_rows(toytext, runs, tmp_path):
    e4, ctx = e4_context(toytext, {"lsa2": runs["lsa2"]}, tmp_path / "figures")
    ctx._data = datasets.load_prepared(toytext)
    ctx._data.notes = {"full": True}  # toytext's own prepare drops nothing and says nothing
    df = pd.DataFrame(e4.run(ctx))
    assert df[df.model == CORPUS].metric.tolist() == ["test→train chance", "test→test chance"]
    # the default table levels
    assert f"test→test {recall_name(0.01)}" == "test→test P@R=1%"
    assert "test→test P@R=1%" in set(df.metric) and "test→train P@127" in set(df.metric)


def test_e4_captions_and_config_names(tmp_path):
    e4 = experiments.EXPERIMENTS["e4"]
    p = e4.Params(models=["lsa10"], report_k=[1, 15], recall_levels=[0.1, 0.5])
    caption = e4.table_caption.format(p=p, **e4.caption_values(p))
    assert "precision at 1 and 15 retrieved" in caption and "reaches 10% and 50%" in caption
    for name, text in e4.figures.items():
        text.format(p=p, **e4.caption_values(p))
    with pytest.raises(ValueError, match="corpus"):
        e4.check(e4.Params(models=["corpus"]), None)


# ------------------------------------------------------------------------------ claims

def _claims():
    return claims.load(ROOT / "workflow" / "claims" / "e4.yaml")


def test_every_e4_claim_names_metrics_e4_writes():
    e4 = experiments.EXPERIMENTS["e4"]
    p = e4.Params(models=["x"])
    written = {f"{proto} {m}" for proto in PROTOCOLS
               for m in ["mAP", *(f"P@{k}" for k in p.report_k),
                         *(recall_name(lv) for lv in p.recall_levels)]}
    for c in _claims():
        # each judged on the setting its id says: 20news, or with headers kept (.headers)
        setting = "20news_headers" if c["id"].endswith(".headers") else "20news"
        assert c["experiment"] == "e4" and c["dataset"] == setting, c["id"]
        assert all(m.endswith(".20news_headers") == (setting == "20news_headers")
                   for k in claims.checks_of(c) for m in (k["of"], k["model"])), c["id"]
        for k in claims.checks_of(c):
            assert k["metric"] in written, (c["id"], k["metric"])
            assert k.get("other_metric", k["metric"]) in written
    protos = {c["id"]: {k["metric"].split(" ")[0] for k in claims.checks_of(c)}
              for c in _claims()}
    # both protocols judged for both LSA claims
    for base in ("E4.ae10_vs_lsa10", "E4.ae10_vs_lsa50"):
        assert set().union(*(v for k, v in protos.items() if k.startswith(base))) == set(PROTOCOLS)


def _long(values: dict) -> pd.DataFrame:
    """values[(model, metric)] = per-seed list -> the long metrics rows E4 writes."""
    return pd.DataFrame([{"experiment": "e4", "dataset": "20news", "model": m, "seed": s,
                          "metric": metric, "value": x}
                         for (m, metric), xs in values.items() for s, x in enumerate(xs)])


def _own_claims():
    """The claims on E4's own 20news (the .headers ones are judged on the copies)."""
    return [c for c in _claims() if not c["id"].endswith(".headers")]


def test_e4_claims_verdicts_on_made_up_rows():
    ae = [0.300, 0.305, 0.310]
    values = {}
    for proto in PROTOCOLS:
        m = f"{proto} mAP"
        values.update({("text_ae10", m): ae, ("lsa10", m): [0.25, 0.251, 0.252],
                       # LSA-50 a hair below AE-10 (margin 0: judged as the source states it)
                       ("lsa50", m): [x - 0.004 for x in ae],
                       ("text_ae10_scratch", m): [0.2, 0.21, 0.205]})
    t = claims.evaluate(_own_claims(), _long(values)).set_index("id")
    assert (t.verdict == "PASS").all(), t[["verdict", "reason"]]
    # AE-10 clearly below LSA-50: FAIL
    for proto in PROTOCOLS:
        values["lsa50", f"{proto} mAP"] = [x + 0.05 for x in ae]
    t = claims.evaluate(_own_claims(), _long(values)).set_index("id")
    lsa50 = [i for i in t.index if i.startswith("E4.ae10_vs_lsa50")]
    assert len(lsa50) == 2 and (t.loc[lsa50, "verdict"] == "FAIL").all()
    # without the random-init control in the run, its claim is not judged
    for proto in PROTOCOLS:
        del values["text_ae10_scratch", f"{proto} mAP"]
    t = claims.evaluate(_own_claims(), _long(values)).set_index("id")
    assert t.loc["E4.pretraining", "verdict"].startswith(claims.NOT_JUDGED)


def test_e4_claims_file_is_well_formed():
    raw = yaml.safe_load((ROOT / "workflow" / "claims" / "e4.yaml").read_text())["claims"]
    ids = [c["id"] for c in raw]
    assert len(ids) == len(set(ids))
    for c in raw:
        assert {"id", "experiment", "dataset", "claim", "model", "metric", "source"} <= set(c)
        assert ("check" in c) != ("checks" in c)


# ---------------------------------------------------- E4 again on another text dataset (also_on)

OTHER = "20news_headers"  # the name E4's copies carry; here a smaller toytext stands in for it


@pytest.fixture(scope="module")
def copies(toytext, tmp_path_factory):
    """``experiments.e4.also_on: [20news_headers]`` as the workflow lays it out: the other
    dataset's file beside E4's own (here a smaller toytext, 80 test documents instead of 120,
    so that measuring a copy on the wrong data cannot pass), and each model's copy fitted on it."""
    p, src, scale = datasets.prepare("toytext", tmp_path_factory.mktemp("raw2"), None, False,
                                     n_train=200, n_val=40, n_test=80)
    p.notes = {"full": True, "empty_documents_dropped": {"train": 1, "test": 0}}
    other = toytext.parent / f"{OTHER}.npz"
    datasets.save_prepared(other, p, scale, src)
    root = tmp_path_factory.mktemp("copies")
    out = {}
    for name, (entry, seeds) in MODELS.items():
        copy = experiments.copy_name(name, OTHER)
        spec = parse_model(copy, {**entry, "dataset": "text"}, OTHER, {})
        for seed in seeds:
            fit_run(spec, other, seed, root / copy / f"seed{seed}", device="cpu",
                    log=lambda s: None)
            out.setdefault(copy, {})[seed] = root / copy / f"seed{seed}"
    return other, out


def test_e4_also_on_measures_each_copy_on_its_own_data(toytext, runs, copies, tmp_path):
    """E4's own rows stay what they were; each copy is measured on its dataset (both
    protocols, the same metrics), its rows named after it and carrying that dataset."""
    other, copy_runs = copies
    _, plain = e4_context(toytext, runs, tmp_path / "plain")
    before = experiments.run("e4", plain, tmp_path / "plain.csv")
    e4 = experiments.EXPERIMENTS["e4"]
    ctx = experiments.Context("e4", toytext, {**runs, **copy_runs},
                              e4.Params(models=list(runs), scatter=["lsa2"]),
                              tmp_path / "figures", log=lambda s: None)
    df = experiments.run("e4", ctx, tmp_path / "metrics.csv")
    own = df[df.dataset == "toytext"].reset_index(drop=True)
    pd.testing.assert_frame_equal(own, before)  # the default's rows, unchanged
    mine = df[df.dataset == OTHER]
    assert set(mine.model) == {*copy_runs, f"{CORPUS}.{OTHER}"}
    data = datasets.load_prepared(other)
    v = mine.set_index(["model", "seed", "metric"])["value"]
    for name, seeds in copy_runs.items():
        for seed, run in seeds.items():
            assert mine[(mine.model == name) & (mine.seed == seed)].metric.tolist() == \
                before[(before.model == name.split(".")[0]) & (before.seed == seed)].metric.tolist()
            with np.load(run / "codes.npz") as c:
                zt = c["z_test"]
            r = retrieval.evaluate(zt, data.y_test, zt, data.y_test, "cosine", exclude_self=True)
            assert v[name, seed, "test→test mAP"] == pytest.approx(r.mean_ap, rel=1e-12)
    assert v[f"{CORPUS}.{OTHER}", 0, "empty_documents_dropped_train"] == 1
    # the curves: a panel per protocol and dataset, each model one colour (its own name)
    curve = pd.read_csv(tmp_path / "figures" / "precision_recall.csv")
    assert list(dict.fromkeys(curve.protocol)) == [*PROTOCOLS, *(f"{p}, {OTHER}" for p in PROTOCOLS)]
    assert set(curve.model) == set(runs)


def test_e4_claims_on_the_headers_setting_read_the_copies():
    """The .headers claims are judged on the copies' rows alone (the `data` column says so);
    without the copies they are n/a, and the claims of E4's own setting are what they were."""
    ae = [0.300, 0.305, 0.310]
    own, copy = {}, {}
    for proto in PROTOCOLS:
        m = f"{proto} mAP"
        own.update({("text_ae10", m): ae, ("lsa10", m): [0.25, 0.251, 0.252],
                    ("lsa50", m): [0.26, 0.262, 0.261], ("text_ae10_scratch", m): [0.2, 0.21, 0.205]})
        # with headers kept LSA-50 wins: the copies' claims FAIL while E4's own PASS
        copy.update({(f"text_ae10.{OTHER}", m): ae, (f"lsa10.{OTHER}", m): [0.25, 0.251, 0.252],
                     (f"lsa50.{OTHER}", m): [x + 0.05 for x in ae],
                     (f"text_ae10_scratch.{OTHER}", m): [0.2, 0.21, 0.205]})
    rows = pd.concat([_long(own), _long(copy).assign(dataset=OTHER)], ignore_index=True)
    t = claims.evaluate(_claims(), rows).set_index("id")
    headers = [c["id"] for c in _claims() if c["id"].endswith(".headers")]
    assert len(headers) == len(_own_claims()) == 5
    assert (t.loc[[c["id"] for c in _own_claims()], "verdict"] == "PASS").all()
    assert (t.loc[[c["id"] for c in _own_claims()], "data"] == "20news").all()
    assert (t.loc[headers, "data"] == OTHER).all()
    assert t.loc["E4.ae10_vs_lsa10.headers", "verdict"] == "PASS"
    assert t.loc["E4.pretraining.headers", "verdict"] == "PASS"
    assert (t.loc[["E4.ae10_vs_lsa50.headers", "E4.ae10_vs_lsa50.test_train.headers"],
                  "verdict"] == "FAIL").all()
    # a run without the setting: the same rows for E4's own claims, n/a for the copies'
    alone = claims.evaluate(_claims(), _long(own)).set_index("id")
    assert alone.loc[headers, "verdict"].str.startswith(claims.NOT_JUDGED).all()
    assert (alone.loc[headers, "data"] == OTHER).all()
    only_own = claims.evaluate(_own_claims(), _long(own)).set_index("id")
    pd.testing.assert_frame_equal(alone.drop(index=headers)[["verdict", "ours", "data"]],
                                  only_own[["verdict", "ours", "data"]])


def test_the_dry_run_has_e4s_jobs_of_both_settings_only_when_enabled(tmp_path, mirror):
    """The quick preset's DAG: with `experiments.e4.also_on: [20news_headers]` (config.yaml's
    default) the copies' fits and their prepared data (per seed) join, and E4's step reads
    both; with `also_on: []` the DAG has none of them."""
    import shutil
    import subprocess
    import sys

    for item in ("Snakefile", "config.yaml"):
        shutil.copy(ROOT / item, tmp_path / item)
    shutil.copytree(ROOT / "workflow", tmp_path / "workflow",
                    ignore=shutil.ignore_patterns("__pycache__"))

    def jobs(*extra):
        r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1",
                            "--configfile", "workflow/presets/quick.yaml", "--config",
                            f"data_mirror={mirror}", *extra], cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        lines = r.stdout.splitlines()
        wild = {ln.split("wildcards: ", 1)[1] for ln in lines if "wildcards: " in ln}
        # E4's step: the input line just above its output line
        at = next(i for i, ln in enumerate(lines) if "output: results/e4/metrics.csv" in ln)
        assert "input: " in lines[at - 1]
        return wild, lines[at - 1]

    off, e4_off = jobs("experiments={e4: {also_on: []}}")
    on, e4_on = jobs()
    assert not [w for w in off if OTHER in w] and OTHER not in e4_off
    seeds = (0, 1, 2)  # the quick preset's
    own = ["tfidf", "lsa2", "lsa10", "lsa50", "text_ae2", "text_ae10", "text_ae10_scratch"]
    assert on - off == {f"dataset={OTHER}, seed={s}" for s in seeds} | {
        f"model={m}.{OTHER}, seed={s}" for m in own for s in seeds}
    assert off <= on
    for s in seeds:
        assert f"results/data/20news/seed{s}.npz" in e4_on
        assert f"results/data/{OTHER}/seed{s}.npz" in e4_on and f"runs/text_ae10.{OTHER}/seed{s}" in e4_on
