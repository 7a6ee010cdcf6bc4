"""The interval every count and time of the report carries: a bootstrap confidence interval of the
median over seeds.

Method (said once, in the results README's "Reading the tables", :data:`METHOD`): a percentile
bootstrap with :data:`RESAMPLES` resamples of the seeds' values (drawn with replacement, as many as
there are seeds), the median of each, and the 2.5% and 97.5% points of those medians, each taken as
one of the resampled medians (NumPy's ``inverted_cdf`` quantile: no interpolation, so with few
seeds the ends are observed values or midpoints of two). The generator is seeded with
:data:`SEED` on every call, so the same values give the same interval and the report stays
byte-reproducible from the same runs. With 5 seeds the interval is usually the range of the seeds
(a resample's median is the smallest value with probability 5.8%, above the 2.5% cut-off): few
seeds give wide intervals, which is what they should give.

Example:
    >>> median_ci([3.0, 1.0, 2.0, 5.0, 4.0])
    (3.0, 1.0, 5.0)
    >>> median_ci([7.0])
    (7.0, 7.0, 7.0)
"""

from __future__ import annotations

import math

import numpy as np

#: Bootstrap resamples per interval.
RESAMPLES = 4000
#: The seed of the resampling generator (fixed: the same values give the same interval).
SEED = 0
#: The confidence level.
LEVEL = 0.95
#: How the interval is computed, in words (the README's "Reading the tables" says it once).
METHOD = (
    f"a {LEVEL:.0%} percentile-bootstrap confidence interval of the median over seeds "
    f"({RESAMPLES} resamples of the seeds with replacement, generator seeded with {SEED}, so "
    "the same runs give the same interval; the ends are resampled medians, not interpolated)"
)


def median_ci(values, level: float = LEVEL) -> tuple[float, float, float]:
    """The median of ``values`` and its percentile-bootstrap confidence interval (module
    docstring).

    Args:
        values: one number per seed (NaNs are not allowed: a seed that did not get there has no
            count, and the caller says ``(k/n)`` instead).
        level: the confidence level, in (0, 1).

    Returns:
        ``(median, lo, hi)``; all three NaN when ``values`` is empty.

    Raises:
        ValueError: ``values`` holds a NaN, or ``level`` is not in (0, 1).

    Example:
        >>> median_ci([10.0, 10.0, 10.0, 10.0, 10.0])
        (10.0, 10.0, 10.0)
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    if np.isnan(v).any():
        raise ValueError(f"values must not hold NaN, got {v.tolist()}")
    rng = np.random.default_rng(SEED)
    idx = rng.integers(0, v.size, size=(RESAMPLES, v.size))
    medians = np.median(v[idx], axis=1)
    tail = (1 - level) / 2
    lo, hi = np.quantile(medians, [tail, 1 - tail], method="inverted_cdf")
    return (float(np.median(v)), float(lo), float(hi))


def median_ci_rows(values, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`median_ci` of each row of a (points x seeds) array, as the plots' bands need it:
    one set of resampled seed indices for every row (the same draws :func:`median_ci` makes), so
    row ``i`` gives exactly ``median_ci(values[i])``. A row with a NaN (a seed with no value
    there) gets NaN.

    Args:
        values: a 2-D array, one row per point of a curve, one column per seed.
        level: the confidence level, in (0, 1).

    Returns:
        ``(median, lo, hi)``, one value per row.

    Example:
        >>> med, lo, hi = median_ci_rows([[3.0, 1.0, 2.0, 5.0, 4.0], [1.0, 1.0, 1.0, 1.0, np.nan]])
        >>> med.tolist(), lo.tolist(), hi.tolist()
        ([3.0, nan], [1.0, nan], [5.0, nan])
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values must be 2-D (points x seeds), got shape {v.shape}")
    points, n = v.shape
    nan = np.full(points, np.nan)
    if points == 0 or n == 0:
        return nan, nan.copy(), nan.copy()
    rng = np.random.default_rng(SEED)
    idx = rng.integers(0, n, size=(RESAMPLES, n))
    ok = ~np.isnan(v).any(axis=1)
    med, lo, hi = nan.copy(), nan.copy(), nan.copy()
    if ok.any():
        medians = np.median(v[ok][:, idx], axis=2)  # (points, RESAMPLES)
        tail = (1 - level) / 2
        q = np.quantile(medians, [tail, 1 - tail], axis=1, method="inverted_cdf")
        med[ok], lo[ok], hi[ok] = np.median(v[ok], axis=1), q[0], q[1]
    return med, lo, hi
