"""The report's first screen as a newcomer's browser shows it (issue 42): README's "open the
report in a browser" step, in headless Chromium, on the newest published report.

The report is a React app (``snakemake --report``): its menu and front page exist only once
its JavaScript ran, so the checks read the DOM Chromium rendered (``--dump-dom``), not the
HTML source. A small probe script, appended to a copy of the report, waits for the app,
records the front page's paragraphs and table with where they sit in a 1280x900 window and
the verdicts' colours, then clicks each Results category in the menu and records the
sub-headings the app then lists. Checked: the claims summary (verdict counts, those of the
published claims table) is on the first screen, with the table of coloured verdicts; the
experiments come in lecture order, E1 before E2 ... before E10, in the menu and on the front
page; every category's sub-headings have names (none is Snakemake's "Other").

Needs Chromium (Debian's ``chromium``; installed with apt-get when missing and the machine
allows it). Runs with --runreadme.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from _debian import apt_install

pytestmark = pytest.mark.readme

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "results" / "published"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WINDOW = (1280, 900)
VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")

# Appended to a copy of the report: runs after the app's own scripts; writes what it saw as
# JSON into <pre id="aebench-probe">, which --dump-dom then holds.
PROBE = r"""
(async function () {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (f) => { for (let i = 0; i < 200; i++) { const v = f(); if (v) return v; await sleep(50); } return null; };
  const box = (el) => { const r = el.getBoundingClientRect(); return { top: r.top, bottom: r.bottom }; };
  const items = () => [...document.querySelectorAll("#app nav div.p-3 li")];
  const out = { errors: window.__aebench_errors, viewport: [window.innerWidth, window.innerHeight] };
  try {
    const prose = await until(() => document.querySelector("#app .prose"));
    out.menu = items().map((li) => ({ text: li.textContent.trim(), ...box(li) }));
    out.blocks = prose ? [...prose.querySelectorAll("p")].map((p) => ({ text: p.innerText, ...box(p) })) : [];
    const table = prose && prose.querySelector("table");
    out.table = table ? box(table) : null;
    out.rows = prose ? [...prose.querySelectorAll("tbody tr")].map((tr) => [...tr.cells].map((td) => {
      const b = td.querySelector("b");
      return { text: td.innerText.trim(), colour: b ? getComputedStyle(b).color : null };
    })) : [];
    const names = out.menu.map((m) => m.text);
    out.categories = {};
    for (const name of names.slice(names.indexOf("Results") + 1)) {
      const link = [...document.querySelectorAll("#app nav div.p-3 li a")].find((a) => a.textContent.trim() === name);
      link.click();
      await until(() => !items().some((li) => li.textContent.trim() === "Results"));
      await sleep(50);
      const single = Object.keys(categories[name]).length === 1;
      // several sub-headings: the app lists them; one: it opens it at once and shows no name,
      // so the name is the one the running app holds
      out.categories[name] = { listed: single ? null : items().map((li) => li.textContent.trim()),
                               held: Object.keys(categories[name]) };
      document.querySelector("#app nav nav ol a").click();  // home
      await until(() => items().some((li) => li.textContent.trim() === "Results"));
    }
  } catch (err) {
    out.errors.push(String(err));
  }
  const pre = document.createElement("pre");
  pre.id = "aebench-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
"""
ERRORS = ("<script>window.__aebench_errors = []; window.addEventListener('error', "
          "(e) => window.__aebench_errors.push(String(e.message)));</script>")


def newest_report(published: Path = PUBLISHED) -> Path | None:
    """The report.html of the run published last (manifest's published_at) that has one."""
    runs = [(json.loads((d / "manifest.json").read_text()).get("published_at") or "", d)
            for d in published.glob("*") if (d / "report.html").is_file()
            and (d / "manifest.json").is_file()]
    return max(runs)[1] / "report.html" if runs else None


def chromium() -> str:
    found = next((b for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        apt_install(["chromium", "fonts-dejavu-core"], ["chromium"])
        found = "chromium"
    return found


def render(browser: str, report: Path, tmp: Path) -> dict:
    """What the probe saw in ``report``, opened in headless Chromium."""
    page = report.read_text()
    head, body = page.index("<head>") + len("<head>"), page.rindex("</body>")
    probed = tmp / "report.html"
    probed.write_text(page[:head] + ERRORS + page[head:body] + f"<script>{PROBE}</script>\n"
                      + page[body:])
    # --test-type: no bar warning of --no-sandbox (a user's window has none), so the viewport
    # is a plain 1280x900 window's
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--test-type", "--disable-gpu",
                        "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'profile'}",
                        f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=30000",
                        "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=300,
                       # its crash-report folder too in tmp, not in the user's ~/.config
                       env={**os.environ, "XDG_CONFIG_HOME": str(tmp), "XDG_CACHE_HOME": str(tmp)})
    m = re.search(r'<pre id="aebench-probe">(.*?)</pre>', r.stdout, re.S)
    assert m, f"the probe did not finish in {report} (exit {r.returncode}):\n{r.stderr[-3000:]}"
    return json.loads(html.unescape(m.group(1)))


def experiment_numbers(texts) -> list[int]:
    """E1..E10 as the menu and the front page write them (E<figure space>1 ... E10)."""
    return [int(m.group(1)) for t in texts for m in re.finditer(r"\bE[\s\u2007]*(\d+)\b", t)]


@pytest.fixture(scope="module")
def report() -> Path:
    found = newest_report()
    if found is None:
        pytest.skip(f"no published run with a report.html under {PUBLISHED}")
    return found


@pytest.fixture(scope="module")
def seen(report, tmp_path_factory) -> dict:
    return render(chromium(), report, tmp_path_factory.mktemp("browser"))


def test_the_report_renders_without_errors(seen):
    assert seen["errors"] == [], seen["errors"]
    assert seen["viewport"][0] == WINDOW[0], seen["viewport"]


def test_the_first_screen_says_how_the_claims_came_out(seen, report):
    height = seen["viewport"][1]
    summary = [b for b in seen["blocks"] if b["text"].startswith("Did the lecture hold up? Claims:")]
    assert len(summary) == 1, [b["text"][:80] for b in seen["blocks"]]
    assert 0 <= summary[0]["top"] and summary[0]["bottom"] <= height, (summary[0], height)
    counts = {k: int(n) for n, k in re.findall(
        r"(\d+) (PASS|FAIL|INCONCLUSIVE|not judged)", summary[0]["text"].split("(")[0])}
    # the counts and the rows are the published claims table's
    with open(report.parent / "tables" / "claims.csv", newline="") as f:
        claims = list(csv.DictReader(f))
    verdicts = [c["verdict"] if c["verdict"] in VERDICTS else "not judged" for c in claims]
    assert counts == Counter(verdicts), (counts, Counter(verdicts))
    rows = seen["rows"]
    assert [r[0]["text"] for r in rows] == [c["id"] for c in claims]
    assert [r[1]["text"] for r in rows] == [c["verdict"] for c in claims]
    # each verdict in a colour of its own, none of them that of a claim not judged
    colours = {}
    for r in rows:
        colours.setdefault(r[1]["text"] if r[1]["text"] in VERDICTS else "not judged",
                           set()).add(r[1]["colour"])
    judged = [v for v in VERDICTS if v in colours]
    assert judged and all(len(colours[v]) == 1 for v in judged), colours
    grey = colours.get("not judged", set())
    assert len(set().union(grey, *(colours[v] for v in judged))) == len(grey) + len(judged), colours
    # the table starts on the first screen too, below the summary
    assert summary[0]["bottom"] <= seen["table"]["top"] < height, (seen["table"], height)


def test_experiments_are_listed_in_lecture_order(seen):
    menu = [m["text"] for m in seen["menu"]]
    results = menu[menu.index("Results") + 1:]
    experiments = [t for t in results if experiment_numbers([t])]
    in_menu = experiment_numbers(experiments)
    assert len(in_menu) >= 2 and in_menu == sorted(set(in_menu)), results
    assert results[0] == "Claims", results  # the verdicts first, then the lecture
    # the whole menu is on the first screen
    assert seen["menu"][-1]["bottom"] <= seen["viewport"][1], seen["menu"][-1]
    order = [b["text"] for b in seen["blocks"] if b["text"].startswith("Experiments, in lecture order:")]
    assert len(order) == 1, [b["text"][:80] for b in seen["blocks"]]
    assert experiment_numbers(order) == in_menu, order


def test_every_category_has_named_subheadings(seen):
    categories = seen["categories"]
    assert "Claims" in categories and len(categories) >= 3, categories
    for name, sub in categories.items():
        assert sub["held"] and "Other" not in sub["held"], (name, sub)
        if sub["listed"] is not None:  # as the menu shows them (sorted by name)
            assert sorted(sub["listed"]) == sorted(sub["held"]), (name, sub)
    for name in (n for n in categories if experiment_numbers([n])):
        assert "Table" in categories[name]["held"], (name, categories[name])
