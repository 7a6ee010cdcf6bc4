"""What is optimised: :class:`Problem`, the losses, synthetic data and data sets.

A :class:`Problem` couples data with a loss spec (:mod:`gdjax.problems.losses`). The constructors
build one from data (:func:`linear`, :func:`logistic`, :func:`softmax`, :func:`quadratic`,
:func:`textbook`), from your own JAX loss on any pytree of data (:func:`custom`), or from
synthetic data of a chosen size and condition number
(:func:`make_linear`, :func:`make_logistic`, :func:`make_softmax`); :mod:`gdjax.datasets` loads
scikit-learn's bundled data and CSV files. The non-convex problems (:func:`saddle`,
:func:`double_well`, :func:`rosenbrock`, :func:`beale`, :func:`deep_quadratic`: noisy
objectives with a known optimum, :mod:`gdjax.problems.nonconvex`; :func:`mlp`, a small
network) are custom problems.

Example:
    >>> import gdjax
    >>> p = gdjax.problems.make_linear(100, 3, seed=0)
    >>> p.kind
    'linear'
"""

from gdjax.problems import datasets, losses, synthetic
from gdjax.problems._custom import custom
from gdjax.problems.constructors import (
    MAX_CLASSES,
    TEXTBOOK,
    linear,
    logistic,
    make_linear,
    make_logistic,
    make_softmax,
    quadratic,
    softmax,
    textbook,
)
from gdjax.problems.datasets import load, load_csv
from gdjax.problems.mlp import mlp
from gdjax.problems.nonconvex import beale, deep_quadratic, double_well, rosenbrock, saddle
from gdjax.problems.problem import Problem

__all__ = [
    "MAX_CLASSES",
    "TEXTBOOK",
    "Problem",
    "beale",
    "custom",
    "datasets",
    "deep_quadratic",
    "double_well",
    "linear",
    "load",
    "load_csv",
    "logistic",
    "losses",
    "make_linear",
    "make_logistic",
    "make_softmax",
    "mlp",
    "quadratic",
    "rosenbrock",
    "saddle",
    "softmax",
    "synthetic",
    "textbook",
]
