"""E4 (slides 6-7): document retrieval with LSA vs deep AE codes (Hinton & Salakhutdinov 2006).

Documents are ranked by cosine similarity of their codes; a retrieved document is relevant
when it has the query's newsgroup. Two protocols, both reported for every model:

* ``test→train``: every test document queries the train set;
* ``test→test``: every test document queries all the other test documents (leave-one-out,
  the query itself excluded): Hinton & Salakhutdinov's protocol, the one their Fig. 4
  anchor was measured with.

Per protocol: tie-aware mAP over the full ranking, precision at 1, 3, 7, 15, ... retrieved
(the paper's x axis: the curves) and at ``report_k`` (the table), and precision where recall
first reaches each of ``recall_levels`` (aebench.retrieval documents both conventions).
Metric names carry the protocol: ``test→train mAP``, ``test→test P@15``, ``test→test
P@R=10%``. Beside them, ``val→train mAP``: the validation documents querying the train set,
the score E4's settings are chosen on (the RSM's rates, the quick preset's corpus size); no
claim reads it, and test data choose nothing. The chance floor of each protocol (the class prior of the database: the fraction
of it in the query's class, mean over queries; a random ranking's precision at any k) and
the corpus' dropped empty documents are rows of the model ``corpus``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..datasets import DATASETS
from . import Experiment, copy_name, rows, subset_of_models

# name -> leave-one-out (the test set queries itself) or not (the test set queries train)
PROTOCOLS = {"test→train": False, "test→test": True}
VALIDATION = "val→train mAP"  # the score settings are chosen on
CORPUS = "corpus"  # the model name of the rows that describe the data, not a model


def cutoffs(n: int) -> list[int]:
    """1, 3, 7, 15, 31, ... up to the database size."""
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k = 2 * k + 1
    return ks


def recall_name(level: float) -> str:
    """P@R=10% for 0.1: precision where recall first reaches the level."""
    return f"P@R={100 * level:g}%"


@dataclass
class Params:
    models: list[str] = field(metadata={"schema": {"minItems": 1}})
    # precision at these numbers retrieved go in the table
    report_k: list[int] = field(default_factory=lambda: [1, 15, 127],
                                metadata={"schema": {"items": {"type": "integer", "minimum": 1}}})
    # precision where recall first reaches these levels go in the table
    recall_levels: list[float] = field(
        default_factory=lambda: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0],
        metadata={"schema": {"items": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}}})
    scatter: list[str] = field(default_factory=list)  # 2-D models shown side by side


class E4(Experiment):
    name = "e4"
    title = "text retrieval"
    lecture = "slides 6-7"
    Params = Params
    threads = "baseline"
    resources = {"mem_mb": 6000, "runtime": 60}
    # `experiments.e4.also_on: [20news_headers]`: E4 again on 20news with headers kept
    other_data_kind = "text"
    table_caption = (
        "Document retrieval on 20 Newsgroups by cosine similarity of the codes; relevant = same "
        "newsgroup. Two protocols: test→train (each test document queries the train set) and "
        "test→test (each test document queries all the other test documents: Hinton & "
        "Salakhutdinov's protocol). Per protocol: mAP over the full ranking, precision at {ks} "
        "retrieved (P@k) and precision where recall first reaches {levels} (P@R), all "
        "tie-aware, mean ± 95% CI over seeds; val→train mAP: validation documents querying the "
        "train set, the score settings are chosen on (no claim reads it). tfidf = the full tf-idf vectors "
        "(no reduction: the reference every reduction is measured against); LSA-k = TruncatedSVD "
        "of tf-idf; AE-k = Hinton & Salakhutdinov's document AE 2000-500-250-125-k: word counts "
        "in (the first layer's bias scaled by the document's length), a softmax over words out, "
        "pre-trained as a stack (a replicated-softmax RBM at the bottom, Bernoulli RBMs above, "
        "linear code units on top), unrolled and fine-tuned on the cross-entropy with each "
        "document's word distribution (text_ae10_scratch: the same net from random weights). Row "
        "corpus: the chance floor of each protocol (the database's class prior, mean over "
        "queries) and the documents with none of the vocabulary's words dropped from each split "
        "of the whole corpus before any subset was drawn.")
    figures = {
        "precision_recall.png": (
            "Precision against recall at 1, 3, 7, 15, ... retrieved documents, mean over seeds "
            "(the axes of Hinton & Salakhutdinov 2006, Fig. 4), one panel per protocol: test "
            "documents querying the train set, and querying each other (leave-one-out, the "
            "paper's protocol); the dashed line is chance (the class prior). The claim: the "
            "10-D autoencoder code beats LSA-10, and even LSA-50."),
        "codes_2d.png": (
            "2-D codes of the test documents, coloured by newsgroup: LSA-2 vs the deep AE with a "
            "2-D code (first seed); the lecture's slide 7."),
    }

    def caption_values(self, p) -> dict:
        def listed(xs):
            return ", ".join(xs[:-1]) + " and " + xs[-1] if len(xs) > 1 else "".join(xs)

        return {"ks": listed([str(k) for k in p.report_k]) or "no numbers",
                "levels": listed([recall_name(lv)[4:] for lv in p.recall_levels]) or "no levels"}

    def check(self, p, cfg):
        subset_of_models(p, "scatter")
        if CORPUS in p.models:
            raise ValueError(f"models: {CORPUS!r} names E4's data rows; rename the model")

    def run(self, ctx):
        import pandas as pd

        from .. import retrieval
        from ..plots import code_scatter, precision_recall_plot

        p = ctx.params
        out, curve = [], []
        # its own dataset, then each `also_on` one (the copies of its models fitted there):
        # their rows carry that dataset, their curves a panel of their own
        for dataset in [None, *also_on(ctx, p.models)]:
            names = {m: m if dataset is None else copy_name(m, dataset) for m in p.models}
            o, c, d = self.measure(ctx, p, names, dataset, retrieval)
            if dataset is not None:
                o = [{**r, "dataset": dataset} for r in o]
                c = [{**r, "protocol": f"{r['protocol']}, {dataset}"} for r in c]
            out += o
            curve += c
            if dataset is None:
                own = d  # the scatter's labels
        curve = pd.DataFrame(curve)
        curve.to_csv(ctx.figure("precision_recall.csv"), index=False)
        precision_recall_plot(curve, ctx.figure("precision_recall.png"))
        panels = {}
        for model in p.scatter:
            seed = ctx.seeds(model)[0]
            panels[model] = (ctx.codes(model, seed)["z_test"], ctx.data_of(seed).y_test)
        code_scatter(panels, ctx.figure("codes_2d.png"), labels=own.classes)
        return out

    def measure(self, ctx, p, names: dict[str, str], dataset, retrieval):
        """Rows and curve points of ``p.models`` on ``dataset`` (None: E4's own), each read from
        its run ``names[model]`` (a copy's rows are named after it, its curve after the model),
        under both protocols; and the data last read."""
        out, curve, chance = [], [], {}
        for model in p.models:
            run = names[model]
            for seed in ctx.seeds(run):
                c, d = ctx.codes(run, seed), ctx.data_of(seed, dataset)
                for proto, loo in PROTOCOLS.items():
                    if loo:
                        q = db = c["z_test"]
                        yq = ydb = d.y_test
                    else:
                        q, yq, db, ydb = c["z_test"], d.y_test, c["z_train"], d.y_train
                    ks = cutoffs(len(ydb) - loo)  # the curve's points
                    r = retrieval.evaluate(q, yq, db, ydb, "cosine", ks={*ks, *p.report_k},
                                           n_top=1,
                                           device=ctx.device, exclude_self=loo,
                                           recall_levels=p.recall_levels)
                    chance[proto] = r.chance
                    out += rows(run, seed, {
                        f"{proto} mAP": r.mean_ap,
                        **{f"{proto} P@{k}": v for k, v in r.precision_at.items()
                           if k in p.report_k},
                        **{f"{proto} {recall_name(lv)}": v
                           for lv, v in r.precision_at_recall.items()}})
                    curve += [{"protocol": proto, "model": model, "seed": seed, "retrieved": k,
                               "precision": r.precision_at[k], "recall": r.recall_at[k],
                               "chance": r.chance} for k in ks]
                    ctx.log(f"{run} seed {seed} {proto}: mAP {r.mean_ap:.4f} "
                            f"(chance {r.chance:.4f})")
                r = retrieval.evaluate(c["z_val"], d.y_val, c["z_train"], d.y_train, "cosine",
                                       ks={1}, n_top=1, device=ctx.device)
                out += rows(run, seed, {VALIDATION: r.mean_ap})
                ctx.log(f"{run} seed {seed} {VALIDATION} {r.mean_ap:.4f}")
        # the chance floors of the last seed measured; the dropped documents are every seed's
        out += corpus_rows(d, chance, CORPUS if dataset is None else copy_name(CORPUS, dataset))
        return out, curve, d


def also_on(ctx, models: list[str]) -> list[str]:
    """The datasets of the copies of ``models`` among the context's runs (config
    ``experiments.e4.also_on``; the workflow passes their runs beside E4's own), in order."""
    found = []
    for run in ctx.models:
        for m in models:
            if run.startswith(m + ".") and run not in models:
                d = run[len(m) + 1:]
                if d in DATASETS and d not in found:
                    found.append(d)
    return found


def corpus_rows(data, chance: dict[str, float], name: str = CORPUS) -> list[dict]:
    """The rows of the model ``corpus`` (seed 0): each protocol's chance floor, and the empty
    documents the dataset dropped per split (20news' notes; datasets without the note, like
    the synthetic toytext, drop none and give no such rows)."""
    values = {f"{proto} chance": v for proto, v in chance.items()}
    dropped = (data.notes or {}).get("empty_documents_dropped") or {}
    values.update({f"empty_documents_dropped_{split}": n for split, n in dropped.items()})
    return rows(name, 0, values)
