"""The committed results/ are what ``python -m bench report`` makes of the committed runs."""

import re
import shutil
import tempfile
from pathlib import Path

import pytest

from bench import runs
from bench.report import html, latex, perf_report, plots
from bench.report import readme as report
from tests.bench.subprocesses import ROOT


@pytest.mark.slow
def test_committed_results_regenerate_identically():
    results = ROOT / "results"
    readme = results / "README.md"
    assert readme.is_file(), "results/README.md is missing: run python -m bench report"
    assert report.readme_text(results / "runs", results) == readme.read_text(), (
        "results/README.md differs from what the committed runs give: run python -m bench report"
    )
    perf = perf_report.render(results / "runs")
    if perf is not None or (results / "perf.md").exists():
        assert perf == (results / "perf.md").read_text(), "results/perf.md is stale"
    # --no-plots rewrites the tables and keeps the plots already drawn
    copy = Path(tempfile.mkdtemp()) / "results"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("runs"))
    report.write(results / "runs", copy, plots=False)
    assert (copy / "README.md").read_text() == readme.read_text()
    # the HTML pages, where published (report --html --publish), are those of the markdown
    for page in html.write_pages(copy):
        if (results / page.name).exists():
            assert page.read_text() == (results / page.name).read_text(), f"{page.name} is stale"
    # every plot the README embeds is committed
    for link in re.findall(r"\]\((plots/[^)]+\.png)\)", readme.read_text()):
        assert (results / link).is_file(), link
    # the LaTeX tables are what the committed runs give (--no-plots leaves them alone)
    found = runs.discover(results / "runs")
    expected = {}
    for run in found:
        sub = plots.plot_dir(results, run, found).relative_to(results / "plots")
        for name, tex in latex.tables(run).items():
            expected[(Path("tables") / sub / name).as_posix()] = tex
    committed = {
        p.relative_to(results).as_posix(): p.read_text()
        for p in (results / "tables").rglob("*.tex")
    }
    stale = "results/tables/ differs from what the committed runs give: run python -m bench report"
    assert sorted(committed) == sorted(expected), stale
    for name, tex in expected.items():
        assert committed[name] == tex, f"{name}: {stale}"
