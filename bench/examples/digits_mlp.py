"""The non-convex suite's network: :func:`gdjax.problems.mlp` on a subsample of scikit-learn's
digits, as a suite's python problem (``bench/suites/nonconvex.toml``).

A subsample keeps the stochastic variant's steps (one per row per epoch) within the suite's few
minutes; the rows are drawn once, with ``seed``, so every variant and seed sees the same data.

Example:
    >>> p = digits(hidden=[4], rows=128)
    >>> p.n, p.num_params
    (128, 310)
"""

from __future__ import annotations

import numpy as np

import gdjax
from gdjax import checks

__all__ = ["digits"]


def digits(
    hidden=(32,),
    rows: int = 512,
    activation: str = "relu",
    l2: float = 0.0,
    seed: int = 0,
    f_star="best",
) -> gdjax.Problem:
    """A multi-layer perceptron on ``rows`` standardised digits (64 pixels, 10 classes).

    Args:
        hidden: the hidden layers' sizes (a list in a suite file).
        rows: how many of the 1797 images, drawn without replacement with ``seed``; an int in
            [10, 1797].
        activation, l2, f_star: as :func:`gdjax.problems.mlp` takes them (f* "best found" by
            default: a network has no known optimum).
        seed: the draw of the rows (each sweep seed draws its own initial weights).

    Returns:
        A :class:`gdjax.Problem` named ``digits-mlp``.
    """
    rows = checks.integer(rows, "rows", lo=10, hi=1797)
    data = gdjax.datasets.load("digits")  # standardised 8x8 images, labels 0..9
    pick = np.sort(np.random.default_rng(checks.seed(seed)).permutation(data.n)[:rows])
    X, y = np.asarray(data.X)[pick], np.asarray(data.y)[pick]
    hidden = tuple(hidden) if isinstance(hidden, list) else hidden
    return gdjax.problems.mlp(
        X, y, hidden=hidden, activation=activation, l2=l2, f_star=f_star, name="digits-mlp"
    )
