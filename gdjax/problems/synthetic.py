"""Synthetic data of any size and any condition number, as NumPy float64 arrays.

:mod:`gdjax.problems` turns these into problems (``make_linear``, ``make_logistic``,
``make_softmax``); this module only draws numbers, so it imports nothing of gdjax.

With ``cond=None`` the features are i.i.d. N(0, 1) (an isotropic problem: batch GD converges in a
step or two, and the variants hardly differ). With ``cond=K`` the features are centred and their
covariance ``X^T X / n`` has eigenvalues spaced geometrically from 1 down to 1/K, in a random
basis, so its condition number is K exactly (to rounding). Centred columns are orthogonal to the
intercept column, whose eigenvalue is 1: the least-squares Hessian ``2 [X, 1]^T [X, 1] / n`` then
has condition number K too, with or without an intercept.

Example:
    >>> X = features(1000, 4, cond=100.0, rng=np.random.default_rng(0))
    >>> ev = np.linalg.eigvalsh(X.T @ X / 1000)
    >>> round(float(ev[-1] / ev[0]), 6), round(float(abs(X.mean(axis=0)).max()), 12)
    (100.0, 0.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["features", "linear_data", "logistic_data", "max_cond", "softmax_data"]


def max_cond(dtype) -> float:
    """The largest condition number :func:`features` delivers in ``dtype`` to within 1%.

    The spectrum is made in float64 and the data then rounded to ``dtype``; the delivered
    covariance, and the Hessian made from it, are measured in float64. Two roundings move
    the smallest eigenvalue 1/K, both in units of the largest (1): the float64 solves (QR, the
    moments, the eigen-solve) by a few eps64, and rounding the data to ``dtype``, which adds
    noise of variance about eps^2 to every entry, hence about eps^2 to every eigenvalue. The
    relative error of K is then about K (eps64 + eps^2); this allows 1e-3, ten times below the
    1% promised. (Measured: at most 8e-4 at 1e13 in float64, 5e-4 at 1e12 in float32.)

    Args:
        dtype: the floating dtype of the data.

    Returns:
        The largest K accepted: about 4.5e12 in float64, 7e10 in float32.

    Example:
        >>> f"{max_cond(np.float64):.1e}", f"{max_cond(np.float32):.1e}"
        ('4.5e+12', '6.9e+10')
    """
    eps = float(np.finfo(dtype).eps)
    return 1e-3 / (float(np.finfo(np.float64).eps) + eps * eps)


def features(n: int, d: int, *, cond: float | None, rng: np.random.Generator) -> np.ndarray:
    """An (n, d) feature matrix: N(0, 1), or centred with covariance of condition number ``cond``.

    Args:
        n: rows; with ``cond`` at least d + 1 (centred columns span at most n - 1 dimensions).
        d: columns.
        cond: None for i.i.d. N(0, 1) entries, else K >= 1.
        rng: the NumPy generator to draw from.

    Returns:
        A float64 array of shape (n, d).
    """
    if cond is None:
        return rng.standard_normal((n, d))
    if n < d + 1:
        raise ValueError(f"cond needs n >= d + 1 rows to set the spectrum, got n={n}, d={d}")
    Z = rng.standard_normal((n, d))
    Z -= Z.mean(axis=0)
    Q, _ = np.linalg.qr(Z)  # orthonormal columns inside the centred subspace
    Q -= Q.mean(axis=0)  # remove the rounding that QR leaves in the column means
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))  # a random orientation
    eig = np.geomspace(1.0, 1.0 / cond, d) if d > 1 else np.array([1.0 / cond])
    return np.sqrt(n) * (Q * np.sqrt(eig)) @ V.T


def linear_data(n, d, *, noise, seed, cond=None) -> tuple[np.ndarray, np.ndarray]:
    """Least squares: X as :func:`features`, w* ~ N(0, 1), y = X w* + noise * N(0, 1)."""
    rng = np.random.default_rng(seed)
    X = features(n, d, cond=cond, rng=rng)
    w = rng.standard_normal(d)
    return X, X @ w + noise * rng.standard_normal(n)


def logistic_data(n, d, *, seed, cond=None) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels: X as :func:`features`, logits X w* with std about 2, y ~ Bernoulli."""
    rng = np.random.default_rng(seed)
    X = features(n, d, cond=cond, rng=rng)
    w = rng.standard_normal(d) * (2.0 / np.sqrt(d))
    p = 0.5 * (1.0 + np.tanh(0.5 * (X @ w)))
    return X, (rng.random(n) < p).astype(np.float64)


def softmax_data(n, d, num_classes, *, seed, cond=None) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels 0..k-1: X as :func:`features`, logits X W* with std about 2."""
    rng = np.random.default_rng(seed)
    X = features(n, d, cond=cond, rng=rng)
    W = rng.standard_normal((d, num_classes)) * (2.0 / np.sqrt(d))
    Z = X @ W
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (rng.random((n, 1)) > np.cumsum(P, axis=1)).sum(axis=1)
    return X, np.minimum(y, num_classes - 1)
