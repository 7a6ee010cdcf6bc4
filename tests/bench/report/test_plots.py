"""bench.report.plots and what the report does to results/: one file per plot, nothing else."""

import json
import shutil

import pytest

from bench import runs
from bench.report import plots
from bench.report import readme as report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_one_file_per_plot_kind(tiny_run, tmp_path):
    run = runs.discover(tiny_run)[0]
    written = plots.plot_problem(run, "linear-64x3", tmp_path)
    assert [p.name for p in written] == plots.plot_names("linear-64x3")
    assert all(p.read_bytes().startswith(PNG) for p in written)
    assert not list(tmp_path.glob(".*"))  # no temporary file left over


@pytest.mark.slow
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
        p.relative_to(results).as_posix() for p in written if p.suffix in (".png", ".tex")
    )


@pytest.mark.slow
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
    old_tex = results / "tables" / "tiny" / "gone.tex"
    old_tex.write_text("\\toprule")
    drawn["tiny"].append("tables/tiny/gone.tex")
    by_hand = results / "tables" / "tiny" / "typed-by-hand.tex"
    by_hand.write_text("kept")
    manifest.write_text(json.dumps(drawn))
    report.write(scratch, results)
    assert not old.exists() and not old_tex.exists()
    assert by_hand.read_text() == "kept"  # no report wrote it
    listed = json.loads(manifest.read_text())["tiny"]
    assert "plots/tiny/gone-lr.png" not in listed and "tables/tiny/gone.tex" not in listed


@pytest.mark.slow
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


@pytest.mark.slow
def test_profile_and_latex_tables_are_written(tiny_run, tmp_path):
    """A run with target ladders: LaTeX under tables/; its one problem is too few for a
    profile plot (bench.report.profiles.MIN_PROFILE_PROBLEMS): the README has its table."""
    written = report.write(tiny_run, tmp_path / "results")
    names = {p.relative_to(tmp_path / "results").as_posix() for p in written}
    assert "plots/tiny/profile.png" not in names
    assert "Performance profile not drawn" in (tmp_path / "results" / "README.md").read_text()
    assert {"tables/tiny/linear-64x3-samples.tex", "tables/tiny/summary-samples.tex"} <= names
    tex = (tmp_path / "results" / "tables" / "tiny" / "linear-64x3-samples.tex").read_text()
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "minibatch-8" in tex and "$10^{-1}$" in tex


SHORT_SUITE = """
name = "short"
description = "A budget too short for any target (tests)."

[defaults]
seeds = [0, 1]
tol = 1e-2
repeats = 1

[[problems]]
name = "linear-64x3"
source = "linear"
n = 64
d = 3

[[variants]]
name = "batch"
batch_size = "all"
epochs = 1
lrs = [1e-4, 3e-4]

[[variants]]
name = "minibatch-8"
batch_size = 8
epochs = 1
lrs = [1e-4, 2e-4]
"""


@pytest.mark.slow
def test_report_renders_a_run_that_reached_no_target(tmp_path):
    """The normal result of a short budget: no lane of the problem reached any target."""
    from bench.run import runner, suites

    (tmp_path / "short.toml").write_text(SHORT_SUITE)
    suite = suites.load(str(tmp_path / "short.toml"))
    run_dir = runner.run_suite(
        suite, tmp_path / "runs", repeats=1, progress=False, log=lambda s: None
    )
    assert runs.discover(run_dir)[0].hits()["first_step"].isna().all()
    written = report.write(tmp_path / "runs", tmp_path / "results")
    names = {p.name for p in written}
    assert set(plots.plot_names("linear-64x3")) <= names
    assert "profile.png" not in names  # no problem reached a target: no profile to draw
    lr_plot = tmp_path / "results" / "plots" / "short" / "linear-64x3-lr.png"
    assert lr_plot.read_bytes().startswith(PNG)
    assert "(no target on every seed)" in (tmp_path / "results" / "README.md").read_text()


@pytest.mark.parametrize(
    "text",
    [
        b"{",
        b"[]",
        b'{"tiny": 3}',
        b"\xff\xfe{}",
        b'{"tiny": ["../../outside.png", "../README.md"]}',
    ],
    ids=["truncated", "a-list", "not-a-list", "not-utf8", "outside-paths"],
)
@pytest.mark.slow
def test_report_survives_a_corrupt_manifest_and_deletes_nothing_on_a_guess(
    tiny_run, tmp_path, text
):
    results = tmp_path / "work" / "results"
    outside = tmp_path / "outside.png"
    outside.write_bytes(PNG)
    (results / "plots").mkdir(parents=True)
    (results / "plots" / "manifest.json").write_bytes(text)
    report.write(tiny_run, results)
    assert outside.read_bytes() == PNG
    assert (results / "README.md").is_file()
    manifest = json.loads((results / "plots" / "manifest.json").read_text())
    assert "plots/tiny/linear-64x3-samples.png" in manifest["tiny"]
