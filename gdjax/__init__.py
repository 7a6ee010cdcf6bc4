"""gdjax: batch, stochastic and mini-batch gradient descent as one compiled JAX kernel per sweep.

The public face: :func:`run`, :func:`sweep` and :func:`build` (and :func:`check`, every check
``build`` makes, without building); their results (:class:`Result`, :class:`SweepResult`); what
is optimised (:class:`Problem`, the namespaces :mod:`gdjax.problems` and :mod:`gdjax.datasets`);
:func:`x64` and :func:`lane_sharding`; the helpers :mod:`gdjax.theory`, :mod:`gdjax.metrics`,
:mod:`gdjax.sampling` and :mod:`gdjax.devices`. What lives in ``gdjax._kernel`` is private.

Example:
    >>> import gdjax
    >>> p = gdjax.problems.make_linear(1024, 8)
    >>> r = gdjax.run(p, lr=0.05, batch_size=32, epochs=5)
    >>> r.status
    'converged'
"""

import sys

from gdjax import devices, metrics, problems, sampling, theory
from gdjax._kernel.plan import check
from gdjax.config import x64
from gdjax.devices import lane_sharding
from gdjax.problems import Problem, datasets
from gdjax.result import Result, SweepResult
from gdjax.train import build, run, sweep

# the data sets live with the problems; ``from gdjax.datasets import load`` works as documented
sys.modules[f"{__name__}.datasets"] = datasets

__version__ = "0.1.0"

__all__ = [
    "Problem",
    "Result",
    "SweepResult",
    "build",
    "check",
    "datasets",
    "devices",
    "lane_sharding",
    "metrics",
    "problems",
    "run",
    "sampling",
    "sweep",
    "theory",
    "x64",
]
