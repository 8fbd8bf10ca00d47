"""The files a newcomer and a citation manager read: LICENSE, CITATION.cff (CFF 1.2.0, its
version the package's), and results/README.md naming the folders aebench.paths writes."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from aebench import paths

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_citation_is_cff_1_2_0_with_the_packages_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    # the keys CFF 1.2.0 requires, and the ones this project promises
    assert cff["cff-version"] == "1.2.0" and cff["message"] and cff["authors"]
    assert cff["title"] == "aebench" and cff["version"] == version and cff["license"] == "MIT"
    assert all(("name" in a) or ("family-names" in a) for a in cff["authors"])


def test_results_readme_names_the_folders_the_pipeline_writes():
    text = (ROOT / "results" / "README.md").read_text()
    named = set(re.findall(r"`([a-z_]+)/", text))
    written = {p(*args).split("/")[1] for p, args in [
        (paths.data, ("x", 0)), (paths.run, ("m", 0)), (paths.checkpoint, ("m", 0)),
        (paths.progress, ("m", 0)), (paths.evaluation, ("e", "m", 0)), (paths.log, ("x",)),
        (paths.benchmark, ("x",)), (lambda: paths.CLAIMS, ()), (lambda: paths.LEARNING_CURVES, ())]}
    assert written <= named, written - named
    assert "models/" not in text  # there is no such folder: models live in runs/<model>/seed<k>/


README_MAX_LINES = 150  # issue 42: the answer, the quick start, the full run, extending


def test_readme_is_short():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines; move detail to docs/ (at most {README_MAX_LINES})"


def _relative_links(text: str) -> list[str]:
    """Markdown links and images that name a path (no scheme, no bare #anchor), anchors dropped."""
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", text)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def test_readme_links_resolve_and_reach_the_report_and_the_docs():
    """Every relative link in README names a file of the checkout, and README links the
    published full run's report and the docs pages a newcomer needs."""
    links = _relative_links((ROOT / "README.md").read_text())
    missing = [t for t in links if not (ROOT / t).exists()]
    assert not missing, f"README links to files that are not in the checkout: {missing}"
    assert any(re.fullmatch(r"results/published/[^/]+/report\.html", t) for t in links), links
    for page in ("docs/results.md", "docs/running.md", "docs/extending.md", "docs/claims.md",
                 "docs/development.md"):
        assert page in links, f"README does not link {page}"


def test_docs_links_resolve():
    for page in sorted((ROOT / "docs").glob("*.md")):
        missing = [t for t in _relative_links(page.read_text()) if not (page.parent / t).exists()]
        assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def test_readme_answer_is_what_the_generator_writes_from_the_published_runs():
    """README's answer and presets' times are aebench.readme's output from the committed runs,
    not typed: regenerate them (docs/development.md) after publishing a run."""
    from aebench.runctl import readme

    text = (ROOT / "README.md").read_text()
    block = re.search(re.escape(readme.START) + ".*?" + re.escape(readme.END), text, re.S).group(0)
    run = re.search(r"in the run `([^`]+)`", block).group(1)
    quick = re.search(r"The quick preset \(run `([^`]+)`", block)
    pub = ROOT / "results" / "published"
    assert block == readme.summary(pub / run, ROOT, ROOT / readme.RESULTS_DOC,
                                   pub / quick.group(1) if quick else None)
    times = re.search(re.escape(readme.PRESETS_START) + ".*?" + re.escape(readme.PRESETS_END), text, re.S)
    runs = re.findall(r"\| `([^`]+)` +\|", times.group(0))
    assert times.group(0) == readme.presets([pub / r for r in runs])
    page = (ROOT / readme.RESULTS_DOC).read_text()
    assert page.startswith("# Results, as measured") and f"Run `{run}`" in page


TUNED_VALUES = ROOT / "docs" / "tuned-values.md"
ORIGINS = {"source", "validation", "convention/default", "test-split (superseded)",
           "test-split, not re-derived", "no record"}


def _tuned_rows(heading: str) -> list[list[str]]:
    """The cells of each table row of docs/tuned-values.md's section ``## <heading>...``."""
    text = TUNED_VALUES.read_text()
    section = re.search(r"^## " + re.escape(heading) + r".*?(?=^## |\Z)", text, re.S | re.M).group(0)
    return [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("| `")]


@pytest.mark.parametrize("heading, path", [("config.yaml", "config.yaml"),
                                           ("workflow/presets/quick.yaml", "workflow/presets/quick.yaml")])
def test_tuned_values_page_shows_the_values_in_the_config(heading, path):
    """docs/tuned-values.md (issue 38) names each chosen value by its key path: every path
    it shows exists in the file with the value shown, so the page cannot go stale silently."""
    config = yaml.safe_load((ROOT / path).read_text())
    rows = _tuned_rows(heading)
    assert len(rows) > 10, f"no table rows found under '## {heading}'"
    missing = object()
    for cells in rows:
        keys, shown, origin = re.findall(r"`([^`]+)`", cells[0]), cells[1].strip("`"), cells[2]
        assert origin in ORIGINS, cells
        for key in keys:
            node = config
            for part in key.split("."):
                node = node.get(part, missing) if isinstance(node, dict) else missing
            assert node is not missing, f"{path} has no {key} (docs/tuned-values.md)"
            assert node == yaml.safe_load(shown), f"{path}: {key} is {node!r}, the page shows {shown}"
