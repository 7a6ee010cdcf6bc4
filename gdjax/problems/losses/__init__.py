"""Loss specs: the losses gdjax ships, behind one small protocol (:mod:`.base`).

Adding a loss means one spec class with ``kind``, ``loss(params, X, y)`` and ``init(d, dtype)``,
plus the capabilities it can offer (:mod:`gdjax.problems.losses.base`).

Example:
    >>> import numpy as np
    >>> spec = LeastSquares(intercept=False)
    >>> X, y = np.array([[1.0], [2.0]]), np.array([2.0, 4.0])
    >>> params, f_star = spec.optimum(X, y)
    >>> float(params["w"][0]), round(f_star, 12)
    (2.0, 0.0)
    >>> spec.kind, spec.curvature(X, y, params)  # Hessian 2 X^T X / n = 5
    ('linear', (5.0, 5.0))
"""

from gdjax.problems.losses.base import (
    FStarSource,
    FullPassMonitor,
    LossSpec,
    Params,
    QuadraticView,
    as_loss,
    flat,
    offers,
)
from gdjax.problems.losses.classification import Logistic, Softmax
from gdjax.problems.losses.least_squares import LeastSquares, Quadratic

__all__ = [
    "KINDS",
    "FStarSource",
    "FullPassMonitor",
    "LeastSquares",
    "Logistic",
    "LossSpec",
    "Params",
    "Quadratic",
    "QuadraticView",
    "Softmax",
    "as_loss",
    "flat",
    "offers",
]

#: kind -> spec class
KINDS = {c.kind: c for c in (LeastSquares, Quadratic, Logistic, Softmax)}
