"""The four textbook setups, each against an exact reference (Python loop or closed form)."""

import math

import numpy as np
import pytest

import gdjax
from tests.reference import gd_loop


def test_y_equals_2x_batch_gd_matches_python_loop(x64):
    x = np.array([1.0, 2.0, 3.0])
    y = 2 * x
    p = gdjax.problems.linear(x[:, None], y, intercept=False)
    r = gdjax.run(p, lr=0.01, epochs=100, init=1.0, eval_every=1, early_stop=False)
    w, losses = 1.0, [np.mean((1.0 * x - y) ** 2)]
    for _ in range(100):
        w -= 0.01 * np.mean(2 * x * (w * x - y))
        losses.append(np.mean((w * x - y) ** 2))
    np.testing.assert_allclose(r.params["w"][0], w, rtol=1e-12, atol=0)
    np.testing.assert_allclose(r.losses, losses, rtol=1e-12, atol=1e-15)
    assert r.params["w"].dtype == np.float64
    assert r.status == "converged"  # 1 - 0.01 * 28/3 per step: well inside 100 steps


def test_y_equals_2x_sgd_in_row_order_matches_python_loop(x64):
    x = np.array([1.0, 2.0, 3.0])
    y = 2 * x
    p = gdjax.problems.linear(x[:, None], y, intercept=False)
    r = gdjax.run(
        p,
        lr=0.01,
        batch_size=1,
        shuffle=False,
        epochs=100,
        init=1.0,
        eval_every=1,
        early_stop=False,
    )
    w, losses = 1.0, [np.mean((x - y) ** 2)]
    for _ in range(100):
        for xi, yi in zip(x, y, strict=True):
            w -= 0.01 * 2 * xi * (w * xi - yi)
            losses.append(np.mean((w * x - y) ** 2))
    assert len(r.losses) == 301
    np.testing.assert_allclose(r.losses, losses, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.params["w"][0], w, rtol=1e-12)
    assert r.steps_per_epoch == 3


# f(x) = x^2 - 5x + 5: x_{t+1} - 2.5 = (1 - 2 lr)(x_t - 2.5), so the relative suboptimality after
# t steps is (1 - 2 lr)^(2t) exactly.
@pytest.mark.parametrize("lr", [0.01, 0.1, 0.3, 0.7, 1.0])
def test_parabola_learning_rates_against_closed_form(x64, lr):
    p = gdjax.problems.quadratic(1.0, -5.0, 5.0)
    params, f_star = p.optimum()
    assert params["x"] == 2.5 and f_star == -1.25
    r = gdjax.run(p, lr=lr, epochs=100, init=7.0, eval_every=1, early_stop=False)
    rate = 1 - 2 * lr
    xs = 2.5 + 4.5 * rate ** np.arange(101)
    np.testing.assert_allclose(r.losses, xs**2 - 5 * xs + 5, rtol=1e-12, atol=1e-12)
    tol = 1e-3
    if abs(rate) < 1:
        expected = math.ceil(math.log(tol) / (2 * math.log(abs(rate))))
    else:
        expected = None
    if expected is not None and expected > 100:
        expected = None
    assert r.steps_to_target == expected
    assert r.status == ("converged" if expected is not None else "max_steps")


def test_parabola_lr_one_oscillates_for_ever_not_diverged(x64):
    p = gdjax.problems.quadratic(1.0, -5.0, 5.0)
    r = gdjax.run(p, lr=1.0, epochs=100, init=7.0, eval_every=1)
    assert r.status == "max_steps"
    np.testing.assert_allclose(r.losses, 19.0)  # 7 -> -2 -> 7 ...: f is 19 at both
    assert r.params["x"] == 7.0  # an even number of steps brings it back
    assert gdjax.run(p, lr=1.01, epochs=1000, init=7.0).status == "diverged"


def test_noisy_line_small_lr_batch_gd_matches_loop_and_intercept_lags(x64):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 15, 100)
    y = 2.5 * x + 4 + rng.standard_normal(100)
    p = gdjax.problems.linear(x[:, None], y)
    r = gdjax.run(p, lr=1e-4, epochs=1000, init=0.0, early_stop=False, eval_every=1)
    w = b = 0.0
    for _ in range(1000):
        err = w * x + b - y
        w, b = w - 1e-4 * np.mean(2 * err * x), b - 1e-4 * np.mean(2 * err)
    np.testing.assert_allclose([r.params["w"][0], r.params["b"]], [w, b], rtol=1e-10)
    # The textbook answer: with lr 1e-4 the slope is found quickly but the intercept crawls, so
    # after 1000 steps the slope overshoots to make up for it and the run is not converged.
    opt, _ = p.optimum()
    assert r.status == "max_steps"
    assert r.params["b"] < 0.25 * opt["b"]
    assert r.params["w"][0] > opt["w"][0]
    assert r.losses[-1] < 0.01 * r.losses[0]


@pytest.mark.parametrize(
    "batch_size, lr, epochs, atol",
    [(None, 0.1, 1000, 1e-8), (1, 0.002, 100, 0.05), (20, 0.05, 200, 0.1)],
    ids=["batch", "stochastic", "mini-batch"],
)
def test_y_4_plus_3x_every_variant_reaches_closed_form(x64, batch_size, lr, epochs, atol):
    rng = np.random.default_rng(42)
    X = 2 * rng.random((100, 1))
    y = 4 + 3 * X[:, 0] + rng.standard_normal(100)
    p = gdjax.problems.linear(X, y)
    theta, *_ = np.linalg.lstsq(np.hstack([np.ones((100, 1)), X]), y, rcond=None)
    r = gdjax.run(p, lr=lr, batch_size=batch_size, epochs=epochs, early_stop=False)
    np.testing.assert_allclose([r.params["b"], r.params["w"][0]], theta, atol=atol)
    assert r.status == "converged"
    _, losses = gd_loop("linear", X, y, lr=lr, b=batch_size or 100, epochs=epochs)
    np.testing.assert_allclose(r.losses[-1], losses[-1], rtol=1e-9)
