"""measure="grad_norm": steps to ``||grad f(w)|| <= target ||grad f(w0)||`` against NumPy float64
loops that compute the full-data gradient after every step (least squares: batch and
mini-batch with rows in order, in the eigenbasis and not; logistic), no f* and no first pass
for a best-found f*, one compile per grid, the rounding bound against float64, bad inputs."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gdjax
from gdjax._kernel import cost, found, measure, plan, program
from gdjax.problems.losses import LeastSquares, Logistic
from gdjax.problems.losses import reference as reference_solves
from gdjax.problems.losses.gradient import GradientNorm
from tests.reference import batches, design, loss_and_grad

TARGETS = [1e-1, 1e-2, 1e-3, 1e-4]
TOL = 1e-5


def numpy_grad_norms(kind, X, y, *, lr, b, epochs, l2=0.0):
    """Plain SGD in float64, rows in order; the full-data gradient norm before the first step
    and after every step (``||2 A^T (A w - y) / n||`` for least squares)."""
    A, y = design(np.asarray(X, np.float64), True), np.asarray(y, np.float64)
    theta = np.zeros(A.shape[1])
    norms = [np.linalg.norm(loss_and_grad(kind, theta, A, y, l2)[1])]
    for idx in batches(len(A), b, epochs, shuffle=False, seed=0):
        theta = theta - lr * loss_and_grad(kind, theta, A[idx], y[idx], l2)[1]
        norms.append(np.linalg.norm(loss_and_grad(kind, theta, A, y, l2)[1]))
    return np.asarray(norms)


def counts(norms, levels):
    """Per level (relative to norms[0]): the first step at or below it, and the first step of
    the final run at or below it (-1 where none), as the booking defines them."""
    first, stay = [], []
    for r in levels:
        below = norms <= r * norms[0]
        hit = np.flatnonzero(below)
        first.append(int(hit[0]) if hit.size else -1)
        above = np.flatnonzero(~below)
        stay.append(-1 if below.size - 1 in above else (int(above[-1]) + 1 if above.size else 0))
    return np.array(first), np.array(stay)


def lane_counts(res, j):
    return res.first_step[0, j], res.stay_step[0, j]


@pytest.mark.parametrize("batch_size", [None, 16])
def test_least_squares_counts_equal_a_numpy_loop_in_the_eigenbasis_and_not(x64, batch_size):
    p = gdjax.problems.make_linear(128, 4, seed=2)
    lrs = [0.05, 0.2]
    b = 128 if batch_size is None else batch_size
    epochs = 60 if batch_size is None else 8
    run = dict(
        lrs=lrs, batch_size=batch_size, epochs=epochs, shuffle=False, targets=TARGETS, tol=TOL
    )
    run.update(early_stop=False, measure="grad_norm")
    rotated = gdjax.sweep(p, **run)
    # a callable optimizer is never rotated: the quadratic form 2 M (theta - theta*)
    plain = gdjax.sweep(p, **{**run, "optimizer": lambda lr: optax.sgd(lr)})
    assert gdjax.build(p, **run).basis is not None
    assert gdjax.build(p, **{**run, "optimizer": lambda lr: optax.sgd(lr)}).basis is None
    assert rotated.exact and plain.exact
    for j, lr in enumerate(lrs):
        norms = numpy_grad_norms("linear", p.X, p.y, lr=lr, b=b, epochs=epochs)
        first, stay = counts(norms, [*TARGETS, TOL])
        for res in (rotated, plain):
            got_first, got_stay = lane_counts(res, j)
            np.testing.assert_array_equal(got_first, first)
            np.testing.assert_array_equal(got_stay, stay)
        # the curve holds gradient norms: its first point is the start's
        assert rotated.losses[0, j, 0] == pytest.approx(norms[0], rel=1e-12)
        assert rotated.f0 == pytest.approx(norms[0], rel=1e-12)
    frame = rotated.to_frame()
    assert set(frame["measure"]) == {"grad_norm"}
    assert rotated.f_star == 0.0 and rotated.f_star_source == measure.SOURCE
    assert gdjax.run(p, lr=0.2, epochs=2, measure="grad_norm").measure == "grad_norm"


@pytest.mark.parametrize("batch_size", [None, 20])
def test_logistic_counts_equal_a_numpy_loop(x64, batch_size):
    p = gdjax.problems.make_logistic(100, 3, seed=1, l2=1e-2)
    lrs = [0.5, 2.0]
    b = 100 if batch_size is None else batch_size
    epochs = 150 if batch_size is None else 10
    res = gdjax.sweep(
        p,
        lrs=lrs,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=False,
        targets=TARGETS,
        tol=TOL,
        early_stop=False,
        exact=True,
        measure="grad_norm",
    )
    for j, lr in enumerate(lrs):
        norms = numpy_grad_norms("logistic", p.X, p.y, lr=lr, b=b, epochs=epochs, l2=1e-2)
        first, stay = counts(norms, [*TARGETS, TOL])
        got_first, got_stay = lane_counts(res, j)
        np.testing.assert_array_equal(got_first, first)
        np.testing.assert_array_equal(got_stay, stay)


def test_the_loss_measure_is_unchanged_by_default():
    p = gdjax.problems.make_linear(64, 3)
    a = gdjax.sweep(p, lrs=[0.1], epochs=5)
    b = gdjax.sweep(p, lrs=[0.1], epochs=5, measure="loss")
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.measure == "loss" and set(a.to_frame()["measure"]) == {"loss"}
    assert gdjax.build(p, lrs=[0.1], epochs=5).config.spec == p.spec  # the same program


def test_divergence_is_a_gradient_norm_past_the_factor():
    p = gdjax.problems.make_linear(64, 3)
    L, _ = p.curvature()
    res = gdjax.sweep(p, lrs=[0.5 / L, 3.0 / L], epochs=200, measure="grad_norm")
    assert res.to_frame()["status"].tolist() == ["converged", "diverged"]


def mlp(params, batch):
    x, y = batch
    h = jnp.tanh(x @ params["W1"])
    return jnp.mean((h @ params["W2"] - y) ** 2)


def mlp_init(key):
    import jax

    k1, k2 = jax.random.split(key)
    return {"W1": jax.random.normal(k1, (3, 4)) / 2, "W2": jax.random.normal(k2, (4,)) / 2}


RNG = np.random.default_rng(0)
XM = RNG.standard_normal((40, 3)).astype(np.float32)
YM = (XM @ np.array([1.0, -1.0, 0.5]) + 0.1 * RNG.standard_normal(40)).astype(np.float32)


def test_a_best_found_f_star_needs_no_first_pass(monkeypatch, compile_counter):
    def refuse(*args, **kwargs):
        raise AssertionError("a first pass ran")

    monkeypatch.setattr(found, "best_found", refuse)
    monkeypatch.setattr(found, "first_pass_levels", refuse)
    calls = []
    jitted = program.jitted_program
    monkeypatch.setattr(program, "jitted_program", lambda *a: calls.append(1) or jitted(*a))
    p = gdjax.problems.custom(mlp, (XM, YM), init=mlp_init, f_star="best")
    grid = dict(lrs=[0.05, 0.2], seeds=[0, 1], batch_size=8, epochs=3, measure="grad_norm")
    res = gdjax.sweep(p, **grid)
    assert len(calls) == 1  # one execution: the booked pass alone
    assert res.f_star == 0.0 and set(res.to_frame()["f_star_source"]) == {measure.SOURCE}
    # each seed draws its own start, and each lane's curve starts at its own gradient norm
    for s in range(2):
        g0 = p.gradient_norm(p.init_params(s))
        np.testing.assert_allclose(res.losses[s, :, 0], g0, rtol=1e-5)
    assert res.f0 == pytest.approx(max(p.gradient_norm(p.init_params(s)) for s in range(2)))
    # a second grid of the same size compiles nothing
    before = len(compile_counter)
    gdjax.sweep(p, **{**grid, "lrs": [0.03, 0.1]})
    assert len(compile_counter) == before


def test_a_reference_f_star_is_not_solved_for(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("solved for f*")

    monkeypatch.setattr(reference_solves, "lbfgs", refuse)
    p = gdjax.problems.custom(mlp, (XM, YM), init=mlp_init)
    res = gdjax.sweep(p, lrs=[0.1], batch_size=40, epochs=20, measure="grad_norm")
    assert res.exact  # batch GD: a full-data gradient costs a step


def test_a_second_least_squares_grid_compiles_nothing(compile_counter):
    p = gdjax.problems.make_linear(128, 4)
    run = dict(batch_size=16, seeds=[0, 1], epochs=3, measure="grad_norm")
    gdjax.sweep(p, lrs=[0.01, 0.1], **run)
    before = len(compile_counter)
    gdjax.sweep(p, lrs=[0.05, 0.3], **{**run, "seeds": [3, 4], "tol": 1e-2})
    assert len(compile_counter) == before


def test_the_cost_model_counts_a_gradient_as_a_step_over_all_rows():
    q = gdjax.problems.make_logistic(2048, 32)
    assert cost.exact_affordable(q, 2048, 500, 48, "grad_norm")  # batch GD: one step's cost
    assert cost.exact_affordable(q, 1024, 500, 48, "loss")  # a loss pass: half a step
    assert not cost.exact_affordable(q, 1024, 500, 48, "grad_norm")  # a gradient: two
    lin = gdjax.problems.make_linear(4096, 16)
    assert cost.exact_affordable(lin, 1, 10**6, 64, "grad_norm")  # the quadratic form
    # a custom loss by its measured flops: a loss pass over 40 rows costs less than a gradient
    # over 20, a gradient over all 40 twice that
    c = gdjax.problems.custom(mlp, (XM, YM), init=mlp_init, f_star=0.0)
    check, step = c.flops(20)
    assert check < step
    assert cost.exact_affordable(c, 20, 10**7, 64, "loss")
    assert not cost.exact_affordable(c, 20, 10**7, 64, "grad_norm")
    assert cost.exact_affordable(c, 40, 10**7, 64, "grad_norm")


@pytest.mark.parametrize("rotate", [True, False])
def test_least_squares_rounding_stays_within_its_bound(rotate):
    p = gdjax.problems.make_linear(256, 6, seed=4, cond=30.0)
    k = gdjax.build(
        p,
        lrs=[0.1],
        epochs=1,
        batch_size=16,
        measure="grad_norm",
        optimizer="sgd" if rotate else (lambda lr: optax.sgd(lr)),
    )
    spec, aux = k.config.spec, k.args.aux
    opt, _ = p.optimum()
    rng = np.random.default_rng(0)
    for scale in (1e-6, 1e-4, 1e-2, 1.0):
        theta = {
            key: np.asarray(v + scale * rng.standard_normal(np.shape(v)), np.float32)
            for key, v in opt.items()
        }
        truth = p.gradient_norm(theta)  # float64, at the float32 iterate
        params = {"w": np.asarray(k.basis.coords(theta), np.float32)} if rotate else theta
        got = float(spec.monitor(params, *k.args.data, aux))
        bound = float(spec.monitor_error(aux, [truth], f_star=0, f0=1, n=p.n, dtype=np.float32)[0])
        assert abs(got - truth) <= bound, (scale, got, truth, bound)


def test_full_data_gradient_rounding_stays_within_its_bound():
    p = gdjax.problems.make_logistic(4096, 8, seed=1)
    opt, _ = p.optimum()
    scale = max(p.row_gradient_scale(p.init_params()), p.row_gradient_scale(opt))
    spec = GradientNorm(Logistic(True, p.spec.l2), row_scale=scale)
    rng = np.random.default_rng(1)
    for step in (0.0, 1e-4, 1e-2):
        theta = {
            key: np.asarray(v + step * rng.standard_normal(np.shape(v)), np.float32)
            for key, v in opt.items()
        }
        truth = p.gradient_norm(theta)
        got = float(spec.monitor(theta, *p.data, None))
        bound = float(spec.monitor_error(None, [truth], f_star=0, f0=1, n=p.n, dtype=np.float32)[0])
        assert abs(got - truth) <= bound, (step, got, truth, bound)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(measure="gradient"), ValueError, "measure must be one of 'loss', 'grad_norm'"),
        (dict(measure=1), TypeError, "measure must be a string"),
        (dict(measure="grad_norm", divergence_factor=0.5), ValueError, "divergence_factor"),
        (dict(measure="grad_norm", tol=1e-9), ValueError, "tol 1e-09 is finer than float32 can"),
        (dict(measure="grad_norm", targets=[1e-9]), ValueError, "target 1e-09 in targets"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(kwargs, error, match):
    p = gdjax.problems.make_logistic(64, 3)
    with pytest.raises(error, match=match):
        gdjax.sweep(p, lrs=[0.1], epochs=2, **kwargs)
    with pytest.raises(error, match=match):  # and by check, before building
        plan.check(p, lrs=[0.1], epochs=2, solve=True, **kwargs)


def test_a_singular_least_squares_form_refuses_what_it_cannot_bound():
    X = np.ones((32, 2), np.float32)  # two equal columns: M is singular
    p = gdjax.problems.linear(X, np.arange(32.0, dtype=np.float32), intercept=False)
    with pytest.raises(ValueError, match="gradient norm"):
        gdjax.sweep(p, lrs=[0.01], epochs=2, optimizer="adam", measure="grad_norm")
    # in the eigenbasis the null direction costs nothing
    gdjax.sweep(p, lrs=[0.01], epochs=2, measure="grad_norm")


def test_the_spec_wrapper_is_transparent():
    spec = GradientNorm(LeastSquares(True))
    assert spec.kind == "linear" and spec.cheap_monitor and not spec.monitors_gap
    assert spec == GradientNorm(LeastSquares(True), row_scale=3.0)  # the scale is no program
    assert hash(spec) == hash(GradientNorm(LeastSquares(True), row_scale=3.0))
