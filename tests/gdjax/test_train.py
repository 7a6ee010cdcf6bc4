"""The fused kernel against independent NumPy loops; sweeps, lanes, compiles, dtypes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from gdjax._kernel import monitoring
from tests.reference import flat_params, gd_loop

VARIANTS = [(None, True), (1, True), (16, True), (16, False), (7, True)]
VARIANT_IDS = ["batch", "stochastic", "minibatch", "minibatch-ordered", "minibatch-ragged"]


def _problem(kind, dtype):
    if kind == "linear":
        return gdjax.problems.make_linear(100, 3, seed=1, dtype=dtype)
    if kind == "logistic":
        return gdjax.problems.make_logistic(100, 3, seed=1, dtype=dtype)
    return gdjax.problems.make_softmax(100, 3, 4, seed=1, dtype=dtype)


@pytest.mark.parametrize("kind", ["linear", "logistic", "softmax"])
@pytest.mark.parametrize("batch_size, shuffle", VARIANTS, ids=VARIANT_IDS)
def test_every_variant_matches_numpy_loop_float64(x64, kind, batch_size, shuffle):
    p = _problem(kind, np.float64)
    r = gdjax.run(
        p,
        lr=0.05,
        batch_size=batch_size,
        shuffle=shuffle,
        epochs=3,
        seed=3,
        eval_every=1,
        early_stop=False,
    )
    theta, losses = gd_loop(
        kind,
        p.X,
        p.y,
        lr=0.05,
        b=batch_size or p.n,
        epochs=3,
        shuffle=shuffle,
        seed=3,
        l2=getattr(p.spec, "l2", 0.0),
    )
    np.testing.assert_allclose(flat_params(r.params), theta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.losses, losses, rtol=1e-10, atol=1e-12)
    assert r.steps[-1] == 3 * (p.n // (batch_size or p.n))


@pytest.mark.parametrize("kind", ["linear", "logistic", "softmax"])
def test_float32_stays_float32_and_matches_loop(kind):
    p = _problem(kind, np.float32)
    assert p.dtype == jnp.float32
    r = gdjax.run(p, lr=0.05, batch_size=10, epochs=3, early_stop=False)
    # least squares monitors the gap f - f* in float32; the host adds f* back in float64
    assert r.losses.dtype == (np.float64 if kind == "linear" else np.float32)
    assert r.params["w"].dtype == np.float32
    theta, losses = gd_loop(kind, p.X, p.y, lr=0.05, b=10, epochs=3, l2=getattr(p.spec, "l2", 0.0))
    np.testing.assert_allclose(flat_params(r.params), theta, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(r.losses[-1], losses[-1], rtol=1e-4)


def test_x64_float32_inputs_stay_float32(x64):
    p = gdjax.problems.make_linear(64, 2, dtype=np.float32)
    r = gdjax.run(p, lr=0.1, epochs=2)
    assert r.params["w"].dtype == np.float32
    q = gdjax.problems.make_linear(64, 2)
    assert q.dtype == jnp.float64
    assert gdjax.run(q, lr=0.1, epochs=2).losses.dtype == np.float64


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov", "adam"])
def test_optimizers_match_numpy_update_rules(x64, optimizer):
    p = _problem("linear", np.float64)
    r = gdjax.run(
        p, lr=0.01, batch_size=20, epochs=4, optimizer=optimizer, eval_every=1, early_stop=False
    )
    theta, losses = gd_loop("linear", p.X, p.y, lr=0.01, b=20, epochs=4, optimizer=optimizer)
    np.testing.assert_allclose(flat_params(r.params), theta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(r.losses, losses, rtol=1e-10)


@pytest.mark.parametrize("batch_size", [None, 1, 8])
def test_sweep_equals_separate_runs_lane_by_lane(x64, batch_size):
    p = gdjax.problems.make_logistic(64, 3, seed=2)
    lrs, seeds = [0.05, 0.5, 5.0, 500.0], [0, 7]
    res = gdjax.sweep(p, lrs=lrs, seeds=seeds, batch_size=batch_size, epochs=4)
    frame = res.to_frame()
    assert (
        len(frame) == 8
        and list(frame["lr"][:4]) == lrs
        and list(frame["seed"]) == [0] * 4 + [7] * 4
    )
    for i in range(8):
        lane = res.lane(i)
        single = gdjax.run(p, lr=lane.lr, seed=lane.seed, batch_size=batch_size, epochs=4)
        assert single.status == lane.status == frame["status"][i]
        assert single.steps_to_target == lane.steps_to_target
        np.testing.assert_array_equal(single.steps, lane.steps)
        np.testing.assert_allclose(single.losses, lane.losses, rtol=1e-9)
        np.testing.assert_allclose(flat_params(single.params), flat_params(lane.params), rtol=1e-9)


def test_diverging_lane_is_frozen_and_never_poisons_others():
    p = gdjax.problems.make_linear(256, 4)
    res = gdjax.sweep(p, lrs=[0.05, 1e6, 0.1], batch_size=16, epochs=3, early_stop=False)
    f = res.to_frame()
    assert list(f["status"]) == ["converged", "diverged", "converged"]
    assert np.isfinite(f["final_loss"][[0, 2]]).all()
    # frozen: the diverged lane recorded nothing after the evaluation that caught it
    assert res.last_eval[0, 1] < res.last_eval[0, 0]
    assert np.isnan(res.losses[0, 1, res.last_eval[0, 1] + 1 :]).all()
    alone = gdjax.run(p, lr=0.1, batch_size=16, epochs=3, early_stop=False)
    np.testing.assert_allclose(alone.losses, res.lane(2).losses, rtol=1e-5)


def test_start_next_to_the_optimum_is_not_called_diverged():
    # f(w0) - f* is tiny here; SGD noise around the optimum is not a blow-up
    p = gdjax.problems.make_linear(512, 4)
    opt, _ = p.optimum()
    init = {"w": opt["w"] + 1e-3, "b": opt["b"]}
    r = gdjax.run(p, lr=0.01, batch_size=1, epochs=1, init=init, early_stop=False)
    assert r.status != "diverged"
    assert gdjax.run(p, lr=5.0, batch_size=1, epochs=1, init=init).status == "diverged"


def test_to_target_counts_are_consistent():
    p = gdjax.problems.make_linear(512, 4)
    r = gdjax.run(p, lr=0.05, batch_size=32, epochs=10, eval_every=1)
    assert r.status == "converged"
    assert r.steps_to_target == r.steps[-1]  # early stop: the run ends where it converged
    assert r.epochs_to_target == r.steps_to_target / 16
    assert r.samples_to_target == r.steps_to_target * 32
    rel = (r.losses - r.f_star) / (r.f0 - r.f_star)
    assert rel[-1] <= 1e-3 < rel[-2]


def test_max_steps_lane_has_no_to_target_counts():
    p = gdjax.problems.make_linear(512, 4)
    r = gdjax.run(p, lr=1e-5, batch_size=32, epochs=1)
    assert r.status == "max_steps"
    assert r.steps_to_target is r.epochs_to_target is r.samples_to_target is None
    f = gdjax.sweep(p, lrs=[1e-5], batch_size=32, epochs=1).to_frame()
    assert f["steps_to_target"].isna().all() and f["samples_to_target"].isna().all()


def test_early_stop_ends_kernel_when_every_lane_is_done():
    p = gdjax.problems.make_linear(512, 4)
    k = gdjax.build(p, lrs=[0.05, 0.1], batch_size=32, epochs=50)
    res = k.to_result(k.call())
    assert (res.status == gdjax.metrics.CONVERGED).all()
    assert res.steps_run < res.total_steps
    # each lane stopped at its convergence step; the kernel within one chunk of the last lane
    f = res.to_frame()
    assert (f["last_step"] == f["steps_to_target"]).all()
    assert f["last_step"].max() <= res.steps_run < f["last_step"].max() + k.config.chunk
    res = gdjax.sweep(p, lrs=[0.05, 0.1], batch_size=32, epochs=50, early_stop=False)
    assert res.steps_run == res.total_steps == 800


def test_eval_points_include_last_step_when_not_divisible():
    p = gdjax.problems.make_linear(100, 2)
    r = gdjax.run(p, lr=1e-4, batch_size=10, epochs=1, eval_every=4)
    assert list(r.steps) == [0, 4, 8, 10]


def test_start_at_optimum_is_converged_at_step_zero(x64):
    p = gdjax.problems.quadratic(2.0, 0.0, 1.0)
    r = gdjax.run(p, lr=0.1, epochs=5, init=0.0)
    assert r.status == "converged" and r.steps_to_target == 0


def test_new_learning_rate_grid_does_not_recompile(compile_counter):
    p = gdjax.problems.make_linear(256, 4)
    kwargs = dict(batch_size=16, epochs=2, seeds=[0, 1])
    first = gdjax.sweep(p, lrs=np.linspace(0.01, 0.1, 8), **kwargs)
    n_first = len(compile_counter)
    assert n_first >= 1
    second = gdjax.sweep(p, lrs=np.logspace(-3, 0, 8), tol=1e-2, **kwargs)
    assert len(compile_counter) == n_first, "a new grid of the same size recompiled"
    assert not np.array_equal(first.losses, second.losses)
    # same shapes, new data: still no compile
    q = gdjax.problems.make_linear(256, 4, seed=5)
    gdjax.sweep(q, lrs=np.linspace(0.02, 0.2, 8), seeds=[3, 4], batch_size=16, epochs=2)
    assert len(compile_counter) == n_first


def test_kernel_compiles_once_ahead_of_time(compile_counter):
    p = gdjax.problems.make_linear(128, 3)
    k = gdjax.build(p, lrs=np.ones(4) * 0.01, batch_size=8, epochs=2)
    before = len(compile_counter)
    compiled = k.lower().compile()
    assert len(compile_counter) == before + 1
    out = compiled(*k.args)
    jax.block_until_ready(out)
    k2 = gdjax.build(p, lrs=np.ones(4) * 0.02, batch_size=8, epochs=2)
    compiled(*k2.args)
    assert len(compile_counter) == before + 1


@pytest.mark.parametrize(
    "make, optimizer",
    [
        (lambda: gdjax.problems.make_linear(96, 3), "sgd"),  # in the eigenbasis
        (lambda: gdjax.problems.make_linear(96, 3), "adam"),  # the O(d^2) monitor
        (lambda: gdjax.problems.make_logistic(96, 3), "sgd"),
        (lambda: gdjax.problems.make_softmax(96, 3, 3), "sgd"),
    ],
)
def test_a_sweep_compiles_its_kernel_and_nothing_else(compile_counter, make, optimizer):
    # A user's first sweep pays every compile: a NumPy cast done with jnp.asarray(x, dtype)
    # would be one more program (tens of ms), in build or in the host's booking.
    p = make()
    jax.clear_caches()
    before = len(compile_counter)
    k = gdjax.build(p, lrs=[0.01, 0.1], batch_size=8, epochs=2, optimizer=optimizer, init=0.5)
    assert len(compile_counter) == before, "building the kernel compiled a program"
    k.to_result(k.execute()).to_frame()
    assert len(compile_counter) == before + 1, "more than the kernel was compiled"


def test_curves_frame_long_format():
    p = gdjax.problems.make_linear(128, 3)
    res = gdjax.sweep(p, lrs=[0.01, 0.1], seeds=[0, 1], batch_size=8, epochs=2, eval_every=4)
    c = res.curves()
    assert set(c.columns) >= {"lr", "seed", "step", "epoch", "samples", "loss", "subopt"}
    lane = res.lane(3)
    sel = c[(c.lr == 0.1) & (c.seed == 1)]
    np.testing.assert_allclose(sel["loss"], lane.losses)
    np.testing.assert_array_equal(sel["samples"], lane.steps * 8)
    assert (sel["rel_subopt"].iloc[0]) == pytest.approx(1.0)


def test_rows_gathered_per_step_beyond_the_chunk_bound_give_the_same_sweep(x64, monkeypatch):
    # exact monitoring gathers a chunk's rows at once; above CHUNK_ROWS_BYTES, each step's rows
    p = gdjax.problems.make_linear(100, 3, seed=1, dtype=np.float64)
    settings = dict(lrs=[0.01, 0.05, 2.0], seeds=[0, 5], batch_size=7, epochs=3, early_stop=False)
    k = gdjax.build(p, **settings)
    assert k.config.exact and monitoring.gathers_chunks(k.config, k.args.data, k.args.rows)
    chunked = gdjax.sweep(p, **settings)
    monkeypatch.setattr(monitoring, "CHUNK_ROWS_BYTES", 0)
    jax.clear_caches()  # the bound is read at trace time
    assert not gdjax._kernel.monitoring.gathers_chunks(k.config, k.args.data, k.args.rows)
    per_step = gdjax.sweep(p, **settings)
    for field in ("status", "first_step", "stay_step", "lane_steps"):
        np.testing.assert_array_equal(getattr(per_step, field), getattr(chunked, field))
    np.testing.assert_allclose(per_step.losses, chunked.losses, rtol=1e-12)
    np.testing.assert_allclose(
        flat_params(per_step.params), flat_params(chunked.params), rtol=1e-12
    )
    # and both are the NumPy loop of seed 5's rows at lr 0.05
    theta, _ = gd_loop("linear", p.X, p.y, lr=0.05, b=7, epochs=3, seed=5)
    lane = per_step.lane(4)  # seed-major: seed 5, lr 0.05
    np.testing.assert_allclose(flat_params(lane.params), theta, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("batch_size", [None, 1, 32])
def test_every_batch_size_on_the_quadratic_is_batch_gd(x64, batch_size):
    """Its one row holds the coefficients: any batch size runs (and reports) batch GD, the
    closed-form iteration x <- x - lr (2 a x + b)."""
    a, b, c, lr = 2.0, -4.0, 1.0, 0.1
    p = gdjax.problems.quadratic(a, b, c)
    r = gdjax.run(p, lr=lr, batch_size=batch_size, epochs=6, init=3.0, eval_every=1)
    x, want = 3.0, []
    for _ in range(7):
        want.append(a * x * x + b * x + c)
        x -= lr * (2 * a * x + b)
    np.testing.assert_allclose(r.losses, want, rtol=1e-12)
    assert r.batch_size == 1 and list(r.steps) == list(range(7))
