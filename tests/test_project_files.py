"""The files a newcomer and a citation manager read: LICENSE, CITATION.cff (CFF 1.2.0, its
version the package's), and results/README.md naming the folders aebench.paths writes."""

import re
import tomllib
from pathlib import Path

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
