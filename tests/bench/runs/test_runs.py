"""bench.runs: exclusive run folders, the marker written last, resume, wall time, corrupt folders.

Nothing here depends on timing or scheduling: collisions are forced by pinning the folder stamp,
crashes are injected with monkeypatch, and the one test with two processes accepts any order.
"""

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench import cli, envinfo, runs
from bench.run import runner, suites

ROOT = Path(__file__).resolve().parents[3]
QUIET = dict(progress=False, log=lambda m: None)
TWO = """
name = "two"
[defaults]
seeds = [0]
epochs = 2
repeats = 1
lrs = [0.01, 0.1]
[[problems]]
name = "p0"
source = "linear"
n = {n}
d = 2
[[problems]]
name = "p1"
source = "linear"
n = 24
d = 2
[[variants]]
name = "batch"
"""


def _suite(tmp_path: Path, n: int = 16, file: str = "two.toml") -> suites.Suite:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / file
    path.write_text(TWO.format(n=n))
    return suites.load(str(path))


# ---------------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", ["a/b", "..", "../x", "a\\b", ".hidden", "a b", "", "é"])
def test_a_suite_name_is_a_label_never_a_path(name):
    with pytest.raises(runs.RunFolderError, match="not a label"):
        runs.check_name(name)
    with pytest.raises(runs.RunFolderError):
        runs.run_prefix(name, {"backend": "cpu", "device_kind": "cpu"})


@pytest.mark.parametrize("name", ["smoke", "my_suite-2", "v1.0"])
def test_plain_suite_names_are_accepted(name):
    assert runs.check_name(name) == name


def test_folders_made_in_the_same_second_are_distinct(tmp_path):
    made = [runs.create(tmp_path, "s__cpu-cpu", stamp="20300101T000000Z") for _ in range(3)]
    assert [p.name for p in made] == [
        "s__cpu-cpu__20300101T000000Z",
        "s__cpu-cpu__20300101T000000Z-2",
        "s__cpu-cpu__20300101T000000Z-3",
    ]
    assert all((p / "parts").is_dir() for p in made)


@pytest.mark.slow
def test_two_runs_with_a_pinned_clock_and_the_same_name_never_share_a_folder(tmp_path, monkeypatch):
    """Two suite files named alike, started 'in the same second': two folders, nothing mixed."""
    from bench.runs import _writing

    monkeypatch.setattr(_writing, "utc_stamp", lambda: "20300101T000000Z")
    first = runner.run_suite(_suite(tmp_path / "a", n=16), tmp_path / "runs", **QUIET)
    second = runner.run_suite(_suite(tmp_path / "b", n=20), tmp_path / "runs", **QUIET)
    assert first != second and second.name == first.name + "-2"
    assert set(runs.read_lanes(first)["n"]) == {16, 24}
    assert set(runs.read_lanes(second)["n"]) == {20, 24}
    for run in (first, second):
        assert runs.read_meta(run)["complete"]
        assert len(runs.read_lanes(run)) == 4


@pytest.mark.slow
def test_two_processes_into_one_out_folder(tmp_path):
    """Started together (often in the same second): two folders, each whole and its own."""
    for name, n in (("a", 16), ("b", 20)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "two.toml").write_text(TWO.format(n=n))
    out = tmp_path / "runs"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench",
                "run",
                "--suite",
                str(tmp_path / name / "two.toml"),
                "--out",
                str(out),
                "--no-cache",
                "--no-progress",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    folders = sorted(out.iterdir())
    assert len(folders) == 2
    sizes = sorted(tuple(sorted(set(runs.read_lanes(f)["n"]))) for f in folders)
    assert sizes == [(16, 24), (20, 24)]
    for f in folders:
        assert runs.read_meta(f)["complete"] and len(pd.read_csv(f / "lanes.csv")) == 4


@pytest.mark.slow
def test_resume_refuses_another_suite_file_with_the_same_name(tmp_path, capsys):
    first = runner.run_suite(_suite(tmp_path / "a"), tmp_path / "runs", only="p0", **QUIET)
    other = _suite(tmp_path / "b", n=20)  # also named "two", another definition
    with pytest.raises(runs.RunFolderError, match="another definition of suite 'two'"):
        runner.run_suite(other, tmp_path / "runs", resume=True, **QUIET)
    args = ["run", "--suite", str(tmp_path / "b" / "two.toml"), "--out", str(tmp_path / "runs")]
    assert cli.main([*args, "--resume", "--no-cache", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another definition" in err
    assert sorted(runs.markers(first)) == ["p0__batch__sgd"]  # untouched
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [first.name]


@pytest.mark.slow
def test_meta_names_the_suite_file_without_the_machines_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = runner.run_suite(_suite(tmp_path / "a"), Path("runs"), only="p0", **QUIET)
    assert runs.read_meta(run)["suite_file"] == "a/two.toml"
    assert runs.suite_file_label(Path("/elsewhere/x.toml")) == "x.toml"


# ---------------------------------------------------------------------------------- marker last


@pytest.mark.slow
def test_a_crash_before_the_marker_leaves_consistent_tables(tmp_path, monkeypatch):
    """Kill the run between an entry's rows and its marker: the entry counts as not done."""
    from bench.runs import _writing

    real = _writing.write_json

    def crash_at_second_marker(path, obj):
        if path.name == "p1__batch__sgd.json":
            raise KeyboardInterrupt("killed")
        real(path, obj)

    monkeypatch.setattr(_writing, "write_json", crash_at_second_marker)
    suite = _suite(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        runner.run_suite(suite, tmp_path / "runs", **QUIET)
    (run,) = (tmp_path / "runs").iterdir()
    assert sorted(runs.markers(run)) == ["p0__batch__sgd"]
    # p1's rows reached the logs, but nothing that reads the folder shows them
    assert set(pd.read_csv(run / "lanes.csv")["problem"]) == {"p0", "p1"}
    assert set(runs.read_lanes(run)["problem"]) == {"p0"}
    assert set(runs.read_curves(run)["problem"]) == {"p0"}
    marker = (run / "parts" / "p0__batch__sgd.json").stat().st_mtime_ns

    monkeypatch.setattr(_writing, "write_json", real)
    again = runner.run_suite(suite, tmp_path / "runs", resume=True, **QUIET)
    assert again == run and runs.read_meta(run)["complete"]
    lanes = pd.read_csv(run / "lanes.csv")
    assert sorted(lanes["problem"]) == ["p0", "p0", "p1", "p1"]  # p1 once, not twice
    assert len(runs.read_curves(run).drop_duplicates(["problem", "lr", "step"])) == len(
        runs.read_curves(run)
    )
    assert (run / "parts" / "p0__batch__sgd.json").stat().st_mtime_ns == marker  # not rerun


@pytest.mark.slow
def test_a_torn_tail_is_dropped_by_readers_and_cut_by_resume(tmp_path):
    suite = _suite(tmp_path)
    run = runner.run_suite(suite, tmp_path / "runs", only="p0", **QUIET)
    (run / "lanes.parquet").unlink()  # as after a kill: only the logs
    (run / "curves.parquet").unlink()
    with (run / "lanes.csv").open("a") as f:
        f.write("two,p1,batch,bat")  # a kill in the middle of a line
    good = (run / "curves.csv.gz").stat().st_size
    member = gzip.compress(b"x" * 1000)
    with (run / "curves.csv.gz").open("ab") as f:
        f.write(member[: len(member) // 2])  # half a gzip member
    assert set(runs.read_lanes(run)["problem"]) == {"p0"}
    assert set(runs.read_curves(run)["problem"]) == {"p0"}
    runs.prepare_resume(run)
    assert (run / "curves.csv.gz").stat().st_size == good
    assert set(pd.read_csv(run / "lanes.csv")["problem"]) == {"p0"}


@pytest.mark.slow
def test_each_entry_appends_instead_of_rewriting(tmp_path, monkeypatch):
    """Saving an entry writes that entry's rows, not the whole run again (no quadratic I/O)."""
    from bench.runs import _writing

    written = []
    real = _writing.atomic_write
    monkeypatch.setattr(
        _writing, "atomic_write", lambda path, w: (written.append(path.name), real(path, w))
    )
    runner.run_suite(_suite(tmp_path), tmp_path / "runs", **QUIET)
    combined = [n for n in written if not n.startswith(("p0", "p1", "meta"))]
    # the parquet tables and hits once, at the end; lanes.csv once at the start and once in
    # suite order
    assert sorted(combined) == [
        "curves.parquet",
        "hits.csv",
        "hits.parquet",
        "lanes.csv",
        "lanes.csv",
        "lanes.parquet",
    ]


# ---------------------------------------------------------------------------------- wall time


@pytest.mark.slow
def test_wall_time_adds_up_every_session(tmp_path, monkeypatch):
    """A fake clock that advances 10 s per reading: each session adds what it measured."""
    clock = iter(range(0, 10_000, 10))
    monkeypatch.setattr(runner.time, "perf_counter", lambda: float(next(clock)))
    suite = _suite(tmp_path)
    run = runner.run_suite(suite, tmp_path / "runs", only="p0", **QUIET)
    first = runs.read_meta(run)["wall_s"]
    assert first > 0
    runner.run_suite(suite, tmp_path / "runs", resume=True, **QUIET)
    meta = runs.read_meta(run)
    assert meta["complete"] and meta["wall_s"] == pytest.approx(2 * first)


# ---------------------------------------------------------------------------------- corrupt folders


def _break_meta_json(run):
    (run / "meta.json").write_text("{not json")
    return "meta.json: not JSON"


def _break_meta_object(run):
    (run / "meta.json").write_text("[1, 2]")
    return "meta.json: not a JSON object"


def _break_meta_keys(run):
    (run / "meta.json").write_text(json.dumps({"suite": "tiny"}))
    return "meta.json: missing keys ['env', 'complete']"


def _break_columns(run):
    lanes = pd.read_parquet(run / "lanes.parquet").drop(columns=["run_s"])
    lanes.to_parquet(run / "lanes.parquet", index=False)
    return "lanes.parquet: missing columns ['run_s']"


def _break_empty(run):
    pd.read_parquet(run / "lanes.parquet").iloc[:0].to_parquet(run / "lanes.parquet")
    return "lanes.parquet: no rows"


def _break_truncated(run):
    data = (run / "lanes.parquet").read_bytes()
    (run / "lanes.parquet").write_bytes(data[: len(data) // 2])
    return "lanes.parquet: unreadable"


def _break_csv_only(run):
    (run / "lanes.parquet").unlink()
    (run / "lanes.csv").write_text("")
    return "lanes.csv: unreadable"


@pytest.mark.parametrize(
    "corrupt",
    [
        _break_meta_json,
        _break_meta_object,
        _break_meta_keys,
        _break_columns,
        _break_empty,
        _break_truncated,
        _break_csv_only,
    ],
)
def test_a_corrupt_run_folder_is_one_line_naming_the_file(tiny_run, tmp_path, capsys, corrupt):
    folder = tmp_path / "runs"
    shutil.copytree(tiny_run, folder / "tiny__cpu-cpu__20200101T000000Z")  # older and good
    bad = folder / "tiny__cpu-cpu__20300101T000000Z"
    shutil.copytree(tiny_run, bad)
    message = corrupt(bad)
    # the newest run is broken: no silent fall-back to the older one
    with pytest.raises(runs.RunFolderError, match="20300101T000000Z"):
        runs.discover(folder)
    assert cli.main(["report", str(folder), "--results", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(bad) in err and message in err, err
    assert not (tmp_path / "res" / "README.md").exists()
    assert cli.main(["compare", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err


def test_a_folder_of_runs_that_holds_no_run(tmp_path):
    with pytest.raises(runs.NoRunError):
        runs.discover(tmp_path)
    with pytest.raises(FileNotFoundError):  # NoRunError is also a FileNotFoundError
        runs.discover(tmp_path)


def test_resume_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    path = tmp_path / "two.toml"
    path.write_text(TWO.format(n=16))
    (tmp_path / "nothing").mkdir()
    args = ["run", "--suite", str(path), "--no-cache", "--resume", str(tmp_path / "nothing")]
    assert cli.main(args) == 2
    assert "meta.json: missing" in capsys.readouterr().err


@pytest.mark.slow
def test_env_is_checked_on_resume(tmp_path):
    run = runner.run_suite(_suite(tmp_path), tmp_path / "runs", only="p0", **QUIET)
    meta = runs.read_meta(run)
    meta["env"]["jax_version"] = "0.0.1"
    runs.write_meta(run, meta)
    with pytest.raises(runs.RunFolderError, match=r"jax_version = '0\.0\.1'"):
        runner.run_suite(_suite(tmp_path), tmp_path / "runs", resume=run, **QUIET)
    assert envinfo.describe()["jax_version"] != "0.0.1"


@pytest.mark.slow
def test_a_folder_in_use_cannot_be_resumed(tmp_path):
    """While one session holds a folder, a second --resume is refused; a kill frees it."""
    suite = _suite(tmp_path)
    run = runner.run_suite(suite, tmp_path / "runs", only="p0", **QUIET)
    with runs.session_lock(run):
        with pytest.raises(runs.RunFolderError, match="another bench run is writing"):
            runner.run_suite(suite, tmp_path / "runs", resume=True, **QUIET)
    # released with the session (the system releases it too when a process is killed)
    runner.run_suite(suite, tmp_path / "runs", resume=True, **QUIET)
    assert runs.read_meta(run)["complete"]


@pytest.mark.parametrize("cut", [1, 5, 40])  # inside the last field, a few fields, many
def test_a_finished_run_whose_lanes_csv_is_torn_is_one_line_not_half_a_lane(
    tiny_run, tmp_path, capsys, cut
):
    """No lanes.parquet, and lanes.csv cut in its last line: that line is no lane."""
    run = tmp_path / "runs" / tiny_run.name
    shutil.copytree(tiny_run, run)
    (run / "lanes.parquet").unlink()
    data = (run / "lanes.csv").read_bytes()
    (run / "lanes.csv").write_bytes(data[: -cut - 1])  # the newline and `cut` bytes before it
    with pytest.raises(runs.RunFolderError, match=r"lanes\.csv: the last line is torn"):
        runs.read_lanes(run)
    for argv in (["compare", str(run)], ["compare", str(run / "lanes.csv")]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "the last line is torn" in err, err


@pytest.mark.slow
def test_a_torn_row_of_a_marked_entry_is_not_read_as_a_lane(tmp_path):
    """An unfinished run's log: a cut copy of a committed row keeps its key, not its values."""
    run = runner.run_suite(_suite(tmp_path), tmp_path / "runs", only="p0", **QUIET)
    (run / "lanes.parquet").unlink()
    whole = runs.read_lanes(run)
    last = (run / "lanes.csv").read_bytes().splitlines(keepends=True)[-1]
    with (run / "lanes.csv").open("ab") as f:
        f.write(last[: len(last) // 2])  # a kill in the middle of a line
    pd.testing.assert_frame_equal(runs.read_lanes(run), whole)


@pytest.mark.parametrize(
    "column, values, match",
    [
        ("lr", ["0.1", "fast"], r"column 'lr' holds 'fast', not a number"),
        ("seed", ["a", "0"], r"column 'seed' holds 'a', not a number"),
        ("target", ["0.1", "1e-2x"], r"column 'target' holds '1e-2x', not a number"),
    ],
)
def test_a_table_with_text_in_a_number_column_is_refused_in_one_line(
    tmp_path, column, values, match
):
    df = pd.DataFrame({c: ["x", "x"] for c in runs.ENTRY_COLUMNS} | {column: values})
    df["batch_size"] = [1, 1]
    df.to_parquet(tmp_path / "lanes.parquet")
    with pytest.raises(runs.RunFolderError, match=match):
        runs.read_table(tmp_path / "lanes.parquet", runs.ENTRY_COLUMNS)


def test_numbers_written_as_text_are_read_as_numbers(tmp_path):
    df = pd.DataFrame({c: ["x", "x"] for c in runs.ENTRY_COLUMNS} | {"lr": ["0.1", "1e-2"]})
    df["batch_size"] = ["8", "8"]
    df.to_parquet(tmp_path / "lanes.parquet")
    got = runs.read_table(tmp_path / "lanes.parquet", runs.ENTRY_COLUMNS)
    assert got["lr"].tolist() == [0.1, 0.01] and got["batch_size"].tolist() == [8, 8]
