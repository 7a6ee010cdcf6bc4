"""The runner: the smoke suite end to end, --only and resume, a killed run resumed, fingerprints."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from bench import runs
from bench.report import readme as report
from bench.run import runner, suites
from tests.bench.run.minimal_suite import GOOD
from tests.bench.subprocesses import ROOT, run_bench

LANE_COLUMNS = (
    "suite problem n d variant batch_size optimizer lr seed epochs steps dtype status "
    "steps_to_target epochs_to_target samples_to_target time_to_target_s final_loss f_star "
    "final_subopt compile_s run_s run_s_min run_s_max lanes backend device_kind device_count "
    "jax_version jaxlib_version optax_version x64 host git_sha timestamp"
).split()


@pytest.mark.slow
def test_only_leaves_the_run_unfinished_and_resume_completes_it(tmp_path):
    suite = tmp_path / "two.toml"
    suite.write_text(GOOD + 'epochs = 2\n[[variants]]\nname = "mini"\nbatch_size = 4\n')
    s = suites.load(str(suite))
    quiet = dict(progress=False, log=lambda m: None)
    run = runner.run_suite(s, tmp_path / "runs", repeats=1, only="mini", **quiet)
    meta = json.loads((run / "meta.json").read_text())
    assert not meta["complete"] and meta["only"] == "mini"
    with pytest.raises(FileNotFoundError):  # a partial run is no result to report
        runs.discover(tmp_path / "runs")
    again = runner.run_suite(s, tmp_path / "runs", repeats=1, resume=True, **quiet)
    assert again == run and json.loads((run / "meta.json").read_text())["complete"]
    assert len(pd.read_csv(run / "lanes.csv")) == 2


def test_resume_refuses_another_suite_definition_or_software(tmp_path):
    from bench import envinfo

    env = envinfo.describe()
    meta = {"suite": "a", "suite_hash": "h1", "env": dict(env)}
    runs.check_resumable(meta, "a", "h1", env, tmp_path)  # the same: fine
    with pytest.raises(runs.RunFolderError, match="a run of suite 'a', not 'b'"):
        runs.check_resumable(meta, "b", "h1", env, tmp_path)
    with pytest.raises(runs.RunFolderError, match="another definition of suite 'a'"):
        runs.check_resumable(meta, "a", "h2", env, tmp_path)
    with pytest.raises(runs.RunFolderError, match="x64"):
        other = {**meta, "env": {**env, "x64": not env["x64"]}}
        runs.check_resumable(other, "a", "h1", env, tmp_path)


def test_an_entry_fingerprint_changes_with_its_problem(tmp_path):
    """So the suite hash changes too, and --resume refuses a folder of the old definition."""
    path = tmp_path / "t.toml"
    path.write_text(GOOD)
    before = suites.load(str(path)).entries[0].fingerprint()
    path.write_text(GOOD.replace("n = 16", "n = 32"))
    assert suites.load(str(path)).entries[0].fingerprint() != before


@pytest.mark.slow
def test_unknown_suite_name_from_the_command_line():
    proc = run_bench("run", "--suite", "nonesuch", "--out", "/tmp/never")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: unknown suite 'nonesuch'")
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_smoke_suite_end_to_end(tmp_path):
    out = tmp_path / "runs"
    proc = run_bench(
        "run", "--suite", "smoke", "--out", str(out), "--cache-dir", str(tmp_path / "cache")
    )
    assert proc.returncode == 0, proc.stderr
    (run,) = out.iterdir()
    assert run.name.startswith("smoke__cpu-cpu__")
    lanes = pd.read_parquet(run / "lanes.parquet")
    assert set(LANE_COLUMNS) <= set(lanes.columns)
    pd.testing.assert_frame_equal(
        pd.read_csv(run / "lanes.csv")[["lr", "final_loss"]], lanes[["lr", "final_loss"]]
    )
    suite = suites.load("smoke")
    assert len(lanes) == sum(
        len(e.settings["lrs"]) * len(e.settings["seeds"]) for e in suite.entries
    )
    assert set(lanes["status"]) <= {"converged", "diverged", "max_steps"}
    conv = lanes[lanes.status == "converged"]
    assert conv["samples_to_target"].notna().all()
    assert lanes.loc[lanes.status != "converged", "steps_to_target"].isna().all()
    np.testing.assert_allclose(
        conv["time_to_target_s"].astype(float),
        conv["run_s"] * conv["steps_to_target"].astype(float) / conv["steps_run"],
    )
    assert (lanes["run_s_min"] <= lanes["run_s"]).all() and (
        lanes["run_s"] <= lanes["run_s_max"]
    ).all()
    curves = pd.read_parquet(run / "curves.parquet")
    assert {"step", "epoch", "samples", "loss", "subopt"} <= set(curves.columns)
    meta = json.loads((run / "meta.json").read_text())
    assert meta["complete"] and meta["env"]["backend"] == "cpu"
    # each entry's line as it finishes, and again in the closing summary
    entry_lines = [s for s in proc.stdout.splitlines() if " lanes " in s and "best lr" in s]
    assert len(entry_lines) == 2 * len(suite.entries), proc.stdout
    assert "saved 82 lanes" in proc.stdout
    written = report.write(out, tmp_path / "results")
    assert (tmp_path / "results" / "README.md") in written
    assert any(p.suffix == ".png" for p in written)


RESUMABLE = """
name = "resumable"
[defaults]
seeds = [0]
epochs = 3
repeats = 1
lrs = [0.01, 0.1]
[[variants]]
name = "minibatch-8"
batch_size = 8
"""


def _poll(predicate, seconds: float = 240.0):
    """Wait until ``predicate()`` is truthy (a generous deadline: the machine may be busy)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    return predicate()


@pytest.mark.slow
def test_killed_run_resumes_and_skips_finished_entries(tmp_path):
    """SIGKILL once an entry is marked, wherever the other entries are: the tables hold exactly
    the marked entries, and --resume runs only the others."""
    text = RESUMABLE + "".join(
        f'[[problems]]\nname = "p{i}"\nsource = "linear"\nn = {64 + i}\nd = 3\n' for i in range(6)
    )
    suite = tmp_path / "resumable.toml"
    suite.write_text(text)
    out = tmp_path / "runs"
    args = ["run", "--suite", str(suite), "--out", str(out), "--no-cache", "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def an_entry_saved():
        # the marker commits the entry; meta.json's wall time is saved right after it
        metas = list(out.glob("*/meta.json"))
        marked = list(out.glob("*/parts/*.json"))
        return marked and metas and json.loads(metas[0].read_text()).get("wall_s", 0) > 0

    try:
        assert _poll(an_entry_saved), "no entry finished in time"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (run,) = out.iterdir()
    done = runs.markers(run)
    assert 1 <= len(done) <= 6  # how many finished depends on the scheduler: any count is fine
    before = {k: (run / "parts" / f"{k}.json").stat().st_mtime_ns for k in done}
    # every marked entry is in the combined tables; the readers give exactly the marked ones
    raw = pd.read_csv(run / "lanes.csv", on_bad_lines="skip")
    assert set(done) <= set(runs.entry_keys(raw))
    assert set(runs.entry_keys(runs.read_lanes(run))) == set(done)
    assert set(runs.entry_keys(runs.read_curves(run))) == set(done)
    wall_killed = json.loads((run / "meta.json").read_text())["wall_s"]
    assert wall_killed > 0  # saved after every entry, so the killed session's time is kept

    resumed = run_bench(*args, "--resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    if len(done) < 6:
        assert f"{len(done)} of 6 entries already done" in resumed.stdout
    assert list(out.iterdir()) == [run]
    for key, mtime in before.items():
        assert (run / "parts" / f"{key}.json").stat().st_mtime_ns == mtime, f"{key} ran again"
    lanes = pd.read_csv(run / "lanes.csv")
    assert sorted(lanes["problem"].unique()) == [f"p{i}" for i in range(6)]
    assert len(lanes) == 12  # no entry twice
    same = ["problem", "lr", "seed", "final_loss"]
    pd.testing.assert_frame_equal(pd.read_parquet(run / "lanes.parquet")[same], lanes[same])
    assert len(runs.read_curves(run).groupby(["problem", "lr"])) == 12
    meta = json.loads((run / "meta.json").read_text())
    assert meta["complete"] and meta["wall_s"] >= wall_killed
    if len(done) < 6:  # the resumed session ran entries: its time is added
        assert meta["wall_s"] > wall_killed
