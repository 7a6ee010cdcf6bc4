"""gdjax: batch, stochastic and mini-batch gradient descent as one compiled JAX kernel per sweep.

Example:
    >>> import gdjax
    >>> p = gdjax.problems.make_linear(1024, 8)
    >>> r = gdjax.run(p, lr=0.05, batch_size=32, epochs=5)
    >>> r.status
    'converged'
"""

from gdjax import checks, devices, memory, metrics, problems, sampling, theory
from gdjax.config import x64
from gdjax.problems import Problem, datasets
from gdjax.result import Result, SweepResult
from gdjax.train import DEFAULT_TARGETS, build, run, sweep

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TARGETS",
    "Problem",
    "Result",
    "SweepResult",
    "__version__",
    "build",
    "checks",
    "datasets",
    "devices",
    "memory",
    "metrics",
    "problems",
    "run",
    "sampling",
    "sweep",
    "theory",
    "x64",
]
