"""bench.run.trajectory: the replay ends where the kernel did, and its path is SGD's own."""

import dataclasses

import numpy as np
import pytest

import gdjax
from bench.run import trajectory
from gdjax.problems import nonconvex


def _sweep(problem, b, **kw):
    kw.setdefault("lrs", [0.05, 0.3, 3.0])  # 3.0 diverges on the saddle: a frozen lane
    return gdjax.sweep(problem, seeds=[0, 1], batch_size=b, epochs=3, early_stop=False, **kw)


@pytest.mark.parametrize("b", [None, 1, 4])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_replay_ends_bit_for_bit_where_the_kernel_did(b, optimizer):
    p = gdjax.problems.saddle(n=32)
    res = _sweep(p, b, optimizer=optimizer)
    rows = trajectory.replay(p, res, optimizer=optimizer, shuffle=True, init=None)
    final = rows[rows["final"]].sort_values(["seed", "lr"])
    kernel = res.params["w"].reshape(-1, 2)  # seed-major, as the rows
    got = final[["p0", "p1"]].to_numpy()
    np.testing.assert_array_equal(got, kernel.astype(np.float64))
    # the last point of a lane's path at its stop is its final row
    for _, g in rows.groupby(["lr", "seed"]):
        path, end = g[~g["final"]], g[g["final"]].iloc[0]
        assert path["step"].max() <= end["step"]
        if path["step"].max() == end["step"]:
            assert (path.iloc[-1][["p0", "p1"]] == end[["p0", "p1"]]).all()


def test_a_diverged_lane_is_replayed_up_to_its_stop():
    p = gdjax.problems.saddle(n=32)
    res = _sweep(p, 1)
    stopped = res.lane_steps < res.total_steps
    assert stopped.any(), "the grid must hold a diverging rate"
    trajectory.replay(p, res, optimizer="sgd", shuffle=True, init=None)  # no mismatch


def test_a_replay_that_does_not_end_where_the_kernel_did_is_refused():
    p = gdjax.problems.saddle(n=32)
    res = _sweep(p, 4)
    moved = dataclasses.replace(res, params={"w": res.params["w"] + np.float32(1e-6)})
    with pytest.raises(trajectory.TrajectoryMismatch, match="differ from the kernel"):
        trajectory.replay(p, moved, optimizer="sgd", shuffle=True, init=None)


def test_the_path_is_plain_sgd_on_the_same_rows_float64_reference():
    """A NumPy float64 loop over gdjax.sampling.plan's rows, w - lr (grad f + s mean z)."""
    p = gdjax.problems.saddle(n=16, noise=1.0)
    lrs, seeds, b, epochs = [0.1], [3], 4, 2
    res = gdjax.sweep(p, lrs=lrs, seeds=seeds, batch_size=b, epochs=epochs, early_stop=False)
    rows = trajectory.replay(p, res, optimizer="sgd", shuffle=True, init=None)
    z = np.asarray(p.data[0]["z"], np.float64)
    plan = gdjax.sampling.plan(seeds, p.n, b, epochs)
    w, path = np.zeros(2), {0: np.zeros(2)}
    for t in range(res.total_steps):
        x, y = w
        grad = np.array([2 * x, y**3 - y]) + z[plan[t, 0]].mean(axis=0)
        w = w - lrs[0] * grad
        path[t + 1] = w.copy()
    got = rows[~rows["final"]]
    assert len(got) == len(res.eval_steps)
    for r in got.itertuples():
        np.testing.assert_allclose([r.p0, r.p1], path[r.step], rtol=1e-5, atol=1e-6)


def test_batch_gd_at_the_saddle_records_a_path_that_never_moves():
    p = gdjax.problems.saddle(n=32)
    res = _sweep(p, None)
    rows = trajectory.replay(p, res, optimizer="sgd", shuffle=True, init=None)
    assert (rows[["p0", "p1"]].to_numpy() == 0).all()


def test_problems_with_many_parameters_are_refused():
    p = gdjax.problems.deep_quadratic(n=16)
    assert not trajectory.tracks(p)
    res = gdjax.sweep(p, lrs=[0.01], epochs=1)
    with pytest.raises(ValueError, match="at most 8 parameters"):
        trajectory.replay(p, res, optimizer="sgd", shuffle=True, init=None)


def test_saddle_radius_is_where_f_meets_the_level():
    r = nonconvex.saddle_radius(-0.025)
    assert nonconvex.SADDLE.f(np.array([0.0, r])) == pytest.approx(-0.025, abs=1e-12)
    # inside the radius f stays above the level, on a fine polar grid
    rho, phi = np.meshgrid(np.linspace(0, r * 0.999, 200), np.linspace(0, 2 * np.pi, 200))
    f = nonconvex.SADDLE.f(np.stack([rho * np.cos(phi), rho * np.sin(phi)]))
    assert f.min() > -0.025
    with pytest.raises(ValueError, match="level"):
        nonconvex.saddle_radius(0.1)
