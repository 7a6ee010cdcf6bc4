"""The non-convex problems against NumPy float64 references written here, the noise rows'
exact zero mean, batch GD stuck at the saddle, and their bad inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gdjax
from gdjax.problems import noisy
from gdjax.problems.nonconvex import double_well_barrier


# ----- references: f and its gradient, by hand, in float64 -------------------------------------
def saddle_f(w):
    x, y = w
    return x**2 + y**4 / 4 - y**2 / 2, np.array([2 * x, y**3 - y])


def well_f(w, tilt=0.25):
    x, y = w
    return (x**2 - 1) ** 2 + tilt * x + y**2, np.array([4 * x**3 - 4 * x + tilt, 2 * y])


def rosen_f(w):
    f = sum(100 * (w[i + 1] - w[i] ** 2) ** 2 + (1 - w[i]) ** 2 for i in range(len(w) - 1))
    g = np.zeros_like(w)
    for i in range(len(w) - 1):
        g[i] += -400 * w[i] * (w[i + 1] - w[i] ** 2) - 2 * (1 - w[i])
        g[i + 1] += 200 * (w[i + 1] - w[i] ** 2)
    return f, g


def beale_f(w):
    x, y = w
    f, g = 0.0, np.zeros(2)
    for c, k in ((1.5, 1), (2.25, 2), (2.625, 3)):
        r = c - x + x * y**k
        f += r**2
        g += 2 * r * np.array([y**k - 1, k * x * y ** (k - 1)])
    return f, g


CASES = [
    (lambda: gdjax.problems.saddle(n=64, seed=3), saddle_f),
    (lambda: gdjax.problems.double_well(n=64, seed=3), well_f),
    (lambda: gdjax.problems.rosenbrock(d=5, n=64, seed=3), rosen_f),
    (lambda: gdjax.problems.beale(n=64, seed=3), beale_f),
]


@pytest.mark.parametrize("make, ref", CASES, ids=["saddle", "double_well", "rosenbrock", "beale"])
def test_loss_and_gradient_match_numpy_float64(make, ref):
    with gdjax.x64():
        p = make()
        rng = np.random.default_rng(0)
        z = np.asarray(p.data[0]["z"], np.float64)
        dim = z.shape[1]
        for _ in range(3):
            w = rng.uniform(-1.5, 1.5, dim)
            rows = rng.choice(64, 8, replace=False)
            f, g = ref(w)
            # on a batch: f plus the rows' noise, linear in w (scale 1)
            want_f = f + z[rows].mean(0) @ w
            want_g = g + z[rows].mean(0)
            batch = {"z": jnp.asarray(z[rows])}
            got_f, got_g = jax.value_and_grad(p.spec.loss)({"w": jnp.asarray(w)}, batch)
            np.testing.assert_allclose(float(got_f), want_f, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(np.asarray(got_g["w"]), want_g, rtol=1e-12, atol=1e-12)
            # over all rows the noise is gone: the full-data loss is f (to rounding)
            np.testing.assert_allclose(float(p.loss({"w": jnp.asarray(w)})), f, rtol=1e-12)


def test_deep_quadratic_against_its_spectrum():
    with gdjax.x64():
        p = gdjax.problems.deep_quadratic(n=64)
        L, mu = p.curvature()
        eig = np.sort(np.linalg.eigvalsh(jax.hessian(lambda w: p.loss({"w": w}))(jnp.zeros(100))))
    assert (eig[:90] < 1).all() and (eig[:90] > 0).all()
    assert (eig[90:] > 30).all() and (eig[90:] < 60).all()
    np.testing.assert_allclose([L, mu], [eig[-1], eig[0]], rtol=1e-10)


@pytest.mark.parametrize("make", [c[0] for c in CASES], ids=["saddle", "well", "rosen", "beale"])
def test_known_optimum_and_curvature_against_the_hessian(make):
    with gdjax.x64():
        p = make()
        params, f_star = p.optimum()
        assert float(p.loss({"w": jnp.asarray(params["w"])})) == pytest.approx(f_star, abs=1e-12)
        grad = jax.grad(lambda w: p.loss({"w": w}))(jnp.asarray(params["w"]))
        assert np.abs(np.asarray(grad)).max() < 1e-9  # a stationary point
        H = jax.hessian(lambda w: p.loss({"w": w}))(jnp.asarray(params["w"]))
        eig = np.linalg.eigvalsh(np.asarray(H))
        np.testing.assert_allclose(p.curvature(), (eig[-1], eig[0]), rtol=1e-9)
        assert eig[0] > 0  # a minimum
    assert p.f_star_source.label == "closed form"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_noise_rows_sum_to_exactly_zero_in_any_order(dtype):
    z = noisy.noise_rows(2048, 3, seed=7, dtype=dtype)
    rng = np.random.default_rng(1)
    for _ in range(5):
        shuffled = z[rng.permutation(len(z))]
        assert (np.cumsum(shuffled, axis=0, dtype=dtype)[-1] == 0).all()
        assert (shuffled.sum(axis=0) == 0).all()
    assert np.abs(z).max() <= noisy.NOISE_CLIP
    assert (np.round(z / noisy.NOISE_GRID) * noisy.NOISE_GRID == z).all()
    assert z.std() == pytest.approx(1.0, rel=0.1)


def test_saddle_full_gradient_is_exactly_zero_and_batch_gd_never_moves():
    p = gdjax.problems.saddle()  # float32, 1024 rows
    g = jax.grad(lambda w: p.loss({"w": w}))(jnp.zeros(2, jnp.float32))
    assert (np.asarray(g) == 0).all()
    r = gdjax.sweep(p, lrs=[0.01, 0.3], epochs=200, eval_every=1)
    assert (r.losses[..., ~np.isnan(r.losses[0, 0])] == 0).all()
    assert (np.asarray(r.params["w"]) == 0).all()
    assert set(r.to_frame()["status"]) == {"max_steps"}


def test_stochastic_lanes_leave_the_saddle_and_stay_out():
    p = gdjax.problems.saddle()
    r = gdjax.sweep(p, lrs=[0.1], seeds=range(5), batch_size=1, epochs=2, targets=[0.9])
    h = r.hits()
    left = h[h["target"] == 0.9]
    assert left["stay_step"].notna().all()  # every seed left and stayed outside r = 0.224
    w = np.asarray(r.params["w"]).reshape(-1, 2)
    assert (np.abs(np.abs(w[:, 1]) - 1) < 0.3).all()  # near a minimum (0, +-1)


def test_double_well_batch_gd_ends_in_the_shallow_well():
    p = gdjax.problems.double_well(n=64)
    r = gdjax.run(p, lr=0.05, epochs=500)
    assert float(r.params["w"][0]) > double_well_barrier(0.25)
    assert r.status == "max_steps"  # the shallow minimum is not within tol of f*


def test_problems_of_the_same_shapes_share_one_compile():
    a = gdjax.problems.rosenbrock(d=3, n=64, seed=0)
    b = gdjax.problems.rosenbrock(d=3, n=64, seed=1, noise=1.0)
    assert a.spec == b.spec and hash(a.spec) == hash(b.spec)


@pytest.mark.parametrize(
    "call, err, words",
    [
        (lambda: gdjax.problems.rosenbrock(d=1), ValueError, "d must be"),
        (lambda: gdjax.problems.saddle(noise=-1.0), ValueError, "noise"),
        (lambda: gdjax.problems.saddle(noise=float("inf")), ValueError, "noise"),
        (lambda: gdjax.problems.saddle(n=1000), ValueError, "n must be a power of two"),
        (lambda: gdjax.problems.saddle(n=4096), ValueError, "n must be"),
        (lambda: gdjax.problems.saddle(init=[0.0]), ValueError, "init must be 2 numbers"),
        (lambda: gdjax.problems.double_well(tilt=1.5), ValueError, "tilt"),
        (lambda: gdjax.problems.double_well(tilt=-0.1), ValueError, "tilt"),
    ],
)
def test_bad_input_names_the_argument(call, err, words):
    with pytest.raises(err, match=words):
        call()


def test_every_stated_global_minimiser_is_one():
    from gdjax.problems.nonconvex import SADDLE

    assert SADDLE.minimisers.shape == (2, 2)
    for w in SADDLE.minimisers:
        f, g = saddle_f(w)
        assert f == SADDLE.f_star and not np.any(g)
