"""README.md's commands, run the way a new user runs them (issue 18, "the first hour of a new user").

Every command README shows is found here: each line of its indented (or fenced) code blocks,
split at ``&&``, and each inline `...` span that starts with a program a user types
(``python``, ``snakemake``, ``pip``, ``.venv/bin/...``, ``.ci/run``, ...). The tree under
"Layout and extending" is a layout, not commands, and is left out by name. COVERED lists the
commands found today, each with what this test does with it; the fast tests (always run)
fail when README shows a command that is not in COVERED, or one of a form ``plan`` does not
know how to run, so a new command cannot slip past untested.

With ``--runreadme`` (``.ci/run`` passes it) the tracked files of this checkout are copied to
a temporary directory with the data mirror beside them as ``../shared/data`` (as in CI), a
fresh venv is made there by README's own plain install (``python3 -m venv .venv &&
.venv/bin/pip install -e .``, no extras), and the commands run there in README's order, with
the venv's ``bin`` first on PATH (so bare ``snakemake`` and ``python`` are the venv's, as
after ``source .venv/bin/activate``), rewritten only to run the smoke preset instead of the
full data (``rewrite_snakemake``): one real smoke run (the quick start's run); the commands
that read a run (the report, ``aebench.status``, ``aebench.readme``) read that one; every
later snakemake command must find nothing to do, which also shows the rewrite describes the
same run. A snakemake command naming another preset (or none) is also dry-run as written, so
that its own config and DAG are checked. The commands that are not run here (the test suite,
which this test is part of, and the SLURM profile, which tests/test_slurm.py runs under
``--runslurm``) are reported as skips with their reason.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"
LAYOUT_SECTION = "Layout and extending"
PROGRAMS = {"python", "python3", "pip", "pip3", "snakemake", "pytest", "conda", "mamba", "bash",
            "sh", "source", "docker", "make", "git", "sbatch", "srun", "apt-get", "sudo"}

SMOKE = "workflow/presets/smoke.yaml"
PUBLISHED = "smoke-readme"  # the name the smoke run is published under
MIRROR_ARG = "data_mirror=../shared/data"
RUN_FLAGS = ["--cores", "2", "--configfile", SMOKE, "--config", MIRROR_ARG]
SUITE = ("the test suite, which this test is part of; README's test command is .ci/run's "
         "(test_readme_test_command_is_what_ci_runs)")
SLURM = "tests/test_slurm.py runs the smoke preset through workflow/profiles/slurm on a real SLURM cluster (--runslurm)"

# Every command README shows today and what this test does with it. A README command not
# listed here fails test_readme_shows_exactly_the_covered_commands: add it with its handling.
COVERED = {
    # Quick start
    "python3 -m venv .venv": "run as written: the fresh venv",
    ".venv/bin/pip install -e .": "run as written: the plain install every other command runs on",
    ".venv/bin/snakemake -n --cores 2 --configfile workflow/presets/quick.yaml":
        "a dry run on the smoke config (the quick preset's own dry run is the next line's)",
    ".venv/bin/snakemake --cores 2 --configfile workflow/presets/quick.yaml":
        "the smoke run (--cores 2 --configfile smoke.yaml); also dry-run as written",
    ".venv/bin/snakemake --report results/report.html --configfile workflow/presets/quick.yaml":
        "on the smoke run, with its flags: a non-empty HTML report",
    "snakemake --cores 8": "on the smoke config: nothing left to do; also dry-run as written",
    "snakemake --cores 2 --configfile workflow/presets/quick.yaml":
        "on the smoke config: nothing left to do (dry-run as written by the quick start's line)",
    "snakemake --cores 2 --configfile workflow/presets/smoke.yaml": "run: nothing left to do",
    # Set-up: two commands
    ".venv/bin/snakemake --cores 8 --config data_mirror=../shared/data":
        "on the smoke config: nothing left to do (the default preset's dry run as written is "
        "the presets table's `snakemake --cores 8`)",
    ".venv/bin/pip install -e '.[test]'": f"not run here: {SUITE}",
    ".venv/bin/python -m pytest -ra --runslurm --runreadme --runslow": f"not run here: {SUITE}",
    "snakemake --lint": "run on the smoke config: no lints",
    # The full run
    "python -m aebench.status": "with the smoke run's flags: exit 0, every experiment 100% done",
    "snakemake ... --rerun-incomplete": "with the smoke run's flags: nothing left to do",
    "snakemake --workflow-profile workflow/profiles/local": "on the smoke config: nothing left to do",
    ".venv/bin/pip install -e '.[slurm]'": f"not run here: {SLURM}",
    ".venv/bin/snakemake --workflow-profile workflow/profiles/slurm": f"not run here: {SLURM}",
}


@dataclass
class Command:
    text: str  # as README shows it (one part of an && chain, comment dropped)
    line: int  # README line number
    inline: bool  # a `...` span in prose, not a code block


def sections(text: str):
    """(heading, line number, line) for every line of the markdown."""
    heading = ""
    for n, line in enumerate(text.splitlines(), 1):
        if m := re.match(r"#+\s+(.*)", line):
            heading = m.group(1).strip()
        yield heading, n, line


def code_blocks(text: str) -> list[tuple[str, list[tuple[int, str]]]]:
    """Indented (4 spaces, after a blank line) and fenced code blocks: (section, [(line, text)])."""
    blocks, cur, fenced, prev_blank = [], None, False, True
    for heading, n, line in sections(text):
        if line.lstrip().startswith("```"):
            if fenced:
                blocks.append(cur)
                cur, fenced = None, False
            else:
                cur, fenced = (heading, []), True
            continue
        if fenced:
            cur[1].append((n, line.strip()))
            continue
        if line.startswith("    ") and line.strip() and (prev_blank or cur is not None):
            if cur is None:
                cur = (heading, [])
                blocks.append(cur)
            cur[1].append((n, line.strip()))
        elif line.strip():
            cur = None
        prev_blank = not line.strip()
    return blocks


def split_commands(line: str) -> list[str]:
    """One code line's commands: its ``&&`` parts, a trailing ``# comment`` dropped."""
    lex = shlex.shlex(line, posix=False, punctuation_chars="&")
    lex.whitespace_split, lex.commenters = True, "#"
    parts, cur = [], []
    for tok in lex:
        if tok == "&&":
            parts.append(" ".join(cur))
            cur = []
        else:
            cur.append(tok)
    parts.append(" ".join(cur))
    return [p for p in parts if p]


def is_program(token: str) -> bool:
    return token in PROGRAMS or token.startswith((".venv/bin/", "./", ".ci/"))


def readme_commands(text: str | None = None) -> list[Command]:
    """Every command README shows, in the order it shows them."""
    text = README.read_text() if text is None else text
    out, code_lines = [], set()
    for heading, lines in code_blocks(text):
        code_lines |= {n for n, _ in lines}
        if heading == LAYOUT_SECTION:
            assert lines[0][1].split()[0] == "Snakefile", f"{LAYOUT_SECTION}: expected the layout tree"
            continue
        for n, line in lines:
            out += [Command(c, n, False) for c in split_commands(line)]
    for _, n, line in sections(text):
        if n in code_lines:
            continue
        for span in re.findall(r"`([^`\n]+)`", line):
            words = span.split()
            # a bare program name ("submitted with `sbatch`") is a mention; a script path
            # (`.ci/run`) or a program with arguments is a command
            if words and is_program(words[0]) and (len(words) > 1 or "/" in words[0]):
                out.append(Command(span.strip(), n, True))
    return sorted(out, key=lambda c: c.line)


# --- what to do with a command ---------------------------------------------------------------


@dataclass
class Step:
    """What a README command becomes in the fresh copy."""

    command: Command
    argv: list[str] | None = None  # None: not run here
    reason: str = ""  # why it is not run here
    form: str = ""  # venv, install, snakemake, status, readme, bench
    dry_run: list[str] | None = None  # also run: the command as written, with -n
    checks: dict = field(default_factory=dict)


def rewrite_snakemake(args: list[str]) -> list[str]:
    """A README snakemake command's arguments on the smoke preset: ``...`` (the flags of your
    run) becomes the smoke run's flags; ``--cores N`` becomes ``--cores 2``; any
    ``--configfile`` gives way to the smoke preset; ``--config`` always sets the mirror
    (so every command describes the same run). Targets and other flags stay."""
    if "..." in args:
        i = args.index("...")
        args = args[:i] + RUN_FLAGS + args[i + 1:]
    out, config = [], []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--configfile", "--configfiles", "--config", "-C"):
            j = i + 1
            while j < len(args) and not args[j].startswith("-"):
                j += 1
            if a in ("--config", "-C"):
                config += [kv for kv in args[i + 1:j] if not kv.startswith("data_mirror=")]
            i = j
            continue
        if a in ("--cores", "-c"):
            out += ["--cores", "2"]
            i += 2
            continue
        out.append(a)
        i += 1
    return out + ["--configfile", SMOKE, "--config", MIRROR_ARG, *config]


def plan(c: Command) -> Step:
    """The step a README command becomes; AssertionError for a form this test cannot run."""
    argv = shlex.split(c.text.replace("<name>", PUBLISHED).replace("<quick run>", PUBLISHED)
                         .replace("<smoke run>", PUBLISHED))
    prog = argv[0].removeprefix(".venv/bin/")
    module = argv[2] if prog in ("python", "python3") and argv[1:2] == ["-m"] and len(argv) > 2 else None
    if c.text in COVERED and COVERED[c.text].startswith("not run here: "):
        return Step(c, reason=COVERED[c.text].removeprefix("not run here: "))
    if prog in ("pytest", ".ci/run") or module == "pytest":
        return Step(c, reason=SUITE)
    if argv[:3] == ["python3", "-m", "venv"]:
        return Step(c, argv, form="venv")
    if prog == "pip" and argv[1:] == ["install", "-e", "."]:
        return Step(c, argv, form="install")
    if prog == "snakemake":
        args = argv[1:]
        if "--workflow-profile" in args and "slurm" in args[args.index("--workflow-profile") + 1]:
            return Step(c, reason=SLURM)
        if any(a.startswith("restore_from=") for a in args):
            return Step(c, ["snakemake", *rewrite_snakemake(args)], form="restore")
        step = Step(c, ["snakemake", *rewrite_snakemake(args)], form="snakemake")
        runs_jobs = not {"--report", "--lint", "-n", "--dry-run", "--unlock"} & set(args)
        step.checks["runs_jobs"] = runs_jobs
        if "--report" in args:
            step.checks["html"] = args[args.index("--report") + 1]
        step.checks["targets"] = [a for a in args if a.startswith("results/")
                                  and a != step.checks.get("html")]
        named = tuple(args[i + 1] for i, a in enumerate(args[:-1]) if a == "--configfile")
        step.checks["configfiles"] = named
        step.checks["files"] = [*named, *(args[i + 1] for i, a in enumerate(args[:-1])
                                          if a == "--workflow-profile")]
        if runs_jobs and "..." not in args and named != (SMOKE,):
            step.dry_run = ["snakemake", *args, "-n"]
        return step
    if module == "aebench.status":
        return Step(c, [*argv, "--configfile", SMOKE, "--config", MIRROR_ARG], form="status")
    if module == "aebench.publish":
        return Step(c, [*argv, "--configfile", SMOKE, "--config", MIRROR_ARG], form="publish")
    if module == "aebench.readme":
        return Step(c, argv, form="readme")
    if module == "aebench_bench":
        if "--parts" not in argv:  # all parts: see COVERED
            argv = [*argv, "--parts", "retrieval"]
        elif "pipeline" in argv[argv.index("--parts") + 1]:
            argv = [*argv, "--preset", "smoke", "--workdir", "results/bench-pipeline"]
        return Step(c, argv, form="bench")
    raise AssertionError(f"README line {c.line} shows a command this test does not know how to "
                         f"run: {c.text!r}; teach plan() its form (and add it to COVERED)")


def steps() -> list[Step]:
    """README's commands as steps, each command text once, in README order, except that the
    first snakemake run comes right after the install (everything else reads its output)."""
    seen, out = set(), []
    for c in readme_commands():
        if c.text not in seen:
            seen.add(c.text)
            out.append(plan(c))
    # One dry run per preset as written (the default, quick): a command's targets and
    # profile are run on the smoke config anyway.
    dry = set()
    for s in (s for s in out if s.dry_run):
        if s.checks["configfiles"] in dry:
            s.dry_run = None
        dry.add(s.checks["configfiles"])
    first = next(i for i, s in enumerate(out) if s.form == "snakemake" and s.checks["runs_jobs"])
    setup = [s for s in out[:first] if s.form in ("venv", "install")]
    rest = [s for i, s in enumerate(out) if i != first and s not in setup]
    return [*setup, out[first], *rest]


# --- fast checks: the inventory ---------------------------------------------------------------


def test_readme_shows_exactly_the_covered_commands():
    shown = [c.text for c in readme_commands()]
    new = sorted({t for t in shown if t not in COVERED})
    gone = sorted(set(COVERED) - set(shown))
    assert not new, f"README shows commands this test does not cover yet (add them to COVERED): {new}"
    assert not gone, f"COVERED lists commands README no longer shows: {gone}"


def test_every_readme_command_has_a_plan():
    all_steps = steps()
    assert [s.form for s in all_steps[:3]] == ["venv", "install", "snakemake"]
    for s in all_steps:
        covered = COVERED[s.command.text]
        assert (s.argv is None) == covered.startswith("not run here"), (s.command.text, covered)


def test_the_layout_tree_is_not_taken_for_commands():
    blocks = code_blocks(README.read_text())
    assert [h for h, _ in blocks].count(LAYOUT_SECTION) == 1
    assert not any(c.text.startswith(("Snakefile", "workflow/")) for c in readme_commands())


def test_unknown_command_forms_fail_loudly():
    text = "x\n\n    python3 -m venv .venv && conda env create -f envs/aebench.yaml\n\nrun `make all`\n"
    cmds = readme_commands(text)
    assert [c.text for c in cmds] == ["python3 -m venv .venv", "conda env create -f envs/aebench.yaml",
                                      "make all"]
    for c in cmds[1:]:
        with pytest.raises(AssertionError, match="does not know how to run"):
            plan(c)


def test_snakemake_commands_are_rewritten_to_the_smoke_run():
    assert rewrite_snakemake(["--cores", "8", "--config", "data_mirror=../shared/data"]) == RUN_FLAGS
    assert rewrite_snakemake(["--cores", "8", "results/e4/metrics.csv"]) == [
        "--cores", "2", "results/e4/metrics.csv", "--configfile", SMOKE, "--config", MIRROR_ARG]
    assert rewrite_snakemake(["--cores", "2", "--configfile", "workflow/presets/quick.yaml"]) == RUN_FLAGS
    assert rewrite_snakemake(["...", "--rerun-incomplete"]) == [
        "--cores", "2", "--rerun-incomplete", "--configfile", SMOKE, "--config", MIRROR_ARG]
    assert rewrite_snakemake(["--report", "results/report.html"]) == [
        "--report", "results/report.html", "--configfile", SMOKE, "--config", MIRROR_ARG]


def test_readme_test_command_is_what_ci_runs():
    """README says its test command is what .ci/run does: the same line, word for word."""
    block = [line for _, lines in code_blocks(README.read_text()) for _, line in lines
             if "pytest" in line]
    assert len(block) == 1, block
    ci = [line.strip() for line in CI.read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert block[0] in ci, f"README: {block[0]!r}\n.ci/run: {ci}"
    assert "--runreadme" in block[0].split()


# --- the run: a fresh copy, a fresh venv, every command ---------------------------------------


@dataclass
class Fresh:
    root: Path
    env: dict

    def run(self, argv: list[str], why: str, timeout: float = 1800, cwd=None) -> subprocess.CompletedProcess:
        """Runs argv in the copy; prints its time and exit status (pytest -s shows them live)."""
        t0 = time.monotonic()
        r = subprocess.run(argv, cwd=cwd or self.root, env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        print(f"{time.monotonic() - t0:7.1f} s  rc {r.returncode}  {why:>10}: {shlex.join(argv)}",
              flush=True)
        return r


def tail(r: subprocess.CompletedProcess) -> str:
    return f"stdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-5000:]}"


def copy_checkout(dst: Path) -> None:
    """The tracked files as they are in this checkout (what a clone holds, with any edits)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split("\0")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / f)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, mirror):
    """A copy of the checkout with the mirror at ../shared/data and README's fresh plain install."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("the README test copies the tracked files: it needs git and a git checkout")
    top = tmp_path_factory.mktemp("readme")
    root = top / "aebench"
    copy_checkout(root)
    (top / "shared").mkdir()
    (top / "shared" / "data").symlink_to(mirror)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "AEBENCH_DATA_MIRROR", "PYTHONHOME")}
    env["PATH"] = f"{root / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    f = Fresh(root, env)
    setup = [s for s in steps() if s.form in ("venv", "install")]
    assert [s.form for s in setup] == ["venv", "install"]
    for s in setup:
        r = f.run(s.argv, f"line {s.command.line}")
        assert r.returncode == 0, f"README line {s.command.line}: {s.command.text} failed\n{tail(r)}"
    # the plain install: none of the extras
    r = f.run([".venv/bin/python", "-c", "import importlib.util as u; print([m for m in "
               "('pythae', 'pytest', 'snakemake_executor_plugin_slurm') if u.find_spec(m)])"], "no extras")
    assert r.stdout.strip() == "[]", r.stdout
    yield f
    shutil.rmtree(root / ".venv", ignore_errors=True)  # gigabytes of torch


def check(f: Fresh, s: Step, first_run: bool) -> str | None:
    """Runs one step; returns what is wrong, None when it did what README says."""
    where = f"README line {s.command.line}: {s.command.text}\n  ran: {shlex.join(s.argv)}"
    for p in s.checks.get("files", []):
        if not (f.root / p).exists():
            return f"{where}\n  names {p}, which does not exist"
    if s.dry_run:
        r = f.run(s.dry_run, f"line {s.command.line}, as written", timeout=900)
        if r.returncode != 0:
            return f"{where}\n  as written, dry run ({shlex.join(s.dry_run)}) failed\n{tail(r)}"
    if s.form == "restore":
        return check_restore(f, s, where)
    r = f.run(s.argv, f"line {s.command.line}", timeout=7200 if first_run else 1800)
    out = r.stdout + r.stderr
    if s.form == "bench":
        # exit 1 also means a timing target was missed (this machine may be busy): a crash
        # is a traceback or no table written
        if r.returncode not in (0, 1) or "Traceback" in out or "written: " not in r.stdout:
            return f"{where}\n  the benchmark crashed\n{tail(r)}"
        parts = s.argv[s.argv.index("--parts") + 1]
        if "throughput" in parts and "pythae is not installed" not in r.stdout:
            return f"{where}\n  no message that pythae was left out\n{tail(r)}"
        return None
    if r.returncode != 0:
        return f"{where}\n  failed (exit {r.returncode})\n{tail(r)}"
    if s.form == "snakemake":
        if s.checks["runs_jobs"] and not first_run and "Nothing to be done" not in out:
            return f"{where}\n  found jobs to do after the smoke run\n{tail(r)}"
        if "--lint" in s.argv and "Lints for" in out:
            return f"{where}\n  lints\n{tail(r)}"
        if (html := s.checks.get("html")):
            p = f.root / html
            if not p.is_file() or p.stat().st_size == 0 or "<html" not in p.read_text(errors="replace")[:2000].lower():
                return f"{where}\n  no HTML report at {html}\n{tail(r)}"
        missing = [t for t in s.checks["targets"] if not (f.root / t).exists()]
        if missing:
            return f"{where}\n  targets missing: {missing}"
    elif s.form == "status":
        rows = re.findall(r"^(\S+)\s+(\d+)/(\d+)\s+\d+%", r.stdout, re.M)
        labels = {label for label, _, _ in rows}
        if "all" not in labels or any(done != total for _, done, total in rows) or "note:" in r.stdout:
            return f"{where}\n  expected every experiment and 'all' 100% done\n{tail(r)}"
    elif s.form == "publish":
        pub = f.root / "results" / "published" / PUBLISHED
        m = json.loads((pub / "manifest.json").read_text()) if (pub / "manifest.json").exists() else {}
        if not m.get("complete") or not (pub / "report.html").exists():
            return f"{where}\n  no complete published run with its report at {pub}\n{tail(r)}"
    elif s.form == "readme":
        text = (f.root / "README.md").read_text()
        block = text[text.index("<!-- results:start -->"):text.index("<!-- results:end -->")]
        if f"run `{PUBLISHED}`" not in block or "](docs/results.md)" not in block:
            return f"{where}\n  no answer (counts, links) in README.md\n{block[:2000]}"
        page = (f.root / "docs" / "results.md").read_text()
        # the smoke run's 2 seeds judge no claim: the page then says which were not judged
        if (f"Run `{PUBLISHED}`" not in page or not ("| id " in page or "Claims not judged" in page)
                or "## Quick" not in page):
            return f"{where}\n  no note, claims table or agreement in docs/results.md\n{page[:2000]}"
        times = text[text.index("<!-- presets:start -->"):text.index("<!-- presets:end -->")]
        if times.count(f"`{PUBLISHED}`") != 3:  # the run given as itself, quick and smoke
            return f"{where}\n  no measured time per run in README's presets\n{times[:2000]}"
    return None


def check_restore(f: Fresh, s: Step, where: str) -> str | None:
    """A new machine: a second copy of the tracked files holding the published run (as a
    clone of a repository that committed it would) and no results otherwise."""
    other = f.root.parent / "restored"
    copy_checkout(other)
    pub = Path("results") / "published" / PUBLISHED  # beside any run the checkout publishes
    shutil.copytree(f.root / pub, other / pub)
    r = f.run(s.argv, f"line {s.command.line}, new copy", cwd=other)
    out = r.stdout + r.stderr
    if r.returncode != 0 or "rule fit" in out or "rule restore_experiment" not in out:
        return f"{where}\n  expected only restores and gather, no training\n{tail(r)}"
    claims = "results/tables/claims.csv"
    if (other / claims).read_text() != (f.root / claims).read_text():
        return f"{where}\n  the restored claims table differs from the run's"
    return None


@pytest.mark.readme
def test_readme_commands_on_a_fresh_plain_install(fresh):
    todo = [s for s in steps() if s.argv is not None and s.form not in ("venv", "install")]
    assert todo[0].form == "snakemake" and todo[0].checks["runs_jobs"]
    problems = []
    for i, s in enumerate(todo):
        problem = check(fresh, s, first_run=i == 0)
        if problem:
            problems.append(problem)
            if i == 0:
                break  # everything after reads the smoke run
    assert not problems, "\n\n".join(problems)


def _not_run_here() -> list[str]:
    try:
        return [s.command.text for s in steps() if s.argv is None]
    except AssertionError:  # an unknown command: the fast tests above say which
        return []


@pytest.mark.readme
@pytest.mark.parametrize("text", _not_run_here())
def test_readme_command_run_elsewhere(text):
    pytest.skip(f"{text}: {COVERED[text].removeprefix('not run here: ')}")


def test_readme_links_point_at_files_in_the_checkout():
    """Every relative link and image in README (the published figures above all) names a file
    of this checkout: a results section written from elsewhere (a copy of README in another
    directory) gives paths that resolve only on the machine that wrote it."""
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", text)
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    assert local, "README links to no file of the checkout: the link pattern no longer matches"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to files that are not in the checkout: {missing}"
