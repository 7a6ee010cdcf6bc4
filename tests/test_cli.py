"""bench.cli: user errors are one line and exit 2; bugs keep their traceback; the help text."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench import cli, report, suites
from bench.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


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
