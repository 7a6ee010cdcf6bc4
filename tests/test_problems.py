"""Problems: float64 optima against lstsq / first-order conditions, and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from tests.reference import design, loss_and_grad


@pytest.mark.parametrize("intercept", [True, False])
def test_linear_optimum_matches_numpy_lstsq(x64, intercept):
    p = gdjax.problems.make_linear(200, 5, seed=3, intercept=intercept)
    params, f_star = p.optimum()
    A = design(np.asarray(p.X), intercept)
    theta, *_ = np.linalg.lstsq(A, np.asarray(p.y), rcond=None)
    np.testing.assert_allclose(params["w"], theta[:5], rtol=1e-12)
    if intercept:
        np.testing.assert_allclose(params["b"], theta[5], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(f_star, np.mean((A @ theta - np.asarray(p.y)) ** 2), rtol=1e-12)


def test_linear_monitor_equals_plain_loss(x64):
    p = gdjax.problems.make_linear(300, 4, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(3):
        params = {"w": jnp.asarray(rng.standard_normal(4)), "b": jnp.asarray(rng.standard_normal())}
        np.testing.assert_allclose(p.full_loss(params), p.loss(params), rtol=1e-12)


@pytest.mark.parametrize("intercept", [True, False])
def test_softmax_monitor_equals_the_loss_it_differentiates_and_numpy(x64, intercept):
    # the monitor picks each row's own logit by a gather, the loss by a one-hot mask
    p = gdjax.problems.make_softmax(200, 4, 5, seed=3, intercept=intercept)
    A = design(np.asarray(p.X), intercept)
    rng = np.random.default_rng(2)
    for _ in range(3):
        params = jax.tree.map(
            lambda a: jnp.asarray(3 * rng.standard_normal(a.shape)), p.init_params()
        )
        theta = np.asarray(params["w"])
        if intercept:
            theta = np.concatenate([theta, np.asarray(params["b"])[None]], axis=0)
        f, _ = loss_and_grad("softmax", theta, A, np.asarray(p.y), p.spec.l2, intercept)
        np.testing.assert_allclose(float(p.full_loss(params)), f, rtol=1e-12)
        np.testing.assert_allclose(float(p.loss(params)), f, rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gdjax.problems.make_logistic(300, 4, seed=2),
        lambda: gdjax.problems.make_logistic(300, 4, seed=2, intercept=False, l2=0.1),
        lambda: gdjax.problems.make_softmax(300, 4, 3, seed=2),
        lambda: gdjax.problems.make_softmax(300, 4, 5, seed=2, l2=0.0),
    ],
    ids=["logistic", "logistic-no-intercept", "softmax", "softmax-no-l2"],
)
def test_newton_optimum_is_stationary_and_minimal(x64, make):
    p = make()
    params, f_star = p.optimum()
    jparams = jax.tree.map(jnp.asarray, params)
    g = jax.grad(p.loss)(jparams)
    gnorm = np.sqrt(sum(float(jnp.sum(v * v)) for v in jax.tree.leaves(g)))
    assert gnorm < 1e-10
    np.testing.assert_allclose(float(p.loss(jparams)), f_star, rtol=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(5):  # any perturbation costs more
        moved = jax.tree.map(lambda a: a + 1e-3 * rng.standard_normal(a.shape), jparams)
        assert float(p.loss(moved)) > f_star


@pytest.mark.parametrize("kind", ["linear", "logistic", "softmax"])
def test_jax_gradient_matches_finite_differences_and_hand_gradient(x64, kind):
    maker = {
        "linear": lambda: gdjax.problems.make_linear(50, 3, seed=4),
        "logistic": lambda: gdjax.problems.make_logistic(50, 3, seed=4),
        "softmax": lambda: gdjax.problems.make_softmax(50, 3, 3, seed=4),
    }[kind]
    p = maker()
    rng = np.random.default_rng(1)
    params = jax.tree.map(lambda a: jnp.asarray(rng.standard_normal(a.shape)), p.init_params())
    g = jax.grad(p.loss)(params)
    A = design(np.asarray(p.X), True)
    w = np.asarray(params["w"])
    theta = np.concatenate([w, np.asarray(params["b"])[None]], axis=0)
    l2 = getattr(p.spec, "l2", 0.0)
    f, hand = loss_and_grad(kind, theta, A, np.asarray(p.y), l2)
    np.testing.assert_allclose(float(p.loss(params)), f, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g["w"]), hand[:-1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(g["b"]), hand[-1], rtol=1e-9, atol=1e-12)
    eps = 1e-6
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = eps
        fd = (
            loss_and_grad(kind, theta + e, A, np.asarray(p.y), l2)[0]
            - loss_and_grad(kind, theta - e, A, np.asarray(p.y), l2)[0]
        ) / (2 * eps)
        np.testing.assert_allclose(hand[idx], fd, rtol=1e-6, atol=1e-8)


def test_quadratic_optimum_closed_form():
    params, f_star = gdjax.problems.quadratic(2.0, 4.0, 1.0).optimum()
    assert params["x"] == -1.0 and f_star == -1.0


def test_problem_repr_is_short():
    assert len(repr(gdjax.problems.make_linear(1000, 10))) < 120
