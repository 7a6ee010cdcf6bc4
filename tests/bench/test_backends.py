"""What decides a lane's numbers is recorded and compared: precision, kernel choices, flags."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench import cli, cli_parser, runs
from bench.perf import scaling
from bench.report import compare
from bench.run import suites
from gdjax._kernel import backend
from gdjax._kernel.config import chunk_length
from tests.conftest import TINY_SUITE

ROOT = Path(__file__).resolve().parents[2]
PROVENANCE = ["precision", "chunk", "unroll", "xla_flags", "jax_flags"]


def test_every_lane_row_records_the_precision_choices_and_flags(tiny_run):
    lanes = runs.read_lanes(tiny_run, runs.REPORT_COLUMNS)
    assert set(PROVENANCE) <= set(lanes.columns)
    assert (lanes["precision"] == "highest").all() and (lanes["unroll"] == 1).all()
    by_entry = lanes.groupby("variant")["chunk"].first().to_dict()
    assert (
        by_entry
        == {"batch": chunk_length(40), "minibatch-8": chunk_length(32)}
        == {
            "batch": 10,
            "minibatch-8": 16,
        }
    )
    assert lanes["jax_flags"].str.contains("jax_default_matmul_precision=").all()
    assert "xla_flags" in runs.read_meta(tiny_run)["env"]


def _without_provenance(run: Path, dest: Path) -> Path:
    """A copy of ``run`` as a run made before the provenance columns: every lanes file without
    them (the published runs have them since they were regenerated)."""
    shutil.copytree(run, dest)
    for f in dest.rglob("*"):
        if "lanes" not in f.name:
            continue
        if f.suffix == ".parquet":
            pd.read_parquet(f).drop(columns=PROVENANCE, errors="ignore").to_parquet(f)
        elif f.suffix == ".csv":
            pd.read_csv(f).drop(columns=PROVENANCE, errors="ignore").to_csv(f, index=False)
    return dest


def test_a_run_made_before_reads_the_new_columns_as_missing(tiny_run, tmp_path):
    old = _without_provenance(tiny_run, tmp_path / "old")
    assert "precision" not in pd.read_parquet(old / "lanes.parquet").columns
    lanes = runs.read_lanes(old, runs.REPORT_COLUMNS)
    assert lanes[PROVENANCE].isna().all().all()
    assert runs.read_lanes_file(runs.lanes_file(old))[PROVENANCE].isna().all().all()


def _moved(tiny_run, tmp_path, **changes) -> Path:
    """The tiny run's lanes with ``changes`` and one converged lane's steps to target moved."""
    lanes = runs.read_lanes(tiny_run, runs.REPORT_COLUMNS)
    lane = lanes.index[(lanes["status"] == "converged") & (lanes["variant"] == "batch")][0]
    lanes.loc[lane, "steps_to_target"] += 1
    dest = tmp_path / "moved"
    dest.mkdir()
    lanes.assign(**changes).to_csv(dest / "lanes.csv", index=False)
    return dest / "lanes.csv"


def test_compare_names_a_precision_difference_first_and_where_lanes_moved(tiny_run, tmp_path):
    gpu = _moved(tiny_run, tmp_path, backend="gpu", device_kind="NVIDIA H200", precision="default")
    text = compare.render(compare.load([tiny_run, gpu]))
    assert "1 disagreement (0 status, 1 steps to target)" in text
    line = next(x for x in text.splitlines() if "suspect" in x)
    assert "first suspect: the float32 matmul precision differs (A highest, B default)" in line
    assert line.endswith("lanes that moved: linear-64x3 / batch 1")


def test_compare_says_when_precision_and_dtype_agree(tiny_run, tmp_path):
    # a GPU at "highest" and the CPU compute the same products: look elsewhere
    gpu = _moved(tiny_run, tmp_path, backend="gpu", precision="highest")
    text = compare.render(compare.load([tiny_run, gpu]))
    assert "no precision or dtype difference between these lanes: look at the backends" in text


def test_precision_in_effect_on_a_cpu_and_in_float64():
    df = pd.DataFrame(
        {
            "backend": ["cpu", "gpu", "gpu", "gpu"],
            "dtype": ["float32", "float32", "float64", "float32"],
            "precision": ["default", "default", "default", "high"],
        }
    )
    assert compare.precision_in_effect(df).tolist() == ["highest", "default", "highest", "high"]


def test_the_command_line_knows_the_librarys_precisions():
    assert cli_parser.PRECISIONS == backend.PRECISIONS


@pytest.mark.parametrize(
    "argv, text",
    [
        (["--precision", "tf32"], "invalid choice: 'tf32'"),
        (["--chunk", "0"], "--chunk: must be >= 1, got 0"),
        (["--unroll", "x"], "--unroll: expected an int >= 1"),
    ],
)
def test_bad_choices_are_one_line_and_exit_2(capsys, argv, text):
    for cmd in (["run", "--suite", "smoke"], ["scaling"]):
        with pytest.raises(SystemExit) as exc:
            cli.main([*cmd, *argv])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and text in err, err


def test_env_states_the_precision_and_the_kernels_defaults(capsys):
    assert cli.main(["env"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["precision"] == "highest"
    assert (info["max_chunk"], info["unroll"]) == tuple(backend.choices())
    assert "xla_flags" in info and info["jax_flags"].startswith("jax_default_matmul_precision=")


def test_choices_reach_every_entry_and_its_fingerprint():
    suite = suites.load("smoke")
    assert suite.with_choices() is suite
    chosen = suite.with_choices(precision="default", unroll=2, chunk=None)
    e, e0 = chosen.entries[0], suite.entries[0]
    assert e.sweep_args()["precision"] == "default" and e.sweep_args()["unroll"] == 2
    assert "chunk" not in e.sweep_args() and "precision" not in e0.sweep_args()
    assert e.fingerprint() != e0.fingerprint()
    with pytest.raises(TypeError, match="unknown kernel choices"):
        suite.with_choices(dtype="float64")


def test_a_run_with_choices_records_them_and_no_cache_compiles_afresh(
    tmp_path, monkeypatch, capsys
):
    # the library's own cache on, as a user has it: --no-cache must still compile every kernel
    monkeypatch.delenv("GDJAX_NO_CACHE")
    monkeypatch.setenv("GDJAX_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "tiny.toml").write_text(TINY_SUITE)
    argv = ["run", "--suite", str(tmp_path / "tiny.toml"), "--no-cache", "--no-progress"]
    argv += ["--out", str(tmp_path / "runs"), "--precision", "default", "--chunk", "8"]
    argv += ["--unroll", "2", "--only", "minibatch-8"]
    assert cli.main(argv) == 0
    capsys.readouterr()
    (run,) = runs.run_folders(tmp_path / "runs")
    lanes = runs.read_lanes(run, runs.REPORT_COLUMNS)
    assert lanes[["precision", "chunk", "unroll"]].drop_duplicates().values.tolist() == [
        ["default", 8, 2]
    ]
    assert not lanes["compile_cache_hit"].any()
    assert not (tmp_path / "cache").exists()


def test_scaling_workers_take_the_choices(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY_SUITE)
    rows = scaling.worker(str(tmp_path / "tiny.toml"), 1, 1, "batch", {"precision": "high"})
    assert [(r["precision"], r["unroll"]) for r in rows] == [("high", 1)]
    cmd = scaling._worker_command("perf", 2, None, None)
    assert "--precision" not in cmd  # given only when chosen (run() appends them)
