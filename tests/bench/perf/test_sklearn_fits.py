"""scikit-learn's per-sample SGD, with the learning rates matched, gives gdjax's parameters."""

from __future__ import annotations

import numpy as np
import pytest

import gdjax
from bench.perf import loops, sklearn_fits

pytestmark = pytest.mark.skipif(not sklearn_fits.available(), reason=sklearn_fits.MISSING)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gdjax.problems.make_linear(200, 4, seed=1),
        lambda: gdjax.problems.make_linear(200, 4, seed=1, intercept=False),
        lambda: gdjax.problems.make_logistic(200, 4, seed=2),
        lambda: gdjax.problems.make_logistic(200, 4, seed=2, l2=0.0),
    ],
    ids=["linear", "linear-no-intercept", "logistic", "logistic-no-l2"],
)
def test_sklearn_fit_equals_gdjax_lane_in_float64(make):
    with gdjax.x64():
        p = make()
        r = gdjax.sweep(p, lrs=[0.01, 0.05], seeds=[3], batch_size=1, epochs=3, early_stop=False)
    rows = loops.step_rows(p.n, 1, 3, True, 3)
    for j, lr in enumerate([0.01, 0.05]):
        got = sklearn_fits.sklearn_loop(p, lr, rows, 3)
        np.testing.assert_allclose(got["w"], np.asarray(r.params["w"][0, j]), rtol=1e-9, atol=1e-12)
        if "b" in got:
            np.testing.assert_allclose(got["b"], float(r.params["b"][0, j]), rtol=1e-9, atol=1e-12)


def test_applies_only_to_the_same_algorithm():
    lin = gdjax.problems.make_linear(64, 2)
    assert sklearn_fits.applies(lin, 1)
    assert not sklearn_fits.applies(lin, 8)
    assert not sklearn_fits.applies(gdjax.problems.make_softmax(64, 2, 3), 1)
