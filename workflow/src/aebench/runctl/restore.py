"""What a run resumed with ``restore_from: results/published/NAME`` copies back instead of
computing again: the complete experiments (:func:`restorable`), and the evaluations and
fits of the others that nothing left to run needs again (:func:`restore_plan`: E6's
classifiers, E1's fits, the evaluations of E5, E7, E8, E9), so that a run longer than one
machine's life keeps them too.

The Snakefile imports this module on every start, so it imports no pandas, and numpy only
when a publication writes a preview.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .. import config as aeconfig
from .. import paths
from ..experiments import EVALUATION_FILES, EXPERIMENTS, PREVIEW
from .provenance import RUNTIME_KEYS, config_hash

MANIFEST = "manifest.json"
FIT_FILES = ("run.json", "metrics.json")  # a published fit has these (history.csv if it trains)


def restorable(directory, cfg: aeconfig.Config) -> list[str]:
    """The enabled experiments a published run holds complete; it must have been made with
    this config (up to :data:`RUNTIME_KEYS`), or its numbers would not be this run's."""
    d = Path(directory)
    try:
        m = json.loads((d / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise aeconfig.ConfigError(f"restore_from: {d} holds no readable {MANIFEST} ({e}); give a "
                                   "directory written by python -m aebench.publish",
                                   ("restore_from",)) from None
    if m.get("config_hash") != config_hash(cfg.raw):
        theirs = m.get("config", {})
        diff = sorted(k for k in set(theirs) | set(cfg.raw) if k not in RUNTIME_KEYS
                      and not k.startswith("_") and theirs.get(k) != cfg.raw.get(k))
        raise aeconfig.ConfigError(
            f"restore_from: {d} was made with another config (it differs in: {', '.join(diff)}); "
            "pass the config flags that run was made with, or leave restore_from out",
            ("restore_from",))
    return [e for e in cfg.enabled if m["experiments"].get(e, {}).get("complete")
            and (d / Path(paths.metrics(e)).relative_to(paths.RESULTS)).exists()]


def preview_keys(cfg: aeconfig.Config) -> dict[str, set[str]]:
    """model -> the arrays of its runs' codes.npz that an experiment reading only small files
    (``reads``) needs: what a publication keeps of them (preview.npz)."""
    out: dict[str, set[str]] = {}
    for e in cfg.enabled:
        for m in cfg.experiment_models(e) if EXPERIMENTS[e].reads else ():
            out.setdefault(m, set()).update(EXPERIMENTS[e].reads)
    return out


def write_preview(run: Path, dest: Path, keys) -> bool:
    """Keep ``keys`` of a run's codes.npz in ``dest`` (compressed); False if it has none."""
    import numpy as np

    if not (run / "codes.npz").exists():
        return False
    with np.load(run / "codes.npz") as z:
        arrays = {k: z[k] for k in sorted(keys) if k in z.files}
    if not arrays:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(dest, **arrays)
    return True


@dataclass
class RestorePlan:
    """What a run resumed with ``restore_from`` copies back and what it still computes."""
    fits: list[tuple[str, int]]  # (model, seed): published fits copied back (rule restore_fit)
    evaluations: list[tuple[str, str, int]]  # (experiment, model, seed): rule restore_evaluation
    needed: set[tuple[str, int]]  # every fit the run still reads: copied back or trained here


def restore_plan(directory, cfg: aeconfig.Config, restored: list[str]) -> RestorePlan:
    """Beside the complete experiments (:func:`restorable`), a resumed run copies back the
    published evaluations of the others (rule evaluate), and the published fits whose model
    file nothing still to run reads: a step reads its runs' models unless its experiment
    declares ``reads`` (E1, E6) or evaluates each run on its own (then only the evaluations
    still to compute read theirs), and a fit still to train reads the runs it is built from
    (a classifier its stack). Call it after :func:`restorable` has checked the config."""
    d = Path(directory)

    def pub(path: str) -> Path:
        return d / Path(path).relative_to(paths.RESULTS)

    def deps(fit):
        return [(m, fit[1] if cfg.models[m].seeded else 0) for m in cfg.models[fit[0]].needs]

    live = [e for e in cfg.enabled if e not in restored]
    evals, models_read, small_read = set(), set(), set()
    for e in live:
        exp = EXPERIMENTS[e]
        for m in cfg.experiment_models(e):
            for s in cfg.model_seeds(m):
                if exp.evaluates and all((pub(paths.evaluation(e, m, s)) / f).exists() for f in EVALUATION_FILES):
                    evals.add((e, m, s))
                elif exp.evaluates or exp.reads is None:
                    models_read.add((m, s))
                else:
                    small_read.add((m, s))
    needed, todo = set(), [*models_read, *small_read]
    while todo:  # with the fits they are built from
        fit = todo.pop()
        if fit not in needed:
            needed.add(fit)
            todo += deps(fit)
    previews = {m for e in live if EXPERIMENTS[e].reads for m in cfg.experiment_models(e)}

    def published_whole(fit):
        run = pub(paths.run(*fit))
        return all((run / f).exists() for f in FIT_FILES + ((PREVIEW,) if fit[0] in previews else ()))

    out = {fit for fit in needed - models_read if published_whole(fit)}
    while True:  # a fit trained again needs the model files of the fits it is built from
        drop = {dep for fit in needed - out for dep in deps(fit)} & out
        if not drop:
            return RestorePlan(sorted(out), sorted(evals), needed)
        out -= drop
