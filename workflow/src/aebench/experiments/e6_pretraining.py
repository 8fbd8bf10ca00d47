"""E6 (slides 11-13): pre-training a deep classifier, across label budgets.

E6 derives its own models: per init a stack (kind ``stack``: greedy layer-wise pre-training
on every training image, unlabelled) and per init and budget a classifier fine-tuned from it
(kind ``classifier``), so pre-training runs once per (init, seed) and every budget reuses it.
A budget counts every label its classifier uses, early stopping's included
(:func:`aebench.finetune.label_split`); the figure's axis is that total.
Per init and seed: ``test_error_pct@<budget>``; for each pre-training init the paired gain
over the reference (random) init, ``gain_pct@<budget>`` = reference error - its error with
the same seed, hence the same labelled subset (positive: pre-training helps);
``gain_pct@fewest``, the same number at the smallest budget (an alias, so that a claim can
name it whatever the budgets are); and, with two budgets or more,
``gain_few_minus_many_pct``, the gain at the smallest budget minus the gain at the largest
(positive: pre-training helps most with few labels, Erhan et al. 2010). The same gains relative
to the reference's error, in % of it: ``rel_gain_pct@<budget>``, ``rel_gain_pct@fewest`` and
``rel_gain_few_minus_many_pct`` (a point at 100 labels, where errors are ten times larger, is
not a point with all labels: "helps most" is judged relative).

``anchor_nets``: the nets published anchors were measured on (Hinton & Salakhutdinov's
784-500-500-2000-10 DBN, a shallow 784-800-10 net from random weights), each pre-trained by one
of ``inits`` with its own RBM and fine-tuning settings, fine-tuned with one budget, optionally
refit on every label for the chosen epoch count (their protocol): ``test_error_pct@<budget>``
under the net's name, compared with no init (the anchor claims judge them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Literal

from ..finetune import VAL_FRACTION
from ..pretrain import INITS
from ..spec import InitSpec, RBMConfig, TrainConfig
from . import Experiment, rows


@dataclass
class InitEntry:
    kind: str
    params: dict = field(default_factory=dict)


@dataclass
class AnchorNet:
    hidden: list[int] = field(metadata={"schema": {"minItems": 1}})  # sigmoid hidden layers
    init: str  # a name of `inits`: how its layers are pre-trained
    budget: int | Literal["all"] = "all"
    rbm: dict = field(default_factory=dict)  # over the init's RBM settings (the source's)
    finetune: dict = field(default_factory=dict)  # over E6's `finetune` (the source's recipe)
    refit: bool = False  # retrain on every label for the epoch count chosen on validation


@dataclass
class Params:
    hidden: list[int] = field(metadata={"schema": {"minItems": 1}})  # sigmoid hidden layers
    # Labels for fine-tuning, early stopping's included (the rule: aebench.finetune.label_split)
    budgets: list[int | Literal["all"]] = field(metadata={"schema": {"minItems": 1, "uniqueItems": True}})
    reference: str  # the init every pre-training is compared with (paired by seed)
    inits: dict[str, InitEntry] = field(metadata={"schema": {"minProperties": 1}})
    pretrain: TrainConfig  # AE layers' training
    rbm: RBMConfig  # RBM layers' CD-1 settings (an init's params override them)
    finetune: TrainConfig
    min_epoch_samples: int = field(default=0, metadata={"schema": {"minimum": 0}})
    # share of a numeric budget held out for early stopping (why a fifth: VAL_FRACTION)
    val_fraction: float = field(default=VAL_FRACTION, metadata={
        "schema": {"exclusiveMinimum": 0, "exclusiveMaximum": 1}})
    # Equal tuning: fine-tuning settings (keys of `finetune`) -> values to try; every init and
    # budget tries every combination and keeps the one with the lowest validation error
    # (aebench.finetune.tune), so no init gets more tuning than another. {}: `finetune` as is.
    finetune_grid: dict[str, list[float]] = field(default_factory=dict)
    # name -> a net a published anchor was measured on (AnchorNet; judged by the anchor claims)
    anchor_nets: dict[str, AnchorNet] = field(default_factory=dict)
    # false: skip the anchor nets (a preset on subsets, where their claims are not judged;
    # a preset cannot remove config.yaml's entries, the config files merge)
    run_anchor_nets: bool = True

    def __post_init__(self):
        self.inits = {k: v if isinstance(v, InitEntry) else InitEntry(**v) for k, v in self.inits.items()}
        self.anchor_nets = {k: v if isinstance(v, AnchorNet) else AnchorNet(**v)
                            for k, v in self.anchor_nets.items()}
        for key in ("pretrain", "finetune"):
            v = getattr(self, key)
            setattr(self, key, v if isinstance(v, TrainConfig) else TrainConfig.from_dict(v))
        if isinstance(self.rbm, dict):
            self.rbm = RBMConfig(**self.rbm)

    @cached_property
    def init_specs(self) -> dict[str, InitSpec]:
        """Each init parsed once (ValueError naming it), its RBM settings over ``rbm``."""
        return {name: InitSpec.parse(asdict(entry), f"inits.{name}", INITS,
                                     rbm_defaults=asdict(self.rbm))
                for name, entry in self.inits.items()}

    @cached_property
    def anchor_specs(self) -> dict[str, tuple[InitSpec, TrainConfig]]:
        """Each anchor net's init (its `rbm` over the init's settings) and fine-tuning; none
        with ``run_anchor_nets: false``."""
        out = {}
        for name, net in self.anchor_nets.items() if self.run_anchor_nets else ():
            if net.init not in self.inits:
                raise ValueError(f"anchor_nets.{name}.init: {net.init!r} is not one of inits "
                                 f"{sorted(self.inits)}")
            entry = asdict(self.inits[net.init])
            init = InitSpec.parse(entry, f"anchor_nets.{name}", INITS,
                                  rbm_defaults={**asdict(self.rbm), **net.rbm})
            if net.rbm and init.kind != "rbm":
                raise ValueError(f"anchor_nets.{name}.rbm: its init {net.init!r} is no RBM")
            out[name] = (init, self.finetune.over(net.finetune, f"anchor_nets.{name}.finetune"))
        return out


def stack_model(init: str) -> str:
    return f"e6_{init}"


def classifier_model(init: str, budget) -> str:
    return f"e6_{init}_n{budget}"


class E6(Experiment):
    name = "e6"
    title = "pre-training"
    lecture = "slides 11-13"
    Params = Params
    figures = {"finetune_curves.png": (
        "Fine-tuning curves: each classifier's validation error (solid) and training error "
        "(dashed, on up to 10,000 of its training labels), in %, per epoch of the trial "
        "the tuning grid kept; one panel per label budget, one colour per initialisation, one "
        "line per seed. Early stopping watches the validation error (its cross-entropy "
        "breaking ties) and restores the best epoch."),
        "error_vs_budget.png": (
        "Left: test error (%) of the fine-tuned classifier against the number of labels it "
        "used, early stopping's included (training + early-stopping labels; log scale), one "
        "line per initialisation, mean ± 95% CI over seeds. "
        "Right: the paired error reduction over the random init (percentage points; same seeds "
        "and labelled subsets), above 0 where pre-training helps.")}
    table_caption = (
        "Pre-training a deep classifier (slides 11-13): input-{hidden}-10, sigmoid hidden units, "
        "fine-tuned as a whole with labels. Rows are initialisations (experiments.e6.inits): "
        "**random** (PyTorch's default init, the control); **sae**, greedy layer-wise AEs (each "
        "layer an AE n-h-n with a sigmoid code and an L1 penalty on it, trained on the codes of "
        "the frozen layers below); **sdae**, the same with masking-noise denoising AEs; **dbn**, "
        "stacked RBMs trained by CD-1 (a torch RBM rather than scikit-learn's BernoulliRBM: it "
        "runs on the training rule's GPU, which makes the 60k-image, 1000-unit DBN fast, and uses "
        "Hinton's momentum and weight decay). Pre-training uses every training image without "
        "labels (one cached job per init and seed); fine-tuning uses class-balanced label "
        "budgets {p.budgets}, each counting every label used, early stopping's included: a "
        "budget of B is B labelled training images, of which a class-balanced {val_pct} (at "
        "least one per class) is held out to early-stop on the validation cross-entropy and "
        "the rest is trained on; ``all`` is every training label plus the validation split to "
        "early-stop on, and counts both. A number in a metric name is such a total, and the "
        "figure's axis is each budget's total (``n_labels`` in the classifiers' metrics.json). "
        "The subsets depend on the seed only, so all inits of a seed "
        "see the same images. ``test_error_pct@<budget>``: test error in %; "
        "``gain_pct@<budget>``: the paired error reduction over the random init (same seed, "
        "same labelled subset; positive = pre-training helps); ``gain_pct@fewest``: the same "
        "at the smallest budget; ``gain_few_minus_many_pct``: the gain at the smallest budget "
        "minus the gain at the largest (positive = the gain is largest with few labels, as "
        "Erhan et al. 2010 report). Mean ± 95% CI (Student t) over seeds. Anchors on full "
        "MNIST: Hinton & Salakhutdinov 2006 (Science) 1.2% pre-trained vs 1.6% random init "
        "(1.4% SVM); Theano deep learning tutorials SdA 1.30%, DBN 1.34%, MLP 1.65%.")

    # test errors come from the classifiers' metrics.json: a run spread over machines keeps
    # each finished classifier (aebench.runctl.restore.restore_plan), not only a finished E6
    reads = ()

    def caption_values(self, p) -> dict:
        return {"hidden": "-".join(map(str, p.hidden)), "val_pct": f"{p.val_fraction:.0%}"}

    def models(self, p):
        return ([classifier_model(i, b) for i in p.inits for b in p.budgets]
                + [classifier_model(n, p.anchor_nets[n].budget) for n in p.anchor_specs])

    def derived_models(self, p, config):
        from ..datasets import of_model
        from ..kinds.classifier import Classifier
        from ..kinds.stack import StackKind

        dataset = of_model(config, {})  # the image dataset
        out = {}
        for init, spec in p.init_specs.items():
            out[stack_model(init)] = StackKind.spec(stack_model(init), dataset, spec, p.hidden,
                                                    p.pretrain)
            for b in p.budgets:
                out[classifier_model(init, b)] = Classifier.spec(
                    classifier_model(init, b), dataset, p.finetune, stack_model(init), b,
                    p.min_epoch_samples, p.val_fraction, p.finetune_grid)
        for name, (init, finetune) in p.anchor_specs.items():
            net = p.anchor_nets[name]
            out[stack_model(name)] = StackKind.spec(stack_model(name), dataset, init, net.hidden,
                                                    p.pretrain)
            out[classifier_model(name, net.budget)] = Classifier.spec(
                classifier_model(name, net.budget), dataset, finetune, stack_model(name),
                net.budget, p.min_epoch_samples, p.val_fraction, p.finetune_grid, net.refit)
        return out

    def check(self, p, cfg):
        bad = [i for i in p.inits if not i.isidentifier()]
        if bad:
            raise ValueError(f"inits: names {bad} must be letters, digits and underscores "
                             "(they become file names)")
        if p.reference not in p.inits:
            raise ValueError(f"reference {p.reference!r} is not one of its inits {sorted(p.inits)}")
        p.init_specs  # parses every init: a bad one stops the run here, named
        clash = sorted(set(p.anchor_nets) & set(p.inits))
        bad = [n for n in p.anchor_nets if not n.isidentifier()]
        if clash or bad:
            raise ValueError(f"anchor_nets: names {clash or bad} must differ from the inits' and "
                             "be letters, digits and underscores (they become model names)")
        p.anchor_specs
        from ..finetune import grid_points

        try:
            grid_points(p.finetune, p.finetune_grid)
        except ValueError as e:
            raise ValueError(f"finetune_grid: {e}; its keys are settings of `finetune`") from None
        empty = [k for k, v in p.finetune_grid.items() if not v]
        if empty:
            raise ValueError(f"finetune_grid: {empty} list no values (give at least one each)")
        # a numeric budget needs one training and one early-stopping label per class (so at
        # least twice the number of classes: checked against the data when fine-tuning)
        small = [b for b in p.budgets if b != "all" and b < 2]
        if small:
            raise ValueError(f"budgets: {small} must be at least 2, one training and one "
                             "early-stopping label (per class: twice the number of classes), "
                             "or 'all'")

    def run(self, ctx):
        import pandas as pd

        from ..finetune import budget_label
        from ..metrics import mean_ci
        from ..plots import error_vs_budget, finetune_curves

        p = ctx.params
        labels = [budget_label(b) for b in p.budgets]
        ref = p.reference
        err, counts, curves = {}, {}, []
        audit = defaultdict(dict)  # (init, seed) -> how each budget's net was chosen
        for init in p.inits:
            for b, label in zip(p.budgets, labels):
                model = classifier_model(init, b)
                for seed in ctx.seeds(model):
                    m = ctx.metrics_json(model, seed)
                    err[init, label, seed] = 100 * m["test_error"]
                    audit[init, seed].update(audit_values(m, label))
                    h = ctx.history(model, seed)
                    if h is not None and {"val_error", "train_error"} <= set(h.columns):
                        curves.append(h.assign(budget=label, init=init, seed=seed,
                                               val_error=100 * h["val_error"],
                                               train_error=100 * h["train_error"]))
                    # every label used, early stopping's included (aebench.finetune)
                    counts.setdefault(label, set()).add(int(m["n_labels"]))
        uneven = {b: sorted(c) for b, c in counts.items() if len(c) > 1}
        if uneven:  # same budget, same count for every init and seed, or the pairing is off
            raise ValueError(f"label counts differ between runs of one budget: {uneven}")
        n_labels = {b: c.pop() for b, c in counts.items()}
        seeds = sorted({s for _, _, s in err})
        few, many = min(labels, key=n_labels.get), max(labels, key=n_labels.get)
        out, curve, gains = [], [], []
        for init in p.inits:
            for seed in seeds:
                values = {f"test_error_pct@{b}": err[init, b, seed] for b in labels}
                values.update(audit[init, seed])
                if init != ref:
                    gain = {b: err[ref, b, seed] - err[init, b, seed] for b in labels}
                    rel = {b: relative(gain[b], err[ref, b, seed]) for b in labels}
                    values.update({f"gain_pct@{b}": g for b, g in gain.items()})
                    values["gain_pct@fewest"] = gain[few]
                    values.update({f"rel_gain_pct@{b}": g for b, g in rel.items()})
                    values["rel_gain_pct@fewest"] = rel[few]
                    if few != many:  # one budget: no "few vs many" to judge
                        values["gain_few_minus_many_pct"] = gain[few] - gain[many]
                        values["rel_gain_few_minus_many_pct"] = rel[few] - rel[many]
                out += rows(init, seed, values)
                ctx.log(f"{init} seed {seed}: " + ", ".join(f"{k} {v:.3g}" for k, v in values.items()))
            for b in labels:
                mean, ci = mean_ci([err[init, b, s] for s in seeds])
                curve.append({"init": init, "n_labels": n_labels[b], "mean": mean, "ci95": ci})
                if init != ref:
                    mean, ci = mean_ci([err[ref, b, s] - err[init, b, s] for s in seeds])
                    gains.append({"init": init, "n_labels": n_labels[b], "mean": mean, "ci95": ci})
        for name in p.anchor_specs:  # the anchors' own nets, beside the comparison
            net = p.anchor_nets[name]
            model, label = classifier_model(name, net.budget), budget_label(net.budget)
            for seed in ctx.seeds(model):
                m = ctx.metrics_json(model, seed)
                out += rows(name, seed, {f"test_error_pct@{label}": 100 * m["test_error"]})
        error_vs_budget(pd.DataFrame(curve), ctx.figure("error_vs_budget.png"), pd.DataFrame(gains))
        if curves:  # runs made before the errors were logged have none
            finetune_curves(pd.concat(curves, ignore_index=True), ctx.figure("finetune_curves.png"))
        return out


def audit_values(m: dict, label: str) -> dict[str, float]:
    """How a classifier was chosen, from its metrics.json (where its run recorded it): the
    stopping epoch, its training and validation error (%), and the grid values it kept."""
    out = {f"best_epoch@{label}": m.get("best_epoch"),
           f"train_error_pct@{label}": 100 * m["train_error"] if "train_error" in m else None,
           f"val_error_pct@{label}": 100 * m["val_error"] if "val_error" in m else None}
    out.update({f"chosen_{k}@{label}": v for k, v in (m.get("chosen") or {}).items()})
    return {k: float(v) for k, v in out.items() if v is not None}


def relative(gain: float, reference: float) -> float:
    """A gain in % of the reference's error (0 where the reference makes none)."""
    return 100 * gain / reference if reference else 0.0
