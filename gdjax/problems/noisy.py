"""Problems without data, made stochastic as DeepOBS makes them: noise rows with a mean of zero.

Each row of the data is a noise vector ``z_i`` and the loss on a batch of rows is
``f(w) + mean_i z_i . (s w)`` (s the noise scale). The rows are drawn so that their mean is
*exactly* zero, so the full-data loss is exactly ``f`` (to the rounding of ``f`` itself), batch
GD sees ``f``'s own gradient, and the optimum f* is ``f``'s. A mini-batch of b rows sees ``f``
plus a linear term whose gradient has a standard deviation of about ``s / sqrt(b)`` per
coordinate.

Exactly zero, in any order of summation: the rows come in antithetic pairs ``(z, -z)`` and every
entry is a multiple of 2**-10 of magnitude at most 8, so with at most :data:`MAX_ROWS` rows every
partial sum of a column is a multiple of 2**-10 below 2**14: float32 holds it exactly, so the
column sums are exactly 0 whatever order XLA adds them in. With a power-of-two number of rows
the full-data gradient of the noise term is then exactly 0 too (``1/n`` is exact): batch GD
started at a stationary point of ``f`` (the saddle) stays there, as the tutorials say it does.

Example:
    >>> z = noise_rows(8, 2, seed=0, dtype=np.float32)
    >>> z.shape, float(np.abs(z.sum(axis=0)).max())
    ((8, 2), 0.0)
"""

from __future__ import annotations

import numpy as np

from gdjax import checks

__all__ = ["MAX_ROWS", "NOISE_CLIP", "NOISE_GRID", "noise_rows"]

#: Spacing of the noise entries' grid: every entry is a multiple of it.
NOISE_GRID = 2.0**-10
#: Largest magnitude of a noise entry (a standard normal clipped here: 8 sigma, never reached).
NOISE_CLIP = 8.0
#: Most rows: every partial sum of a column, at most ``MAX_ROWS x NOISE_CLIP`` on a grid of
#: ``NOISE_GRID``, then needs 24 significant bits: float32's.
MAX_ROWS = 2048


def check_rows(n, arg: str = "n") -> int:
    """The number of noise rows: an even power of two in [2, :data:`MAX_ROWS`].

    A power of two makes ``1/n`` exact, so the full-data gradient of the noise term is exactly 0
    (see the module docstring); even, for the antithetic pairs.

    Raises:
        TypeError: not an int.
        ValueError: not a power of two in range.

    Example:
        >>> check_rows(1024)
        1024
    """
    n = checks.integer(n, arg, lo=2, hi=MAX_ROWS)
    if n & (n - 1):
        raise ValueError(
            f"{arg} must be a power of two (so the noise averages to exactly 0), got {n}"
        )
    return n


def check_noise(noise, arg: str = "noise") -> float:
    """The noise scale s: a finite number >= 0 (0: every batch size is batch GD's path).

    Example:
        >>> check_noise(0.5)
        0.5
    """
    return checks.real(noise, arg, lo=0.0)


def noise_rows(n: int, dim: int, *, seed: int, dtype) -> np.ndarray:
    """``n`` noise rows of ``dim`` entries whose columns sum to exactly 0 in ``dtype``.

    Standard normal entries, rounded to multiples of :data:`NOISE_GRID` and clipped at
    :data:`NOISE_CLIP`; the second half of the rows is the first half negated, and the rows are
    then shuffled (so that rows in order are no antithetic pairs).

    Args:
        n: rows, an even power of two <= :data:`MAX_ROWS` (:func:`check_rows`).
        dim: entries per row (the parameters' size).
        seed: the draw.
        dtype: the floating dtype of the rows.

    Returns:
        An (n, dim) array of ``dtype``.
    """
    n = check_rows(n)
    rng = np.random.default_rng(checks.seed(seed))
    half = rng.standard_normal((n // 2, dim))
    half = np.clip(np.round(half / NOISE_GRID) * NOISE_GRID, -NOISE_CLIP, NOISE_CLIP)
    rows = np.concatenate([half, -half])[rng.permutation(n)]
    return rows.astype(dtype)
