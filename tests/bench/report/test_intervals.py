"""bench.report.intervals against independent computations: the exact bootstrap distribution of
the median (every one of the n**n resamples enumerated, in NumPy) and scipy.stats.bootstrap."""

import itertools

import numpy as np
import pytest

from bench.report.intervals import median_ci, median_ci_rows


def exact_percentile_ci(v, level=0.95):
    """The percentile interval of the exact bootstrap distribution of the median: all n**n
    equally likely resamples, quantiles by the inverted CDF (the smallest median whose CDF
    reaches the level)."""
    v = np.asarray(v, float)
    meds = np.sort([np.median(v[list(i)]) for i in itertools.product(range(len(v)), repeat=len(v))])
    cdf = np.arange(1, len(meds) + 1) / len(meds)
    tail = (1 - level) / 2
    return meds[np.searchsorted(cdf, tail)], meds[np.searchsorted(cdf, 1 - tail)]


@pytest.mark.parametrize(
    "v",
    [
        [5.0, 1.0, 4.0, 2.0, 3.0],
        [832.0, 640.0, 1024.0, 700.0, 2048.0],
        [1.0, 2.0, 3.0, 10.0],
        [3.0, 3.0, 3.0, 9.0, 1.0, 2.0],
        [0.5, 0.25, 0.125, 4.0, 8.0, 16.0],
    ],
)
def test_matches_the_exact_bootstrap_distribution(v):
    med, lo, hi = median_ci(v)
    assert med == np.median(v)
    # the exact CDF has no jump within a few Monte Carlo errors of 2.5% / 97.5% for these
    assert (lo, hi) == exact_percentile_ci(v)


def test_agrees_with_scipy_bootstrap():
    stats = pytest.importorskip("scipy.stats")
    v = np.random.default_rng(3).lognormal(size=15) * 100
    _, lo, hi = median_ci(v)
    ref = stats.bootstrap(
        (v,), np.median, method="percentile", n_resamples=20000, random_state=1
    ).confidence_interval
    # both Monte Carlo, different streams and quantile rules: they agree to a sorted neighbour
    s = np.sort(v)
    step = np.diff(s).max()
    assert abs(lo - ref.low) <= step and abs(hi - ref.high) <= step


def test_deterministic_and_contains_the_median():
    v = np.random.default_rng(0).normal(size=9)
    a, b = median_ci(v), median_ci(v)
    assert a == b
    assert a[1] <= a[0] <= a[2]


def test_bad_inputs():
    assert all(np.isnan(median_ci([])))
    with pytest.raises(ValueError, match="values"):
        median_ci([1.0, np.nan])
    with pytest.raises(ValueError, match="level"):
        median_ci([1.0], level=1.0)


def test_rows_are_the_single_intervals():
    v = np.random.default_rng(2).lognormal(size=(7, 5))
    v[3, 1] = np.nan
    med, lo, hi = median_ci_rows(v)
    for i, row in enumerate(v):
        if i == 3:
            assert np.isnan([med[i], lo[i], hi[i]]).all()
        else:
            assert (med[i], lo[i], hi[i]) == median_ci(row)
    with pytest.raises(ValueError, match="values"):
        median_ci_rows([1.0, 2.0])
