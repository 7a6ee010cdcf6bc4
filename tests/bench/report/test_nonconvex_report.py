"""The non-convex tables, plots and findings on a tiny run, and the params part of its folder."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from bench import runs
from bench.report import landscape, paths_plot, success
from bench.report import readme as report
from bench.run import runner, suites
from gdjax.problems.nonconvex import double_well_barrier

TINY_NONCONVEX = """
name = "tiny-nonconvex"
[defaults]
seeds = [0, 1, 2]
early_stop = false
trajectories = true
repeats = 1

[[problems]]
name = "sad"
source = "python"
factory = "gdjax.problems:saddle"
n = 64
epochs = 2
targets = [0.9, 0.5]
tol = 0.5
lrs = [0.05, 0.3, 3.0]

[[problems]]
name = "well"
source = "python"
factory = "gdjax.problems.nonconvex:double_well"
tilt = 0.3
noise = 2.0
n = 32
epochs = 10
targets = [0.9, 0.5]
tol = 0.5
lrs = [0.03, 0.2]

[[variants]]
name = "batch"
batch_size = "all"

[[variants]]
name = "mb-8"
batch_size = 8

[[variants]]
name = "sgd-1"
batch_size = 1
"""


@pytest.fixture(scope="module")
def nc_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nc")
    (root / "s.toml").write_text(TINY_NONCONVEX)
    suite = suites.load(str(root / "s.toml"))
    return runner.run_suite(suite, root / "runs", repeats=1, progress=False, log=lambda s: None)


def _run(path):
    return runs.discover(path)[0]


def test_params_round_trip_and_hold_the_kernels_final_parameters(nc_run):
    params = runs.read_params(nc_run)
    lanes = runs.read_lanes(nc_run, runs.REPORT_COLUMNS)
    final = params[params["final"]]
    # one final row per lane, at the step the lane stopped
    assert len(final) == len(lanes)
    on = ["problem", "variant", "lr", "seed"]
    merged = final.merge(lanes[[*on, "last_step"]], on=on, validate="one_to_one")
    assert (merged["step"] == merged["last_step"]).all()
    # parts and the combined table agree; a folder in progress reads its marked parts
    parts = pd.concat(
        [pd.read_parquet(p) for p in sorted((nc_run / "parts").glob("*.params.parquet"))]
    )
    assert len(parts) == len(params)
    # the saddle's batch lanes never moved
    sad = final[(final["problem"] == "sad") & (final["variant"] == "batch")]
    assert (sad[["p0", "p1"]].to_numpy() == 0).all()


def test_a_folder_without_params_reads_as_none_and_reports_as_before(nc_run, tmp_path):
    old = tmp_path / nc_run.name
    shutil.copytree(nc_run, old)
    (old / "params.parquet").unlink()
    for p in old.glob("parts/*.params.parquet"):
        p.unlink()
    meta = json.loads((old / "meta.json").read_text())
    del meta["problems"]  # a run made before the non-convex suite
    (old / "meta.json").write_text(json.dumps(meta))
    assert runs.read_params(old) is None
    text = report.render_readme(runs.discover(tmp_path))
    assert "Success rate" not in text and "What the runs show" not in text
    assert "Steps to leave" not in text and "Where the lanes ended" not in text


def test_resume_drops_the_combined_params_table(nc_run, tmp_path):
    copy = tmp_path / nc_run.name
    shutil.copytree(nc_run, copy)
    runs.prepare_resume(copy)
    assert not (copy / "params.parquet").exists()
    assert runs.read_params(copy) is not None  # from the marked parts


def test_success_rates_are_the_fraction_of_seeds_by_hand(nc_run):
    run = _run(nc_run)
    hits = run.hits()
    frame = success.success(hits)
    for r in frame.itertuples(index=False):
        h = hits[(hits["problem"] == r.problem) & (hits["variant"] == r.variant)]
        h = h[h["target"] == r.target]
        assert r.over_grid == pytest.approx(h["first_step"].notna().mean())
        if not np.isnan(r.lr):
            at = h[np.isclose(h["lr"], r.lr)]
            assert r.at_best == pytest.approx(at["first_step"].notna().mean())


def test_wells_count_final_x_below_the_barrier_by_hand(nc_run):
    run = _run(nc_run)
    x_b = landscape.barrier(run, "well")
    assert x_b == pytest.approx(double_well_barrier(0.3))
    lanes = run.lanes[run.lanes["problem"] == "well"]
    params = run.params()
    frame = landscape.wells(params[params["problem"] == "well"], x_b, lanes)
    final = params[(params["problem"] == "well") & params["final"]]
    for r in frame.itertuples(index=False):
        f = final[(final["variant"] == r.variant) & np.isclose(final["lr"], r.lr)]
        st = lanes[(lanes["variant"] == r.variant) & np.isclose(lanes["lr"], r.lr)]
        ok = f.merge(st[["seed", "status"]], on="seed")
        ok = ok[ok["status"] != "diverged"]
        assert r.in_global == int((ok["p0"] < x_b).sum())
        assert r.lost == int((st["status"] == "diverged").sum())
        assert r.in_global + r.local + r.lost == r.lanes == 3


def test_leave_table_is_the_median_stay_step_at_0_9(nc_run):
    run = _run(nc_run)
    hits = run.hits()
    h = hits[(hits["problem"] == "sad") & (hits["target"] == 0.9)]
    frame = landscape.leave_frame(h)
    for r in frame.itertuples(index=False):
        g = h[(h["variant"] == r.variant) & np.isclose(h["lr"], r.lr)]
        stay = g["stay_step"].dropna().astype(float)
        assert r.left == len(stay)
        if r.left == r.seeds:
            assert r.steps == np.median(stay)
        else:
            assert np.isnan(r.steps)
    assert frame.loc[frame["variant"] == "batch", "left"].sum() == 0
    assert landscape.radius(run, "sad") == pytest.approx(0.22653, abs=1e-5)


def test_readme_has_the_tables_and_the_findings(nc_run, tmp_path):
    written = report.write(nc_run, tmp_path)
    text = (tmp_path / "README.md").read_text()
    assert "Success rate to each target" in text
    assert "Steps to leave the saddle, by batch size" in text and "radius 0.2265" in text
    assert "Where the lanes ended" in text and "x = 0.0754" in text  # tilt 0.3's barrier
    assert "### What the runs show (tiny-nonconvex)" in text
    assert "**Batch GD can stop at a saddle.** Holds" in text
    assert "**Mini-batch is the compromise.**" in text
    names = {p.name for p in written}
    assert {"sad-paths.png", "well-paths.png", "sad-success.png", "well-success.png"} <= names
    assert "![sad: paths on the contours](plots/tiny-nonconvex/sad-paths.png)" in text
    # the text is the same without drawing (as the published check reads it)
    assert report.readme_text(nc_run, tmp_path) == text


def test_medoid_is_a_real_path_not_an_average():
    up = np.array([[0, 0], [0, 1.0]])
    down = np.array([[0, 0], [0, -1.0]])
    paths = np.stack([up, up + 0.01, down])
    assert paths_plot.medoid(paths) in (0, 1)
