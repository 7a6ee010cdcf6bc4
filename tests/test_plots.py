"""bench.plots and what report does to results/: one file per plot kind, nothing foreign deleted."""

import json
import shutil

import numpy as np
import pytest

import gdjax
from bench import plots, report, runs

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("alpha", [0.1, 0.5, 1.0])
def test_plot_smoothing_is_the_library_ewma(alpha):
    y = np.array([5.0, np.nan, 3.0, 4.0, np.nan, np.nan, 1.0, 2.0])
    np.testing.assert_allclose(plots.ewma(y, alpha), gdjax.metrics.ewma(y, alpha), equal_nan=True)


def test_one_file_per_plot_kind(tiny_run, tmp_path):
    run = runs.discover(tiny_run)[0]
    written = plots.plot_problem(run, "linear-64x3", tmp_path)
    assert [p.name for p in written] == plots.plot_names("linear-64x3")
    assert all(p.read_bytes().startswith(PNG) for p in written)
    assert not list(tmp_path.glob(".*"))  # no temporary file left over


def test_report_deletes_no_plot_it_did_not_write(tiny_run, tmp_path):
    """Reporting a scratch folder of runs into results/ keeps the other suites' plots."""
    results = tmp_path / "results"
    published = results / "plots" / "default" / "linear-4096x32-lr.png"
    published.parent.mkdir(parents=True)
    published.write_bytes(PNG + b"published")
    stray = results / "plots" / "tiny" / "drawn-by-hand.png"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(PNG)
    scratch = tmp_path / "scratch"
    shutil.copytree(tiny_run, scratch / tiny_run.name)
    written = report.write(scratch, results)
    assert published.read_bytes() == PNG + b"published"
    assert stray.is_file()  # in a suite report rewrites, but no report wrote it
    manifest = json.loads((results / "plots" / "manifest.json").read_text())
    assert sorted(manifest) == ["tiny"]
    assert sorted(manifest["tiny"]) == sorted(
        p.relative_to(results).as_posix() for p in written if p.suffix == ".png"
    )


def test_report_removes_its_own_stale_plots(tiny_run, tmp_path):
    """A problem that left the suite: report removes the plots it drew for it before."""
    results = tmp_path / "results"
    scratch = tmp_path / "scratch"
    shutil.copytree(tiny_run, scratch / tiny_run.name)
    report.write(scratch, results)
    manifest = results / "plots" / "manifest.json"
    old = results / "plots" / "tiny" / "gone-lr.png"
    old.write_bytes(PNG)
    drawn = json.loads(manifest.read_text())
    drawn["tiny"].append("plots/tiny/gone-lr.png")
    manifest.write_text(json.dumps(drawn))
    report.write(scratch, results)
    assert not old.exists()
    assert "plots/tiny/gone-lr.png" not in json.loads(manifest.read_text())["tiny"]


def test_report_writes_through_temporary_files(tiny_run, tmp_path, monkeypatch):
    """Every file report writes goes through runs.atomic_write (temp file, then rename)."""
    from bench.runs import _files

    seen = []
    real = _files.atomic_write

    def spy(path, write):
        seen.append(path)
        real(path, write)

    monkeypatch.setattr(_files, "atomic_write", spy)  # write_text, write_json
    monkeypatch.setattr(runs, "atomic_write", spy)  # plots
    written = report.write(tiny_run, tmp_path / "results")
    assert set(written) <= set(seen)
    assert not list((tmp_path / "results").rglob(".*tmp*"))
