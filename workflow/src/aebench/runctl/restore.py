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
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import config as aeconfig
from .. import paths
from ..experiments import EVALUATION_FILES, EXPERIMENTS, PREVIEW
from .provenance import RUNTIME_KEYS, config_hash, training_code_state

MANIFEST = "manifest.json"
FIT_FILES = ("run.json", "metrics.json")  # a published fit has these (history.csv if it trains)


def _refuse(msg: str):
    return aeconfig.ConfigError(f"restore_from: {msg}", ("restore_from",))


def read_manifest(directory) -> dict:
    """A publication's manifest, checked for the shape restore reads; anything else (no such
    directory, no file, truncated JSON, another shape) is one error naming the file."""
    d = Path(directory)
    if not d.is_dir():
        raise _refuse(f"{d} is not a directory; give a directory written by python -m aebench.publish")
    f = d / MANIFEST
    try:
        m = json.loads(f.read_text())
    except (OSError, ValueError) as e:
        raise _refuse(f"{f} is not readable JSON ({type(e).__name__}: {e}); give a directory "
                      "written by python -m aebench.publish, or publish the run again") from None
    exps = m.get("experiments") if isinstance(m, dict) else None
    if not (isinstance(m, dict) and isinstance(m.get("config_hash"), str) and isinstance(exps, dict)
            and all(isinstance(v, dict) for v in exps.values())
            and isinstance(m.get("training_code_changed_since", []), list)):
        raise _refuse(f"{f} is not a manifest of python -m aebench.publish (it lacks config_hash or "
                      "experiments, or they have another shape); publish the run again")
    return m


def symlinks(directory) -> list[Path]:
    """The symbolic links under ``directory``: a publication holds none (one would make a copy
    read a file outside it, a private one perhaps)."""
    out = []
    for here, dirs, files in os.walk(directory):
        out += [Path(here, n) for n in dirs + files if Path(here, n).is_symlink()]
    return sorted(out)


def links_at(path) -> list[Path]:
    """``path`` itself if it is a symbolic link, then the links under it (a directory): what a
    copy of it into or out of a publication refuses."""
    path = Path(path)
    return ([path] if path.is_symlink() else []) + (symlinks(path) if path.is_dir() else [])


def restorable(directory, cfg: aeconfig.Config, changed_code_ok: bool = False,
               warn=print) -> list[str]:
    """The enabled experiments a published run holds complete; it must have been made with
    this config (up to :data:`RUNTIME_KEYS`), or its numbers would not be this run's, with
    the training code its fits ran (the manifest's ``training_code_changed_since`` empty;
    ``changed_code_ok``: say so with ``warn`` and go on), and hold no symbolic link."""
    d = Path(directory)
    m = read_manifest(d)
    if (links := symlinks(d)):
        raise _refuse(f"{d} holds symbolic links ({', '.join(map(str, links[:3]))}); a publication "
                      "holds plain files only: replace them with the files, or publish again")
    if m.get("config_hash") != config_hash(cfg.raw):
        theirs = m.get("config", {})
        theirs = theirs if isinstance(theirs, dict) else {}
        diff = sorted(k for k in set(theirs) | set(cfg.raw) if k not in RUNTIME_KEYS
                      and not k.startswith("_") and theirs.get(k) != cfg.raw.get(k))
        raise aeconfig.ConfigError(
            f"restore_from: {d} was made with another config (it differs in: {', '.join(diff)}); "
            "pass the config flags that run was made with, or leave restore_from out",
            ("restore_from",))
    # the list the publishing checkout made, and what changed here since the run's first commit
    here = Path(__file__).resolve().parents[4]
    changed = list(m.get("training_code_changed_since") or [])
    if isinstance(m.get("commit"), str) and m["commit"]:
        changed += [f for f in training_code_state(here, here, m["commit"])[1] if f not in changed]
    if changed:
        msg = (f"{d} was trained with code that has changed since (training_code_changed_since: "
               f"{', '.join(map(str, changed))})")
        if not changed_code_ok:
            raise _refuse(f"{msg}: its fits are not what this code trains. Leave restore_from out, "
                          "or set restore_changed_code: true to copy them back all the same")
        warn(f"warning: restore_from: {msg}; copied back all the same (restore_changed_code: true)")
    return [e for e in cfg.enabled if m["experiments"].get(e, {}).get("complete")
            and (d / Path(paths.metrics(e)).relative_to(paths.RESULTS)).exists()]


def copy_back(pairs, log) -> None:
    """What the restore rules do: copy each published (source, destination), a file or a
    folder, in Python (no shell reads the paths), refusing symbolic links; ``log`` is the
    rule's log file."""
    lines = []
    for src, dst in pairs:
        src, dst = Path(src), Path(dst)
        links = links_at(src)
        if links:
            raise ValueError(f"restore_from: {links[0]} is a symbolic link; a publication holds "
                             "plain files only: replace it with the file, or publish again")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, copy_function=shutil.copyfile)
        else:
            shutil.copyfile(src, dst)
        lines.append(f"restored {dst} from {src}")
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    Path(log).write_text("\n".join(lines) + "\n")


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
