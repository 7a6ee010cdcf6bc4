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


def test_problem_repr_names_the_problem_and_leaves_out_its_data():
    p = gdjax.problems.make_linear(1000, 10)
    text = repr(p)
    assert p.name in text and "LeastSquares" in text
    assert "X=" not in text and "y=" not in text and "Array" not in text


# ------------------------------------------------------------ softmax's float64 solves at scale


def _softmax_theta(params, intercept, centred=False):
    """(features + intercept) x classes; ``centred``: the intercepts less their mean (softmax
    is invariant to a common shift of them, so only the centred ones are determined)."""
    w = np.asarray(params["w"], np.float64)
    if not intercept:
        return w
    b = np.asarray(params["b"], np.float64)
    return np.vstack([w, (b - b.mean() if centred else b)[None, :]])


@pytest.mark.parametrize("intercept", [True, False])
def test_softmax_dense_hessian_is_jaxs_hessian(x64, monkeypatch, intercept):
    """The vectorised Hessian, accumulated over blocks of rows, against jax.hessian."""
    monkeypatch.setattr(
        gdjax.problems.losses.classification, "_ROW_BLOCK", 7 * 4 * 4
    )  # blocks of 7 rows
    p = gdjax.problems.make_softmax(50, 3, 4, seed=4, intercept=intercept)
    X, y = np.asarray(p.X, np.float64), np.asarray(p.y)
    A = design(X, intercept)
    theta = np.random.default_rng(0).standard_normal((A.shape[1], 4))
    H = p.spec._hessian(A, theta.ravel(), p.spec._penalty(A.shape[1]))

    def f(t):
        return loss_and_grad("softmax", t, A, y, p.spec.l2, intercept)[0]

    def f_jax(t):
        Z = jnp.asarray(A) @ t
        own = jnp.take_along_axis(Z, jnp.asarray(y)[:, None], axis=1)[:, 0]
        pen = jnp.asarray(p.spec._penalty(A.shape[1]).reshape(t.shape))
        return jnp.mean(jax.nn.logsumexp(Z, axis=1) - own) + 0.5 * jnp.sum(pen * t * t)

    np.testing.assert_allclose(float(f_jax(jnp.asarray(theta))), f(theta), rtol=1e-12)
    want = np.asarray(jax.jit(jax.hessian(f_jax))(jnp.asarray(theta))).reshape(H.shape)
    np.testing.assert_allclose(H, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(
    "n, d, k, intercept",
    [(300, 4, 5, True), (300, 4, 5, False), (600, 9, 8, True), (600, 9, 8, False)],
    ids=["small-b", "small", "arpack-b", "arpack"],  # (d + 1) k <= 64: eigvalsh; above: ARPACK
)
def test_softmax_solves_without_a_dense_hessian(x64, monkeypatch, n, d, k, intercept):
    """Above DENSE_HESSIAN_MAX, f*, the optimum and (L, mu) come from Hessian-vector products
    (Newton-CG, Lanczos) and agree with the dense solve: no (q k) x (q k) array is made."""
    p = gdjax.problems.make_softmax(n, d, k, seed=2, intercept=intercept)
    X, y = np.asarray(p.X, np.float64), np.asarray(p.y)
    dense_opt, dense_f = p.spec.optimum(X, y)
    dense_L, dense_mu = p.spec.curvature(X, y, dense_opt)

    def refuse(*args):
        raise AssertionError("built the dense Hessian")

    monkeypatch.setattr(gdjax.problems.losses.classification, "DENSE_HESSIAN_MAX", 0, raising=False)
    monkeypatch.setattr(gdjax.problems.losses.Softmax, "_hessian", refuse)
    opt, f_star = p.spec.optimum(X, y)
    L, mu = p.spec.curvature(X, y, opt)
    assert f_star == pytest.approx(dense_f, rel=1e-13)
    np.testing.assert_allclose(
        _softmax_theta(opt, intercept, centred=True),
        _softmax_theta(dense_opt, intercept, centred=True),
        atol=1e-7,
    )
    _, g = loss_and_grad(
        "softmax", _softmax_theta(opt, intercept), design(X, intercept), y, p.spec.l2, intercept
    )
    assert np.linalg.norm(g) < 1e-10
    assert L == pytest.approx(dense_L, rel=1e-9) and mu == pytest.approx(dense_mu, rel=1e-8)


def test_softmax_optimum_matches_scikit_learn(x64, monkeypatch):
    """The matrix-free solve against scikit-learn's multinomial LogisticRegression (lbfgs),
    whose C sum_i loss_i + ||W||^2 / 2 is n C times our mean loss + (l2 / 2) ||W||^2 at
    C = 1 / (n l2); neither penalises the intercept."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    monkeypatch.setattr(gdjax.problems.losses.classification, "DENSE_HESSIAN_MAX", 0, raising=False)
    p = gdjax.problems.make_softmax(400, 5, 6, seed=1, l2=0.05)
    X, y = np.asarray(p.X, np.float64), np.asarray(p.y)
    opt, f_star = p.optimum()
    sk = linear_model.LogisticRegression(C=1 / (len(X) * 0.05), tol=1e-12, max_iter=10_000)
    sk.fit(X, y)
    # scikit-learn's intercepts are fixed up to a common shift: compare centred
    np.testing.assert_allclose(opt["w"], sk.coef_.T, atol=1e-6)
    np.testing.assert_allclose(
        opt["b"] - opt["b"].mean(), sk.intercept_ - sk.intercept_.mean(), atol=1e-6
    )
    f_sk = p.spec.value(X, y, {"w": sk.coef_.T, "b": sk.intercept_})
    assert f_star <= f_sk < f_star + 1e-10


def test_softmax_refuses_a_solve_larger_than_memory(monkeypatch):
    """The rows x classes arrays of the float64 solve are sized when the problem is made."""
    monkeypatch.setattr(gdjax.memory, "_machine_bytes", lambda: 2**20)
    X, y = np.zeros((2000, 2)), np.arange(2000) % 50
    with pytest.raises(
        ValueError, match=r"softmax's float64 solve of f\* of shape \(6, 2000, 50\)"
    ):
        gdjax.problems.softmax(X, y)


@pytest.mark.parametrize(
    "make, match",
    [
        # 100 classes from 1000 rows: some class draws none
        (
            lambda: gdjax.problems.make_softmax(1000, 10, 100),
            r"no row of y has label \d+ of num_classes=100",
        ),
        (
            lambda: gdjax.problems.softmax(np.zeros((3, 1)), [0, 2, 2]),
            r"no row of y has label 1 of num_classes=3:",
        ),
        (
            lambda: gdjax.problems.softmax(np.zeros((2, 1)), [0, 1], num_classes=5),
            r"label 2 of num_classes=5 \(nor 2 other labels\): that class's bias has no finite",
        ),
    ],
)
def test_softmax_class_without_rows_has_no_optimum_and_is_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_softmax_class_without_rows_is_fine_without_intercept():
    """Without a bias, the L2 penalty keeps the absent class's weights finite: f* exists."""
    p = gdjax.problems.softmax([[0.0], [1.0], [2.0]], [0, 2, 2], intercept=False)
    params, f_star = p.optimum()
    assert np.all(np.isfinite(params["w"])) and np.isfinite(f_star)


def test_memory_message_uses_a_unit_that_shows_the_size(monkeypatch):
    monkeypatch.setattr(gdjax.memory, "_machine_bytes", lambda: 2**20)
    with pytest.raises(
        ValueError, match=r"needs 781\.2 KiB, more than half of this machine's 1\.0 MiB"
    ):
        gdjax.memory.check_array((100_000,), np.float64, "x")
