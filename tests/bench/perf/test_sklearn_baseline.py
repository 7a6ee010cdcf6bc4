"""The scikit-learn baseline in a perf run's lanes, and the crossover of gdjax's first call."""

import math

import numpy as np
import pytest

import gdjax
from bench.perf import attach, first_call, loops, sklearn_fits
from bench.run import entry_run, suites

needs_sklearn = pytest.mark.skipif(not sklearn_fits.available(), reason=sklearn_fits.MISSING)


def _entry(batch_size: int, names):
    return suites.Entry(
        suite="t",
        problem="p",
        variant=f"b{batch_size}",
        batch_size=batch_size,
        optimizer="sgd",
        settings={
            **suites.DEFAULT_SETTINGS,
            "lrs": [0.005, 0.02],
            "epochs": 1,
            "early_stop": False,
            "baselines": names,
            "baseline_lanes": 2,
            "seeds": [0],
        },
    )


def _run(batch_size: int, names):
    from bench import envinfo

    problem = gdjax.problems.make_linear(64, 3, seed=1)
    entry = _entry(batch_size, names)
    lanes, _, _, kernel = entry_run.run_entry(entry, problem, envinfo.describe(), repeats=1)
    return entry, problem, kernel, lanes


def test_crossover_on_a_straight_line_is_its_closed_form():
    # gdjax's first call 1 s + 0.1 s a lane against 0.2 s a fit: they meet at 1 / 0.1 = 10 lanes
    calls = {k: 1.0 + 0.1 * k for k in (1, 4, 16, 64)}
    measured, fitted = first_call.crossover(calls, 0.2)
    assert measured == 16  # 2.6 s < 3.2 s; at 4 lanes 1.4 s > 0.8 s
    assert fitted == pytest.approx(10.0)
    # a lane of gdjax dearer than a fit: it never overtakes
    measured, fitted = first_call.crossover(calls, 0.05)
    assert math.isnan(measured) and fitted == math.inf


def test_sklearn_runs_only_the_same_algorithm():
    assert loops.unsupported(gdjax.problems.make_linear(64, 2), "sklearn") is None
    assert loops.unsupported(gdjax.problems.make_logistic(64, 2), "sklearn") is None
    why = loops.unsupported(gdjax.problems.make_softmax(64, 2, 3), "sklearn")
    assert why is not None and why.startswith("sklearn:")


@needs_sklearn
@pytest.mark.slow
def test_sklearn_baseline_attaches_with_its_crossover_and_first_calls(monkeypatch):
    monkeypatch.setattr(first_call, "CROSSOVER_LANES", (1, 4))
    out = attach.attach(*_run(1, ["sklearn"]))
    r = out.iloc[0]
    assert r["sklearn_lanes_timed"] == 2
    assert r["sklearn_max_rel_diff"] < 1e-4  # its fits end where gdjax's lanes do
    np.testing.assert_allclose(r["speedup_sklearn"], r["sklearn_s"] / r["run_s"])
    np.testing.assert_allclose(
        r["speedup_sklearn_with_compile"], r["sklearn_s"] / (r["run_s"] + r["compile_cold_s"])
    )
    calls = {k: r[f"first_call_{k}_s"] for k in (1, 4)}
    assert all(v > 0 for v in calls.values())
    measured, fitted = first_call.crossover(calls, r["sklearn_lane_s"])
    assert r["sklearn_crossover_fit"] == fitted
    assert (math.isnan(measured) and math.isnan(r["sklearn_crossover_lanes"])) or (
        r["sklearn_crossover_lanes"] == measured
    )
    assert r["first_call_process_cold_s"] > 0 and r["first_call_process_warm_s"] > 0


@needs_sklearn
def test_sklearn_is_skipped_with_a_note_off_batch_one():
    out = attach.attach(*_run(16, ["sklearn"]))
    assert "sklearn_s" not in out.columns
    assert "per-sample" in out["baseline_note"].iloc[0]
