"""Property tests (hypothesis): gdjax against closed forms over many random settings."""

import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import gdjax

real = st.floats(min_value=-10, max_value=10, allow_nan=False, allow_subnormal=False)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI must not be a lottery
    database=None,  # and no replay of examples saved by earlier local runs
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    a=st.floats(min_value=0.1, max_value=5.0),
    b=real,
    c=real,
    x0=real,
    lr=st.floats(min_value=1e-3, max_value=0.5),
)
def test_parabola_trajectory_and_status_match_closed_form(x64, a, b, c, x0, lr):
    x_star = -b / (2 * a)
    # the closed form is exact arithmetic: when the starting gap f(x0) - f* is lost in the
    # rounding of f itself, relative suboptimality is rounding noise and there is nothing to test
    # (starting exactly at the optimum has its own test in test_train.py)
    assume(a * (x0 - x_star) ** 2 > 1e-6 * (1 + abs(c) + b * b / (4 * a)))
    p = gdjax.problems.quadratic(a, b, c)
    r = gdjax.run(p, lr=lr, epochs=30, init=x0, eval_every=1, early_stop=False)
    rate = 1 - 2 * a * lr  # x_{t+1} - x* = rate (x_t - x*)
    xs = x_star + (x0 - x_star) * rate ** np.arange(31)
    # a diverged lane stops recording where it was caught: compare what it recorded
    m = len(r.losses)
    np.testing.assert_allclose(r.losses, (a * xs**2 + b * xs + c)[:m], rtol=1e-9, atol=1e-9)
    if abs(rate) >= 1:
        assert r.status in ("max_steps", "diverged")
    else:
        # relative suboptimality after t steps is rate^(2t); first t with rate^(2t) <= 1e-3
        t = 1 if rate == 0 else math.ceil(math.log(1e-3) / (2 * math.log(abs(rate))))
        if t <= 30 and abs(abs(rate) ** (2 * t) - 1e-3) > 1e-9:  # away from ties at the edge
            assert r.status == "converged" and r.steps_to_target == t
        elif t > 30:
            assert r.status == "max_steps"


@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(n=st.integers(2, 300), data=st.data())
def test_every_epoch_visits_each_row_once(n, data):
    b = data.draw(st.integers(1, n))
    spe = gdjax.sampling.steps_per_epoch(n, b)
    assert spe == n // b and spe * b <= n < (spe + 1) * b
    perm = gdjax.sampling.epoch_permutation(n, 1, n)
    rows = np.concatenate([perm[k * b : (k + 1) * b] for k in range(spe)])
    assert len(set(rows.tolist())) == spe * b  # no row twice in an epoch
