"""The numerical range of a run: what its dtype can resolve, refused before running otherwise.

References are float64 NumPy loops (tests/reference.py) and closed forms, never the kernel.
"""

import numpy as np
import pytest

import gdjax
from gdjax import synthetic
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
