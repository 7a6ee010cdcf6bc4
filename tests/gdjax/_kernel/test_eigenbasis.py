"""Least squares run in the eigenbasis of its Hessian: same iterates, an O(d) exact monitor."""

import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from gdjax._kernel.eigenbasis import DiagonalLeastSquares, Eigenbasis
from gdjax.problems.losses import LeastSquares
from tests.reference import flat_params, gd_loop


@pytest.mark.parametrize("intercept", [True, False])
def test_rotation_is_orthonormal_and_round_trips(intercept):
    p = gdjax.problems.make_linear(200, 4, intercept=intercept, seed=3)
    basis = Eigenbasis.of(p)
    p_dim = 4 + intercept
    np.testing.assert_allclose(basis.Q.T @ basis.Q, np.eye(p_dim), atol=1e-12)
    # signs fixed: the largest entry of every eigenvector is positive
    assert (basis.Q[np.argmax(np.abs(basis.Q), axis=0), np.arange(p_dim)] > 0).all()
    rng = np.random.default_rng(0)
    theta = {"w": rng.normal(size=4)}
    if intercept:
        theta["b"] = np.float64(rng.normal())
    back = basis.params(basis.coords(theta))
    assert sorted(back) == sorted(theta)
    for key in theta:
        np.testing.assert_allclose(back[key], theta[key], rtol=1e-12, atol=1e-12)
    # the rotated design gives the same predictions: A theta = (A Q)(Q^T theta)
    X = np.asarray(p.X, np.float64)
    pred = X @ theta["w"] + (theta["b"] if intercept else 0.0)
    np.testing.assert_allclose(basis.design(X) @ basis.coords(theta), pred, rtol=1e-10)
    # the rotated moment matrix is diagonal, with the eigenvalues on it
    Z = basis.design(X)
    np.testing.assert_allclose(Z.T @ Z / len(Z), np.diag(basis.lam), atol=1e-10)


def test_params_keep_leading_lane_axes_and_dtype():
    basis = Eigenbasis.of(gdjax.problems.make_linear(64, 3))
    z = np.zeros((2, 5, 4), np.float32)
    out = basis.params(z)
    assert out["w"].shape == (2, 5, 3) and out["b"].shape == (2, 5)
    assert out["w"].dtype == np.float32


def test_diagonal_monitor_equals_the_quadratic_form(x64):
    p = gdjax.problems.make_linear(300, 5, seed=4)
    basis = Eigenbasis.of(p)
    X, spec, aux, _ = basis.kernel_data(p, p.init_params())
    assert isinstance(spec, DiagonalLeastSquares) and X.shape == (300, 6)
    rng = np.random.default_rng(1)
    for _ in range(3):
        theta = {"b": jnp.asarray(rng.normal()), "w": jnp.asarray(rng.normal(size=5))}
        full = LeastSquares(True).monitor(theta, p.X, p.y, p.monitor_aux())
        z = {"w": jnp.asarray(basis.coords(theta))}
        np.testing.assert_allclose(spec.monitor(z, X, p.y, aux), full, rtol=1e-12)
        # and both are the gap f - f*: the loss less the optimum
        np.testing.assert_allclose(full + p.optimum()[1], p.loss(theta), rtol=1e-12)


@pytest.mark.parametrize(
    "kind, optimizer, exact, batch_size, rotated",
    [
        ("linear", "sgd", None, 8, True),
        ("linear", "momentum", None, 1, True),
        ("linear", "nesterov", True, 31, True),
        ("linear", "adam", None, 8, False),  # per-coordinate steps do not commute with a rotation
        ("linear", "sgd", False, 8, False),  # grid monitoring gains nothing from it
        ("linear", "sgd", None, 32, False),  # the O(p^2) monitor costs < 1/16 of a 32-row step
        ("linear", "sgd", None, None, False),  # batch GD
        ("logistic", "sgd", True, 8, False),
    ],
)
def test_build_rotates_only_where_the_iterates_are_the_same_and_it_pays(
    kind, optimizer, exact, batch_size, rotated
):
    p = (gdjax.problems.make_linear if kind == "linear" else gdjax.problems.make_logistic)(64, 3)
    k = gdjax.build(p, lrs=[0.1], epochs=2, batch_size=batch_size, optimizer=optimizer, exact=exact)
    assert (k.basis is not None) == rotated
    assert isinstance(k.config.spec, DiagonalLeastSquares) == rotated


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov"])
def test_rotated_float32_run_matches_the_loop_in_original_coordinates(optimizer):
    p = gdjax.problems.make_linear(256, 6, seed=5, cond=50.0, dtype=np.float32)
    r = gdjax.run(
        p, lr=0.05, batch_size=8, epochs=3, optimizer=optimizer, eval_every=1, early_stop=False
    )
    theta, losses = gd_loop("linear", p.X, p.y, lr=0.05, b=8, epochs=3, optimizer=optimizer)
    np.testing.assert_allclose(flat_params(r.params), theta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(r.losses, losses, rtol=1e-4, atol=1e-6)


def test_lane_stopped_inside_a_chunk_keeps_the_params_of_its_last_step(x64):
    p = gdjax.problems.make_linear(512, 3, seed=6)
    lrs = [1e-4, 0.003, 0.02, 0.1, 0.3, 50.0]
    k = gdjax.build(p, lrs=lrs, batch_size=4, epochs=6, tol=1e-2)
    res = k.to_result(k.call())
    f = res.to_frame()
    assert set(f["status"]) == {"converged", "diverged", "max_steps"}
    stopped = f["status"] != "max_steps"
    # at least one lane stopped between two chunk ends: the freeze is per step, not per chunk
    assert (f["last_step"][stopped] % k.config.chunk != 0).any()
    for i in range(len(lrs)):
        lane = res.lane(i)
        loss = float(p.loss(lane.params))
        if lane.status == "diverged":
            assert not np.isfinite(loss) or loss > 1e3 * float(lane.losses[0])
        else:  # the parameters are those the final loss was measured at
            np.testing.assert_allclose(loss, f["final_loss"][i], rtol=1e-9)
    # and equal the reference loop stopped at that step
    i = int(np.flatnonzero(f["status"] == "converged")[0])
    steps = int(f["last_step"][i])
    theta, _ = gd_loop("linear", p.X, p.y, lr=lrs[i], b=4, epochs=6)
    ref, _ = gd_loop("linear", p.X, p.y, lr=lrs[i], b=4, epochs=6, max_steps=steps)
    np.testing.assert_allclose(flat_params(res.lane(i).params), ref, rtol=1e-9, atol=1e-12)
    assert not np.allclose(ref, theta)  # a stopped lane is not the end of the run


def test_sweep_compiles_once_for_new_rates_and_data_of_the_same_shape(compile_counter):
    p = gdjax.problems.make_linear(128, 3, seed=1)
    q = gdjax.problems.make_linear(128, 3, seed=2)
    gdjax.sweep(p, lrs=[0.01, 0.1], batch_size=8, epochs=2)
    before = len(compile_counter)
    gdjax.sweep(q, lrs=[0.02, 0.2], batch_size=8, epochs=2)
    assert len(compile_counter) == before


def test_rotated_data_that_would_not_fit_in_memory_is_refused(monkeypatch):
    p = gdjax.problems.make_linear(4096, 31)
    # 3 MiB of memory: the two float64 copies of the rotated design take 2 MiB, over half
    monkeypatch.setattr(gdjax.memory, "_machine_bytes", lambda: 3 * 2**20)
    with pytest.raises(ValueError, match=r"the data rotated into the eigenbasis .* needs"):
        gdjax.build(p, lrs=[0.1], batch_size=1, epochs=1)
    gdjax.build(p, lrs=[0.1], batch_size=1, epochs=1, exact=False)  # no rotation: it fits
