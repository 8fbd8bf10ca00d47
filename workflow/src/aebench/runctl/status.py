"""Where a run stands, read from its files alone: ``python -m aebench.status``.

Pass the config flags given to snakemake (``--configfile workflow/presets/quick.yaml``). The
run's jobs are those Snakemake plans for that config (:mod:`.jobs`); what each left behind
says how far it got (:mod:`.survey`): its output, its log, a fit's per-epoch progress record,
the finished jobs' benchmark files, Snakemake's lock and incomplete markers.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import config as aeconfig
from .jobs import Job, dag, load_config
from .survey import STALE_MINUTES, adopt, estimate, foreign, survey

__all__ = ["Job", "dag", "load_config", "report", "main"]


def hms(seconds: float | None) -> str:
    s = None if seconds is None else int(round(seconds))
    return "?" if s is None else f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def ago(s: float | None) -> str:
    return ("-" if s is None else f"{s:.0f}s" if s < 120 else f"{s / 60:.0f}m" if s < 7200
            else f"{s / 3600:.0f}h")


def table(rows: list[tuple], left: int) -> list[str]:
    """Columns padded to their widest cell; the first ``left`` columns flush left."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                      for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]


def stage(p: dict) -> str:
    """A progress record's stage: its label, and which of the fit's stages it is if several."""
    return p["stage"] if p["stages"] == 1 else f"{p['stage']} [{p['stage_index']}/{p['stages']}]"


def losses(p: dict) -> str:
    return " ".join(f"{k} {v:.5g}" if isinstance(v, float) else f"{k} {v}" for k, v in p["losses"].items())


def report(jobs: dict[str, Job], per_exp: dict, locked: bool, est: dict, root=".") -> str:
    states = ("running", "interrupted", "failed", "to do")
    rows = [("experiment", "done", "", *states)]
    for label, names in [*per_exp.items(), ("all", list(jobs))]:
        n = {s: sum(jobs[x].state == s for x in names) for s in ("done", *states)}
        rows.append((label, f"{n['done']}/{len(names)}", f"{100 * n['done'] // len(names)}%",
                     *(n[s] for s in states)))
    out = [f"aebench run in {Path(root).resolve()}",
           "Snakemake: " + ("holds a lock here (running, or killed before it could unlock)" if locked
                            else "no lock here (not running)"), "", *table(rows, 1),
           "(a job two experiments share counts in both; 'all' counts it once and adds gather)"]
    active = [j for j in jobs.values() if j.state in states[:3]]
    if active:
        rows = [("job", "state", "stage", "epoch", "elapsed", "last written", "losses")]
        for j in active:
            p = j.progress
            rows.append((j.name, j.state, stage(p) if p else "-" if j.age is not None else "(no log yet)",
                         f"{p['epoch']}/{p['epochs']}" if p else "-", hms(j.elapsed), ago(j.age),
                         losses(p) if p else "-"))
        out += ["", *table(rows, 3)]
    if locked and not any(j.state == "running" for j in jobs.values()):
        out.append("no job has logged lately: if no snakemake runs here, the lock is stale "
                   "(snakemake --unlock, with your config flags)")
    if not locked and any(j.marked for j in jobs.values()):
        out.append("outputs of interrupted jobs are marked incomplete: resume with --rerun-incomplete")
    out += ["", *time_left(est)]
    return "\n".join(out)


def time_left(est: dict) -> list[str]:
    """The estimate's lines. Every estimate is timed by finished jobs' benchmarks: before the
    first one finishes there is nothing to time by, and 0:00:00 would read as "done"."""
    if not est["finished"] and est["jobs"]:
        return [f"time left: unknown until a job finishes ({est['jobs']} job(s) to run on "
                f"{est['cores']} core(s))"]
    b = est["bases"]
    return [f"time left: about {hms(est['seconds'])} on {est['cores']} core(s) (an estimate)",
            f"  {est['jobs']} job(s) to finish, timed by the benchmarks of {est['finished']} finished "
            f"one(s): {b['model']} by the same model's other seeds, {b['kind']} by their kind, "
            f"{b['median']} by the median of all"
            + (f"; {est['unknown']} not at all (nothing finished yet)" if est["unknown"] else "")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m aebench.status",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--configfile", "--configfiles", nargs="+", action="extend", default=[],
                    help="the config files passed to snakemake, in the same order")
    ap.add_argument("--config", "-C", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                    help="the --config overrides passed to snakemake")
    ap.add_argument("--directory", "-d", default=".", help="the run's working directory")
    ap.add_argument("--cores", "-c", default="all",
                    help="cores the run uses, for the estimate (default: this machine's, or 'all')")
    ap.add_argument("--stale", type=float, default=STALE_MINUTES, metavar="MINUTES",
                    help="a job silent this long was interrupted (default %(default)s)")
    args = ap.parse_args(argv)
    try:
        cfg = load_config(args.directory, args.configfile, args.config)
        cores = (os.cpu_count() or 1) if args.cores == "all" else max(int(args.cores), 1)
        jobs, per_exp = dag(args.directory, cfg, cores)
    except (aeconfig.ConfigError, OSError, ValueError) as e:
        print(f"aebench.status: {e}", file=sys.stderr)
        return 2
    locked = survey(args.directory, jobs, stale_minutes=args.stale)
    if (restore := cfg.raw.get("restore_from")):
        # what the run copies back from there, or no longer needs, is not left to do
        restore = Path(restore) if Path(restore).is_absolute() else Path(args.directory) / restore
        if (n := len(adopt(jobs, restore))):
            print(f"{n} job(s) done as published in {restore} (restore_from)\n")
    print(report(jobs, per_exp, locked, estimate(jobs, cores), args.directory))
    if (odd := foreign(args.directory, jobs, cfg)):
        print(f"\nnote: {len(odd)} finished fit(s) hold another spec than this config gives (e.g. "
              f"{odd[0]}): pass the --configfile/--config flags given to snakemake")
    return 0


if __name__ == "__main__":
    sys.exit(main())
