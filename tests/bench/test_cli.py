"""bench.cli: user errors are one line and exit 2; bugs keep their traceback; the help text."""

import json
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from bench import cli, destinations, runs
from bench.errors import UserError
from bench.report import readme as report
from bench.run import suites

ROOT = Path(__file__).resolve().parents[2]


def _one_line_error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize(
    "argv, text",
    [
        (["run", "--suite", "smoke", "--repeats", "0"], "--repeats: must be >= 1, got 0"),
        (["run", "--suite", "smoke", "--repeats", "two"], "expected an int >= 1"),
        (["scaling", "--devices", "1", "0"], "--devices: must be >= 1, got 0"),
        (["report", "--smooth", "0"], "--smooth: must be in (0, 1], got 0"),
        (["report", "--smooth", "1.5"], "must be in (0, 1], got 1.5"),
        (["report", "--smooth", "nan"], "must be in (0, 1], got nan"),
        (["nonesuch"], "invalid choice: 'nonesuch'"),
        (["run"], "the following arguments are required: --suite"),
    ],
)
def test_bad_numbers_and_arguments_are_one_line_and_exit_2(capsys, argv, text):
    assert text in _one_line_error(capsys, argv)


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    assert cli.main(["compare", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path / 'missing'}: no such file or folder\n"
    assert cli.main(["run", "--suite", "nonesuch", "--no-cache"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown suite 'nonesuch'")


def test_only_that_matches_nothing_is_a_user_error(capsys, tmp_path):
    args = ["run", "--suite", "smoke", "--only", "zzz", "--no-cache", "--out", str(tmp_path)]
    assert cli.main(args) == 2
    assert "matches --only 'zzz'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # no folder left behind


@pytest.mark.parametrize("exc", [ValueError("planted bug"), TypeError("planted bug")])
def test_a_bug_deep_inside_keeps_its_traceback(monkeypatch, tmp_path, exc):
    """A ValueError or TypeError that is not a UserError is a bug: it must not become exit 2."""

    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr(report, "write", broken)
    with pytest.raises(type(exc), match="planted bug"):
        cli.main(["report", str(tmp_path)])


def test_a_user_error_raised_deep_inside_is_exit_2(monkeypatch, tmp_path, capsys):
    def refuse(*args, **kwargs):
        raise UserError("a thing the user can fix\nover two lines")

    monkeypatch.setattr(report, "write", refuse)
    assert cli.main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: a thing the user can fix over two lines\n"


def test_suite_errors_are_user_errors(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    with pytest.raises(suites.SuiteError):
        suites.load(str(bad))
    assert cli.main(["run", "--suite", str(bad), "--no-cache"]) == 2
    assert "malformed TOML" in capsys.readouterr().err


def _help(capsys, argv, prog=None) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv, prog=prog)
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_help_hides_the_internal_worker_and_raw_rst(capsys):
    text = _help(capsys, ["--help"], prog="python -m bench")
    assert text.startswith("usage: python -m bench ")
    assert "_scaling-worker" not in text and "``" not in text
    for cmd in ("run", "report", "compare", "env", "list", "scaling", "roofline"):
        assert f"\n    {cmd} " in text
    for sub in ("run", "report", "scaling", "compare"):
        assert "``" not in _help(capsys, [sub, "--help"])


def test_the_console_script_names_itself(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/gdjax-bench", "--help"])
    text = _help(capsys, None)
    assert text.startswith("usage: gdjax-bench ") and "python -m bench" not in text


@pytest.mark.slow
def test_python_dash_m_bench_names_itself():
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("usage: python -m bench ")


def test_only_says_what_it_matched_before_running(tmp_path, capsys):
    from tests.conftest import TINY_SUITE

    (tmp_path / "tiny.toml").write_text(TINY_SUITE)
    args = ["run", "--suite", str(tmp_path / "tiny.toml"), "--only", "minibatch-8"]
    assert cli.main([*args, "--no-cache", "--no-progress", "--out", str(tmp_path / "runs")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "--only 'minibatch-8': 1 of 2 entries: linear-64x3__minibatch-8__sgd"


def test_scaling_refuses_a_device_count_given_twice(tmp_path, capsys):
    """Two rows per entry for one count made a pandas Series of one cell of scaling.csv."""
    args = ["scaling", "--suite", "smoke", "--devices", "1", "2", "1", "--out", str(tmp_path)]
    assert cli.main(args) == 2
    assert capsys.readouterr().err == (
        "error: --devices lists 1 twice: give each device count once\n"
    )
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------------- where output goes


def _checkout(tmp_path, monkeypatch, tiny_run) -> Path:
    """A stand-in repository (pyproject.toml, results/ with one published run), as cwd: the
    quick start's commands run from the repository root."""
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(tiny_run, repo / "results" / "runs" / tiny_run.name)
    (repo / "pyproject.toml").write_text("[project]\nname = 'gdjax'\n")
    (repo / "tiny.toml").write_text((tiny_run.parent.parent / "tiny.toml").read_text())
    monkeypatch.setattr(destinations, "REPOSITORY", repo, raising=False)
    monkeypatch.chdir(repo)
    return repo


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.slow
def test_the_quick_start_writes_a_scratch_folder_and_no_published_file(
    tmp_path, monkeypatch, tiny_run, capsys
):
    """`bench run --suite S && bench report`: the run and its report go to bench-out/;
    results/ keeps every byte (it lost 27 files and its default run to the quick start)."""
    repo = _checkout(tmp_path, monkeypatch, tiny_run)
    before = _files(repo / "results")
    assert cli.main(["run", "--suite", "tiny.toml", "--no-cache", "--no-progress"]) == 0
    assert cli.main(["report", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert _files(repo / "results") == before
    (run,) = runs.run_folders(repo / "bench-out" / "runs")
    assert f"in {Path('bench-out/runs') / run.name}" in out  # it says where the run went
    readme = (repo / "bench-out" / "README.md").read_text()
    assert run.name in readme and tiny_run.name not in readme
    assert out.rstrip().endswith("report of bench-out/runs written to bench-out/README.md")


@pytest.mark.slow
def test_publish_writes_the_repository_results(tmp_path, monkeypatch, tiny_run, capsys):
    repo = _checkout(tmp_path, monkeypatch, tiny_run)
    assert (
        cli.main(["run", "--suite", "tiny.toml", "--no-cache", "--no-progress", "--publish"]) == 0
    )
    published = runs.run_folders(repo / "results" / "runs")
    assert len(published) == 2 and tiny_run.name in {p.name for p in published}
    assert cli.main(["report", "--no-plots", "--publish"]) == 0
    readme = (repo / "results" / "README.md").read_text()
    assert published[-1].name in readme  # the newest run of the machine
    assert not (repo / "bench-out").exists()


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        # a scratch run never adds sections to the published README
        (["report", "bench-out/runs", "--publish"], "report --publish reads the published runs"),
        (["report", "--results", "results"], "--results results is inside the repository's"),
        (["report", "--results", "results/sub"], "pass --publish"),
        (["run", "--suite", "tiny.toml", "--out", "results/runs"], "--out results/runs is inside"),
        (["run", "--suite", "tiny.toml", "--out", "results/../results/runs"], "is inside"),
        (["run", "--suite", "tiny.toml", "--publish", "--out", "x"], "--publish writes into"),
        (["scaling", "--suite", "tiny.toml", "--out", "results/runs"], "--out results/runs is"),
        (["run", "--suite", "tiny.toml", "--resume", "results/runs"], "--resume results/runs is"),
    ],
)
def test_writing_into_results_takes_publish(tmp_path, monkeypatch, tiny_run, capsys, argv, text):
    repo = _checkout(tmp_path, monkeypatch, tiny_run)
    (repo / "bench-out" / "runs").mkdir(parents=True)
    before = _files(repo / "results")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and text in err, err
    assert _files(repo / "results") == before


def test_publish_outside_a_checkout_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(destinations, "REPOSITORY", tmp_path / "site-packages")
    assert cli.main(["report", "--publish"]) == 2
    assert "is not a gdjax checkout" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--suite", "smoke", "--no-cache", "--out", "{file}"],
        ["run", "--suite", "smoke", "--no-cache", "--out", "{file}/runs"],
        ["scaling", "--suite", "smoke", "--out", "{file}"],
        ["report", "--results", "{file}"],
    ],
)
def test_an_output_folder_that_is_a_file_is_one_clear_line(tmp_path, capsys, argv):
    """mkdir said only 'File exists' (or 'Not a directory')."""
    file = tmp_path / "taken"
    file.write_text("mine")
    argv = [a.format(file=file) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    flag = "--results" if "--results" in argv else "--out"
    assert err.startswith(f"error: {flag} {file}") and err.count("\n") == 1, err
    assert "a file, not a folder" in err and "File exists" not in err
    assert file.read_text() == "mine"


@pytest.mark.parametrize(
    "argv, says, never",
    [
        (["report"], "the report is unfinished", "--resume"),
        (["list"], "interrupted", "--resume"),
    ],
)
def test_ctrl_c_says_what_is_true_for_the_command(monkeypatch, capsys, argv, says, never):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write", interrupted)
    monkeypatch.setattr(suites, "available", interrupted)
    assert cli.main(argv) == 130
    err = capsys.readouterr().err.strip("\n")
    assert "\n" not in err and says in err and never not in err, err


def test_env_command_names_the_machine(capsys):
    assert cli.main(["env"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backend"] == jax.default_backend() and info["device_count"] >= 1
    assert {"jax_version", "jaxlib_version", "optax_version", "host", "git_sha"} <= set(info)
