"""``bench scaling --lanes`` on a tiny problem: rates, rows and columns, the run folder, the CLI's
flags and errors, and perf.md's lanes table."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from bench import cli, cli_parser, envinfo, runs
from bench.perf import lane_scaling
from bench.report import lanes_report, perf_report
from bench.run import roofline
from tests.conftest import TINY_SUITE

LANES = [3, 5]
# every step run, as the perf suite's: the bare program never stops early
SUITE = TINY_SUITE.replace("repeats = 1\n", "repeats = 1\nearly_stop = false\n")


@pytest.fixture(scope="module")
def lane_run(tmp_path_factory):
    """The tiny suite's minibatch entry at 3 and 5 lanes, with a small roofline."""
    root = tmp_path_factory.mktemp("lanes")
    (root / "tiny.toml").write_text(SUITE)
    small = roofline.measure(gemm_n=64, copy_mib=1, repeats=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(roofline, "measure", lambda: small)
        return lane_scaling.run(
            str(root / "tiny.toml"), LANES, root / "runs", 1, "minibatch-8", log=lambda s: None
        )


def test_lanes_are_the_suites_rates_at_their_count_else_spread_over_their_range():
    rates = [0.01, 0.1, 0.3]
    assert lane_scaling.lane_rates(rates, 3).tolist() == rates
    spread = lane_scaling.lane_rates(rates, 5)
    np.testing.assert_allclose(spread[[0, -1]], [0.01, 0.3])
    np.testing.assert_allclose(np.diff(np.log(spread)), np.log(30) / 4)  # geometric


def test_every_lane_count_is_a_row_with_its_columns(lane_run):
    table = pd.read_csv(lane_run / runs.LANE_SCALING)
    assert table["lanes"].tolist() == LANES
    for c in ("gdjax_s", "bare_s", "gdjax_vs_bare", "bare_max_rel_diff", "flops_per_step"):
        assert (table[c] > 0).all(), c
    for c in ("bytes_per_step", "gflops", "gbytes_s", "of_gemm", "of_copy", "compile_s"):
        assert (table[c] > 0).all(), c
    assert (table["bare_max_rel_diff"] < 1e-4).all()  # the same arithmetic
    np.testing.assert_allclose(table["gdjax_vs_bare"], table["gdjax_s"] / table["bare_s"])
    assert (table["steps"] == 4 * 64 // 8).all() and (table["batch_size"] == 8).all()
    # gflops is flops per step x steps / gdjax's median
    np.testing.assert_allclose(
        table["gflops"], table["flops_per_step"] * table["steps"] / table["gdjax_s"] / 1e9
    )
    # more lanes, more flops a step: the vmapped product grows with them
    assert table["flops_per_step"].is_monotonic_increasing
    meta = runs.read_meta(lane_run)
    assert meta["kind"] == "scaling" and meta["axis"] == "lanes" and meta["complete"]
    assert meta["entry"] == "linear-64x3__minibatch-8__sgd" and meta["roofline"]["gemm_gflops"]


def test_no_reader_of_runs_takes_the_lanes_folder_for_another(lane_run):
    with pytest.raises(runs.NoRunError):
        runs.discover(lane_run.parent)
    assert runs.newest_scaling(lane_run.parent, envinfo.describe()["host"]) is None


@pytest.mark.parametrize(
    "argv, text",
    [
        (["scaling", "--lanes", "64", "0"], "--lanes: must be >= 1, got 0"),
        (["scaling", "--lanes", "many"], "--lanes: expected an int >= 1, got 'many'"),
        (["scaling", "--lanes", "4", "8", "4"], "--lanes lists 4 twice"),
        (["scaling", "--lanes", "4", "--devices", "1"], "give one axis at a time"),
        (["scaling", "--lanes", "4", "--only", "zzz"], "matches --only 'zzz'"),
        (["scaling", "--lanes", "4", "--only", "sgd"], "--lanes times one entry"),
        (["scaling", "--lanes", "4", "--only", "batch"], "stops lanes early"),
    ],
)
def test_bad_lane_flags_exit_2_with_one_line(tmp_path, capsys, argv, text):
    (tmp_path / "tiny.toml").write_text(TINY_SUITE)
    argv = [*argv, "--suite", str(tmp_path / "tiny.toml"), "--out", str(tmp_path / "runs")]
    try:
        status = cli.main(argv)
    except SystemExit as e:  # argparse's errors exit from the parser
        status = e.code
    assert status == 2
    err = capsys.readouterr().err
    assert text in err and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()  # nothing written


def test_lanes_alone_takes_the_default_counts():
    args = cli.parser().parse_args(["scaling", "--lanes"])
    assert args.lanes == [] and args.devices is None
    assert cli_parser.DEFAULT_LANES == [64, 256, 1024, 4096]
    assert cli.parser().parse_args(["scaling", "--lanes", "2", "9"]).lanes == [2, 9]


def test_the_lanes_table_renders_the_tiny_run(lane_run):
    host = runs.read_meta(lane_run)["env"]["host"]
    text = "\n".join(lanes_report.render_lanes(lane_run.parent, host))
    assert "## Scaling over lanes" in text and "linear-64x3__minibatch-8__sgd" in text
    rows = [line for line in text.splitlines() if line.startswith(("| 3 |", "| 5 |"))]
    assert len(rows) == 2 and all(len(r.split("|")) == len(lanes_report.HEADER) + 2 for r in rows)
    assert "Goal: gdjax within 1.2x of the bare program at every lane count:" in text
    assert lanes_report.render_lanes(lane_run.parent, "another host") == []


def _table(ratios: list[float]) -> pd.DataFrame:
    n = len(ratios)
    return pd.DataFrame(
        {
            "problem": "minibatch",
            "lanes": [64 * 4**i for i in range(n)],
            "n": 8192,
            "d": 32,
            "batch_size": 32,
            "steps": 1280,
            "gdjax_s": [0.01 * r for r in ratios],
            "bare_s": 0.01,
            "gdjax_vs_bare": ratios,
            "gflops": 40.0,
            "gbytes_s": 20.0,
            "flops_per_step": 2e7,
            "bytes_per_step": 8e6,
        }
    )


@pytest.mark.parametrize(
    "ratios, verdict",
    [
        ([1.0, 1.1], "met (the worst, 1.1x at 256 lanes)."),
        ([1.0, 1.3, 1.1], "**not met**: the measured limit is 1.3x at 256 lanes."),
    ],
)
def test_the_goal_line_says_met_or_the_measured_limit(tmp_path, ratios, verdict):
    env = {**envinfo.describe(), "host": "h"}
    roof = {"gemm_gflops": 200.0, "copy_gbs": 10.0}
    meta = {"entry": "minibatch__minibatch-32__sgd", "roofline": roof, "complete": True}
    runs.write_lane_scaling(tmp_path, "perf", env, _table(ratios), meta)
    lines = "\n".join(lanes_report.render_lanes(tmp_path, "h")).splitlines()
    assert lines[-1].endswith(verdict)
    first = next(line for line in lines if line.startswith("| 64 |"))
    assert first == "| 64 | 10 | 10 | 1x | 40 | 20 | 20 | 8 | 20 |"


def test_perf_md_carries_the_lanes_table(tiny_run, lane_run, tmp_path):
    folder = tmp_path / "runs"
    shutil.copytree(tiny_run, folder / tiny_run.name)
    shutil.copytree(lane_run, folder / lane_run.name)
    lanes = pd.read_parquet(folder / tiny_run.name / "lanes.parquet")
    lanes["speedup_numpy"] = 10.0  # a perf run: one with baseline columns
    lanes.to_parquet(folder / tiny_run.name / "lanes.parquet", index=False)
    assert json.loads((folder / tiny_run.name / "meta.json").read_text())["complete"]
    text = perf_report.render(folder)
    assert "\n## Scaling over lanes\n" in text and "\n| 5 | " in text
