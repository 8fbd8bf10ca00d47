"""The SLURM profile's comments quote the published run's job times: they must stay what
results/published/<run>/jobs.csv holds, and the runtimes the rules ask must cover them."""

import re
from pathlib import Path

import pandas as pd

from aebench.kinds import KINDS

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"


def test_the_slurm_profile_quotes_the_published_longest_fit():
    text = PROFILE.read_text()
    m = re.search(r"took at most (\d+) min each.*\n# CPU core \(fit (\S+) seed(\d+); wall_seconds in "
                  r"(results/published/[^/]+/jobs\.csv)\)", text)
    assert m, "the profile no longer quotes the longest fit"
    jobs = pd.read_csv(ROOT / m[4])
    fits = jobs[jobs.rule == "fit"]
    longest = fits.loc[fits.wall_seconds.idxmax()]
    assert int(m[1]) == int(longest.wall_seconds // 60) and longest.job == f"fit {m[2]} seed{m[3]}"
    # every torch model's fit asks for more than the longest published one took
    asked = re.search(r"asks for (\d+) min", text)[1]
    assert KINDS["autoencoder"].resources["runtime"] == int(asked) > longest.wall_seconds / 60
    assert "pip install -e '.[slurm]'" in text
