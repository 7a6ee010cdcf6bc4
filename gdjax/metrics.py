"""Convergence bookkeeping: lane status, to-target counts, suboptimality, EWMA smoothing.

Every lane ends with exactly one status:

- ``converged``: relative suboptimality ``(f - f*) / (f(w0) - f*) <= tol`` at some evaluation;
- ``diverged``: the loss became non-finite or its relative suboptimality exceeded the divergence
  factor (a scale-free test: it means the same on every problem);
- ``max_steps``: neither, when the steps ran out (a slow lane, or one oscillating for ever).

Example:
    >>> import numpy as np
    >>> relative_suboptimality(np.array([3.0, 2.0, 1.5]), f_star=1.0, f0=3.0).tolist()
    [1.0, 0.5, 0.25]
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CONVERGED",
    "DIVERGED",
    "RUNNING",
    "STATUS_NAMES",
    "ewma",
    "relative_suboptimality",
    "status_name",
]

RUNNING = 0  # still moving; at the end of the run this means max_steps
CONVERGED = 1
DIVERGED = 2
STATUS_NAMES = {RUNNING: "max_steps", CONVERGED: "converged", DIVERGED: "diverged"}


def status_name(code: int) -> str:
    """The public name of a status code: "converged", "diverged" or "max_steps"."""
    return STATUS_NAMES[int(code)]


def relative_suboptimality(losses, f_star: float, f0: float) -> np.ndarray:
    """``(f - f*) / (f0 - f*)``: 1 at the start, 0 at the optimum.

    Args:
        losses: full-data losses.
        f_star: the optimum.
        f0: the loss at the initial parameters.

    Returns:
        An array like ``losses`` (float64).
    """
    denom = max(float(f0) - float(f_star), np.finfo(np.float64).tiny)
    return (np.asarray(losses, np.float64) - float(f_star)) / denom


def ewma(values, alpha: float = 0.1) -> np.ndarray:
    """Exponentially weighted moving average, skipping NaN (for noisy SGD curves).

    Args:
        values: a 1-D sequence.
        alpha: weight of the newest value, in (0, 1]; 1 returns the values unchanged.

    Returns:
        The smoothed values (float64), NaN where the input is NaN.

    Example:
        >>> ewma([1.0, 3.0], alpha=0.5).tolist()
        [1.0, 2.0]
    """
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    x = np.asarray(values, np.float64)
    out = np.full_like(x, np.nan)
    acc = np.nan
    for i, v in enumerate(x):
        if np.isnan(v):
            continue
        acc = v if np.isnan(acc) else alpha * v + (1 - alpha) * acc
        out[i] = acc
    return out
