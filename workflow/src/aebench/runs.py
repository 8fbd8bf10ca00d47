"""One writer for a run: fit one model with one seed and write everything later steps read.

A run directory (aebench.paths.run) holds, whatever the kind:
``run.json`` (the spec it was built from, its kind, seed and dataset: what load_run rebuilds
the model from), ``metrics.json``, ``history.csv`` (one row per epoch, empty for closed-form
models) and the kind's model file; kinds trained in loops add ``cost.json`` (their
weight-matrix FLOP, achieved GFLOP/s and fraction of the machine's peak). Encoders add
``codes.npz`` (codes of train/val/test and the reconstructions of the first test samples,
for figures) and their reconstruction errors. The rule declares the directory as its output, so a failed job leaves nothing.

Kinds whose ``fit`` takes a ``checkpoint`` (the torch-trained ones) are resumable: given a
``checkpoint_dir`` (the rule passes ``aebench.paths.checkpoint(model, seed)``, outside the run
directory), their training saves there every few minutes and on SIGTERM, a re-run resumes
from it, and it is removed once the run is written (:mod:`aebench.checkpoint`). Given a
``progress_path`` (the rule passes ``aebench.paths.progress(model, seed)``, also outside),
their training loops append each epoch's record there (:mod:`aebench.progress`).
"""

from __future__ import annotations

import inspect
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .checkpoint_key import for_run
from .datasets import load_prepared
from .epochs import NO_CHECKPOINT, NoCheckpoint
from .flops import COST_FILE, Tally
from .kinds import KINDS
from .metrics import mse_per_pixel, squared_error_per_image
from .peak import device_name, sgemm_peak
from .progress import ProgressLog
from .spec import ModelSpec
from .train import resolve_device, set_determinism

N_SHOWN = 64  # test reconstructions kept for figures
WORK_FILE = "work.jsonl"  # in the checkpoint directory: the tally of the loops finished so far


def fit_run(spec: ModelSpec, data_path: str | Path, seed: int, out_dir: str | Path,
            deps: dict[str, Path] | None = None, *, device: str = "auto", threads: int = 1,
            log=print, checkpoint_dir: str | Path | None = None,
            checkpoint_interval: float | None = None,
            progress_path: str | Path | None = None,
            peak_cache: str | Path | None = None, judge_split: str = "test") -> dict:
    """Fit ``spec`` with ``seed`` and write its run directory ``out_dir``.

    ``checkpoint_dir``: where a resumable kind keeps its checkpoints (None: not resumable);
    ``checkpoint_interval`` seconds between them (None: :mod:`aebench.checkpoint`'s default).
    While the model trains, SIGTERM saves a checkpoint and stops the job
    (:class:`aebench.checkpoint.Interrupted`); the checkpoints are removed on success.
    ``progress_path``: where a resumable kind's loops log each epoch (None: nowhere); a fresh
    fit truncates it, a resumed one appends.
    ``peak_cache``: where the machine's sgemm peak is cached (:mod:`aebench.peak`; None: not
    measured, ``cost.json`` then has no fraction of peak).
    ``judge_split``: "val" for a development run: the validation split stands in for test
    (:func:`aebench.datasets.load_prepared`), so the "test" codes and reconstruction errors
    are val's and the test split is never read; run.json records it.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_determinism(seed, threads)
    data = load_prepared(data_path, judge_split)
    model = KINDS[spec.kind](spec)
    kwargs, ck, tally = {}, NO_CHECKPOINT, Tally()
    if "checkpoint" in inspect.signature(model.fit).parameters:  # trained in epochs
        ck = NoCheckpoint(log=log)
        if checkpoint_dir is not None:
            ck = for_run(checkpoint_dir, spec.to_dict(), seed, data_path, deps,
                         device=resolve_device(device).type, threads=threads,
                         interval=checkpoint_interval, log=log)
        if progress_path is not None:  # after for_run discarded another run's checkpoints
            ck.progress = ProgressLog(progress_path, append=ck.has_saved())
        if checkpoint_dir is not None:  # kept with the checkpoints: a resumed fit's earlier loops
            tally = Tally(Path(checkpoint_dir) / WORK_FILE, resume=ck.has_saved())
        kwargs["checkpoint"] = ck
    with ck.on_sigterm():
        t0 = time.perf_counter()
        with tally:
            history = model.fit(data, seed, deps or {}, device=device, log=log, **kwargs)
        seconds = time.perf_counter() - t0
        model.save(out)
        # a resumed fit adds its earlier attempts' training, each up to its last checkpoint
        seconds += ck.earlier_seconds
        metrics = {"model": spec.name, "seed": seed, "kind": spec.kind, "dataset": data.name,
                   "train_seconds": round(seconds, 2), "epochs": len(history)}
        if model.encoder:
            metrics.update(write_codes(model, data, out))
        metrics.update(model.metrics(data))
        pd.DataFrame(history, columns=model.history_columns).to_csv(out / "history.csv",
                                                                    index=False)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        if tally.loops:  # closed-form kinds train no loop: no cost.json
            write_cost(tally, out, device, threads, peak_cache, log)
        (out / "run.json").write_text(json.dumps({"kind": spec.kind, "seed": seed,
                                                  "dataset": data.name,
                                                  "judged_split": judge_split,
                                                  "spec": spec.to_dict()}, indent=2))
    ck.clear()
    log(f"{spec.name} seed {seed}: done in {seconds:.1f}s"
        + (f", test squared error per image {metrics['test_sq_err_per_image']:.3f}"
           if "test_sq_err_per_image" in metrics else ""))
    return metrics


def write_cost(tally: Tally, out: Path, device: str, threads: int,
               peak_cache: str | Path | None, log=print) -> None:
    """``cost.json``: the fit's weight-matrix work and how fast its loops did it, beside the
    machine's sgemm peak (a file of its own: metrics.json is read wholesale by experiments)."""
    dev = resolve_device(device)
    peak = None if peak_cache is None else sgemm_peak(peak_cache, dev, threads, log=log)
    cost = {"device": device_name(dev), "threads": threads, **tally.summary(peak)}
    (out / COST_FILE).write_text(json.dumps(cost, indent=2))


def write_codes(model, data, out: Path) -> dict:
    """An encoder's codes and reconstruction errors (the metrics E1, E2, E9 and E10 read)."""
    codes = {f"z_{s}": model.encode(data.split(s)[0]) for s in ("train", "val", "test")}
    recon_test = model.reconstruct(data.x_test)
    recon_val = model.reconstruct(data.x_val)
    np.savez(out / "codes.npz", **codes, recon_test_head=recon_test[:N_SHOWN])
    return {"n_params": model.n_params(),
            "test_sq_err_per_image": squared_error_per_image(data.x_test, recon_test),
            "test_mse_per_pixel": mse_per_pixel(data.x_test, recon_test),
            "val_sq_err_per_image": squared_error_per_image(data.x_val, recon_val)}


def read_metrics(run_dir: str | Path) -> dict:
    return json.loads((Path(run_dir) / "metrics.json").read_text())
