"""The numerical range of a run: what its dtype can resolve, refused before running otherwise.

References are float64 NumPy loops (tests/reference.py) and closed forms, never the kernel.
"""

import re

import numpy as np
import pytest

import gdjax
from gdjax.problems import synthetic
from tests.reference import gd_loop


def far_optimum(n=256, d=4, offset=300.0):
    """A no-intercept fit whose optimum is far from 0 against its start: f* = offset^2 = 9e4 and
    f0 - f* = w^T M w (about 1.9), in float32. The features are centred, so the constant
    offset is orthogonal to every column: theta* = w exactly."""
    X = synthetic.features(n, d, cond=10.0, rng=np.random.default_rng(0))
    w = np.array([1.5, -1.0, 0.8, 0.5])[:d]
    y = offset + X @ w
    return gdjax.problems.linear(X.astype(np.float32), y.astype(np.float32), intercept=False)


TARGETS = [1e-1, 1e-2, 1e-3]


# batch GD: a mini-batch's gradient sees the offset (its rows' features are not centred), and
# its noise swamps the targets
@pytest.mark.parametrize("lr", [0.3, 0.5, 0.7])
def test_counts_on_a_large_optimum_equal_the_float64_truth(lr):
    p = far_optimum()
    assert p.dtype == np.float32
    _, f_star = p.optimum()
    f0 = p.value(p.init_params())
    assert f_star == pytest.approx(9e4, rel=1e-6) and 1.0 < f0 - f_star < 3.0
    epochs = 40
    _, ref = gd_loop("linear", p.X, p.y, lr=lr, b=p.n, epochs=epochs, intercept=False)
    rel = (ref - f_star) / (f0 - f_star)
    levels = [*TARGETS, 1e-4]  # the ladder, then tol
    # no step of the reference within 1% of a level: float32 iterates would be on its side too
    assert np.abs(rel[:, None] / np.array(levels) - 1).min() > 1e-2
    truth = [int(np.argmax(rel <= lv)) if (rel <= lv).any() else None for lv in levels]
    assert truth[2] is not None  # the run gets past 1e-3
    r = gdjax.run(p, lr=lr, epochs=epochs, tol=1e-4, targets=TARGETS, eval_every=1)
    got = [None if s < 0 else int(s) for s in r.hits()["first_step"].fillna(-1)]
    assert got == truth[:3]
    assert r.steps_to_target == truth[3]
    # the curve is f(w) (f* added back in float64): its gaps follow the reference's
    gaps = r.losses - f_star
    np.testing.assert_allclose(gaps, ref[: len(gaps)] - f_star, rtol=2e-3)


def test_a_tight_tol_on_a_large_optimum_is_booked_by_the_truth():
    # tol 1e-9 on the gap monitor: resolvable (the gap has no term of size f*); the status
    # must agree with the float64 suboptimality of the parameters the run ended with
    p = far_optimum()
    _, f_star = p.optimum()
    f0 = p.value(p.init_params())
    r = gdjax.run(p, lr=0.5, epochs=200, tol=1e-9, targets=TARGETS)
    true_rel = (p.value(r.params) - f_star) / (f0 - f_star)
    if r.status == "converged":
        assert true_rel <= 1.25e-9
    else:
        assert r.status == "max_steps" and true_rel > 0.75e-9


# ------------------------------------------------------------------------- resolution refused


def small_logistic(dtype=np.float32):
    X = synthetic.features(128, 3, cond=None, rng=np.random.default_rng(1))
    y = (X[:, 0] > 0).astype(np.float64)
    return gdjax.problems.logistic(np.asarray(X, dtype), np.asarray(y, dtype))


def quadratic_truth(a, b, x0, lr, level):
    """The first step at which batch GD on a x^2 + b x + c, from x0, is at or below ``level``
    relative suboptimality: a float64 loop on the gap a (x - x*)^2 (no c, nothing cancels)."""
    x_star = -b / (2 * a)
    x, g0 = x0, a * (x0 - x_star) ** 2
    for t in range(1, 100_000):
        x = x - lr * (2 * a * x + b)
        if a * (x - x_star) ** 2 <= level * g0:
            return t
    raise AssertionError("not reached")


# the loss a x^2 + b x + c cancels terms far larger than its gap: monitored as a x^2 + b x + c
# these were booked converged at step 109 (float32) and step 0 (float64, f0 rounding onto f*)
@pytest.mark.parametrize(
    ("coefficients", "x0", "use_x64"),
    [((1.0, -2e4, 1e8), 1e4 + 30, False), ((1.0, -2e12, 1e24), 1e12 + 30, True)],
)
def test_a_quadratic_whose_terms_dwarf_its_gap_is_counted_on_the_gap(coefficients, x0, use_x64):
    def run():
        q = gdjax.problems.quadratic(*coefficients)
        return gdjax.run(q, lr=0.01, epochs=400, init=x0, tol=1e-3, early_stop=False)

    if use_x64:
        with gdjax.x64():
            r = run()
    else:
        r = run()
    truth = quadratic_truth(coefficients[0], coefficients[1], x0, 0.01, 1e-3)
    assert truth == 171
    # float32 iterates near 1e4 round by 5e-4, on a distance of 0.95 at the hit: one step at most
    assert r.status == "converged" and abs(r.steps_to_target - truth) <= (0 if use_x64 else 1)


def test_a_quadratic_whose_optimum_dwarfs_its_start_gap_is_not_optimal_at_the_start():
    """f* = 1e30 and f(1) - f* = 1: f0 rounds onto f* in float64 too; the gap does not."""
    r = gdjax.run(gdjax.problems.quadratic(1.0, 0.0, 1e30), lr=0.01, epochs=400, init=1.0)
    assert r.status == "converged"
    assert r.steps_to_target == quadratic_truth(1.0, 0.0, 1.0, 0.01, 1e-3) == 171


@pytest.mark.parametrize(
    "make, kwargs, match",
    [
        (small_logistic, dict(tol=1e-9), "tol 1e-09 is finer than float32"),
        (small_logistic, dict(targets=[1e-1, 1e-9]), "target 1e-09 in targets"),
        # the quadratic's gap: x* = 1e4 rounds by 1e-3 in float32, a gap of 1e-6; 1e-9 x 900 is less
        (lambda: gdjax.problems.quadratic(1.0, -2e4, 1e8), dict(tol=1e-9), "tol 1e-09"),
    ],
)
def test_levels_a_float32_loss_cannot_resolve_are_refused(make, kwargs, match):
    p = make()
    # the loss near f* rounds by about eps |f*| (1e-7 |f*|): a gap of 1e-9 (f0 - f*) is noise
    init = 1e4 + 30 if p.spec.kind == "quadratic" else None
    with pytest.raises(ValueError, match=match):
        gdjax.build(p, lrs=[0.1], epochs=2, init=init, **kwargs)


def test_the_same_levels_in_float64_are_accepted(x64):
    gdjax.build(small_logistic(np.float64), lrs=[0.1], epochs=2, tol=1e-9, targets=[1e-9])


@pytest.mark.parametrize("rotated", [False, True])
def test_a_gap_finer_than_the_optimum_rounds_is_refused(rotated):
    # theta* ~ 1e4, a start 0.1 from it: float32 holds theta* only to about 1e-3 a coordinate,
    # which moves the gap by far more than target 1e-4 of f0 - f* (1e-4 x 1.5e-2)
    X = synthetic.features(64, 2, cond=2.0, rng=np.random.default_rng(2))
    y = X @ np.array([1e4, -1e4])
    p = gdjax.problems.linear(X.astype(np.float32), y.astype(np.float32), intercept=False)
    opt, _ = p.optimum()
    init = {"w": opt["w"] + 1e-1}
    kw = dict(lrs=[0.1], epochs=2, init=init, batch_size=1 if rotated else None, tol=1e-1)
    with pytest.raises(ValueError, match=r"target 0\.0+1 in targets is finer than float32"):
        gdjax.build(p, **kw)
    k = gdjax.build(p, **kw, targets=[0.5])  # coarse levels are resolvable
    assert (k.basis is not None) == rotated


def test_the_default_suites_levels_are_resolvable():
    # every problem of the shipped default suite at its tol and targets, with its monitor as
    # the kernel runs it (least squares in both bases)
    from bench.run import suites

    s = suites.load("default")
    args = s.entries[0].sweep_args()
    for name, build in s.builders.items():
        p = build()
        _, f_star = p.optimum()
        f0 = p.value(p.init_params())
        monitors = [(p.spec, p.monitor_aux())]
        if p.kind == "linear":
            basis = gdjax._kernel.eigenbasis.Eigenbasis.of(p)
            monitors.append(basis.kernel_data(p, p.init_params())[1:3])
        for spec, aux in monitors:
            gdjax._kernel.levels.check_resolution(
                spec, aux, f0=f0, f_star=f_star, tol=args["tol"], targets=args["targets"],
                n=p.n, dtype=p.dtype,
            )  # fmt: skip
        assert name


# ------------------------------------------------------------------------------ out of range


def test_a_start_whose_loss_overflows_the_dtype_is_refused():
    p = gdjax.problems.make_linear(64, 2)  # float32: f(w0) at w0 = 1e20 is about 1e40
    with pytest.raises(ValueError, match=r"init: the loss at the initial parameters.*float32"):
        gdjax.build(p, lrs=[0.1], epochs=2, init=1e20)


def test_data_whose_optimum_or_start_overflows_the_dtype_is_refused():
    # y of 1e20: y fits in float32, its square does not (f* of a fit with no columns to use)
    X = np.zeros((8, 1), np.float32)
    y = np.full(8, 1e20, np.float32)
    p = gdjax.problems.linear(X, y, intercept=False)
    with pytest.raises(ValueError, match=r"the problem's data: its optimum f\* = 1e\+40"):
        gdjax.build(p, lrs=[0.1], epochs=2)
    # the optimum in range, the start not: the data's fault when init is the default zeros
    q = gdjax.problems.linear(X, y, intercept=True)
    with pytest.raises(ValueError, match=r"the problem's data: the loss at the initial"):
        gdjax.build(q, lrs=[0.1], epochs=2)


@pytest.mark.parametrize("factor", [0.5, 0.99])
def test_a_start_already_past_the_divergence_level_is_refused(factor):
    # f0 - f* > factor x max(f0 - f*, |f*|) whenever factor < 1 and f0 - f* >= |f*|
    p = gdjax.problems.quadratic(1.0, 0.0, 0.0)  # f* = 0
    with pytest.raises(ValueError, match=f"divergence_factor {factor:g} puts the divergence"):
        gdjax.build(p, lrs=[0.1], epochs=2, init=1.0, divergence_factor=factor)
    r = gdjax.run(p, lr=0.1, epochs=200, init=1.0, divergence_factor=1.0)
    assert r.status == "converged"  # at the level itself it is not a divergence


# ------------------------------------------------------------------------ condition numbers


def _delivered_cond(p):
    if p.kind == "linear":  # the Hessian's, intercept included
        L, mu = p.curvature()
        return L / mu
    X = np.asarray(p.X, np.float64)  # the feature covariance's
    ev = np.linalg.eigvalsh(X.T @ X / len(X))
    return ev[-1] / ev[0]


MAKERS = {
    "linear": lambda **kw: gdjax.problems.make_linear(300, 6, **kw),
    "linear-no-intercept": lambda **kw: gdjax.problems.make_linear(64, 3, intercept=False, **kw),
    "logistic": lambda **kw: gdjax.problems.make_logistic(300, 6, **kw),
    "softmax": lambda **kw: gdjax.problems.make_softmax(300, 6, 3, **kw),
}


@pytest.mark.parametrize("maker", sorted(MAKERS))
@pytest.mark.parametrize("cond", [1e2, 1e4, 1e6, 1e8, 1e10, 1e12])
def test_cond_is_delivered_to_one_percent_in_float64(x64, maker, cond):
    p = MAKERS[maker](cond=cond)
    assert p.dtype == np.float64 and p.name.endswith(f"cond{cond:g}")
    assert _delivered_cond(p) == pytest.approx(cond, rel=1e-2)


@pytest.mark.parametrize("maker", sorted(MAKERS))
@pytest.mark.parametrize("cond", [1e2, 1e6, 1e10])
def test_cond_is_delivered_to_one_percent_in_float32(maker, cond):
    p = MAKERS[maker](cond=cond)
    assert p.dtype == np.float32
    assert _delivered_cond(p) == pytest.approx(cond, rel=1e-2)


@pytest.mark.parametrize("maker", sorted(MAKERS))
@pytest.mark.parametrize("cond, x64_on", [(1e17, True), (1e20, True), (1e12, False)])
def test_cond_beyond_what_can_be_delivered_is_refused(maker, cond, x64_on):
    with gdjax.x64(x64_on):
        with pytest.raises(ValueError, match=re.escape(f"cond {cond:g} is more than")):
            MAKERS[maker](cond=cond)


def test_check_with_solve_refuses_what_build_refuses():
    """gdjax.check(solve=True) makes build's level checks (without it: milliseconds, none)."""
    p = small_logistic()
    gdjax.check(p, lrs=[0.1], epochs=2, tol=1e-9)  # no optimum solved: not seen
    with pytest.raises(ValueError, match="tol 1e-09 is finer than float32"):
        gdjax.check(p, lrs=[0.1], epochs=2, tol=1e-9, solve=True)
    with pytest.raises(ValueError, match="init: the loss at the initial parameters"):
        gdjax.check(far_optimum(), lrs=[0.1], epochs=2, init=1e20, solve=True)


def test_check_refuses_a_float64_problem_outside_64_bit_mode():
    with gdjax.x64():
        p = gdjax.problems.make_linear(32, 2)
    with pytest.raises(ValueError, match="64-bit mode is off now"):
        gdjax.check(p, lrs=[0.1], epochs=1)


def test_a_divergence_level_past_the_dtypes_range_is_its_largest_number_without_a_warning():
    import warnings

    from gdjax._kernel.levels import Levels

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cast to float32 overflowed with a RuntimeWarning
        lv = Levels.of(1e30, 0.0, 1e-3, [0.1], 1e10, np.float32)
    assert float(lv.blowup) == float(np.finfo(np.float32).max)
